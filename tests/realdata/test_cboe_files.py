"""Real Cboe downloads, end to end on both backends: `kapman import cboe`, then both documents,
checked field by field against an independent recomputation (tests/realdata/oracle.py) and
against the figures public GEX scripts print for the same files."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.domain.models import DealerParams
from app.importers.cboe_import import import_cboe_file
from app.repositories.orm import DailySnapshot, OptionContract
from app.services.daily import run_daily
from app.time import snapshot_time
from tests.factories import WatchlistFactory
from tests.realdata import oracle, oracle_moves

FILES = {
    # name: (symbol, session, snapshot time UTC, after the close, public net GEX bn, public Σ|strike GEX| bn)
    "spx_20230914": ("SPX", dt.date(2023, 9, 14), "2023-09-14T20:31:00+00:00", True, 23.310, 98.615),
    "spy_20230914": ("SPY", dt.date(2023, 9, 14), "2023-09-14T20:31:00+00:00", True, 4.943, 25.435),
    "ndx_20240322": ("NDX", dt.date(2024, 3, 22), "2024-03-23T01:40:00+00:00", True, 4.134, 6.172),
    "nvda_20250106": ("NVDA", dt.date(2025, 1, 6), "2025-01-07T02:30:00+00:00", True, 1.145, 1.247),
}
# Spot-sweep zero gamma printed by the public scripts for these files (tests/data/cboe/README.md).
PUBLIC_ZERO_GAMMA = {"spx_20230914": 4494.2, "spy_20230914": 450.19, "ndx_20240322": 17889.6, "nvda_20250106": 126.0}
# Files whose zero gamma is more than 0.3% of spot from the public figure, and why. NVDA's four
# expiries are 4–25 days out, where business days over 262 (the scripts) and the §3 clock time
# differ by up to a fifth: on a Γ(s) this flat 16% below spot that moves the crossing by ~1.3.
ZERO_GAMMA_EXPLAINED = {"nvda_20250106": "business_day_time"}
LOOSE = DealerParams(
    max_dte_days=100_000, min_open_interest=0, min_volume=0, max_spread_pct=1e12, max_moneyness=100.0,
    sign_convention="industry",
)  # fmt: skip


def close(document_value, exact, digits):
    """A document's rounded figure against an unrounded one: equal up to the rounding and float sums."""
    if exact is None:
        return document_value is None
    return abs(document_value - exact) <= 0.5 * 10**-digits + 1e-9 * abs(exact)


def _documents(db, symbol: str, day: dt.date) -> tuple[dict, dict]:
    with db.session() as s:
        row = s.execute(
            select(DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json).where(
                DailySnapshot.time == snapshot_time(day)
            )
        ).one()
    return row[0], row[1]


def _check_dealer(doc: dict, expected: dict) -> None:
    assert doc["eligible_options_count"] == expected["eligible"]
    stats = doc["metadata"]["filter_stats"]
    for rule, count in expected["filter_stats"].items():
        assert stats[rule] == count, rule
    assert sum(stats[r] for r in expected["filter_stats"]) + doc["eligible_options_count"] == doc["total_options_count"]
    assert doc["metadata"]["strikes_count"] == expected["strikes"]
    assert close(doc["gex_total"], expected["gex_total"], 2)
    assert close(doc["gex_net"], expected["gex_net"], 2)
    assert close(doc["gamma_flip"], expected["gamma_flip"], 2)
    assert close(doc["gex_slope"], expected["gex_slope"], 4)
    for side in ("call", "put"):
        walls = doc[f"{side}_walls"]
        assert [w["strike"] for w in walls] == [k for k, *_ in expected[f"{side}_walls"]]
        for wall, (_k, oi, gex, n) in zip(walls, expected[f"{side}_walls"], strict=True):
            assert wall["open_interest"] == oi
            assert wall["contracts"] == n
            assert close(wall["gex"], gex, 2)


@functools.cache
def _expected_levels(name: str) -> dict:
    """The oracle's §12.1/§13 figures of a file at its own spot and snapshot (computed once for both backends)."""
    _symbol, session, stamp, after_close, *_ = FILES[name]
    raw = oracle.read(name)
    merged, _ = oracle.merged(raw.contracts)
    snapshot = dt.datetime.fromisoformat(stamp)
    return oracle.levels(merged, raw.last, session, snapshot, after_close, oracle.Thresholds())


def _check_levels(doc: dict, expected: dict) -> None:
    levels = doc["levels"]
    for key, digits in (
        ("zero_gamma", 2),
        ("gamma_at_spot", 2),
        ("dex_net", 2),
        ("call_gex_wall", 4),
        ("put_gex_wall", 4),
        ("vanna_exposure", 2),
        ("charm_exposure", 2),
    ):
        assert close(levels[key], expected[key], digits), key
    assert levels["universe"] == "all_open_interest"
    assert levels["levels_counts"]["contracts_used"] == expected["contracts_used"]
    assert levels["levels_counts"]["universe_contracts"] == expected["universe_contracts"]
    spot = doc["spot_price"]
    for key, side in (("call_resistance", "call_resistance"), ("put_support", "put_support")):
        written = doc["positioning"][key]
        assert [r["strike"] for r in written] == [k for k, _ in expected[side]], key
        for row, (strike, gex) in zip(written, expected[side], strict=True):
            assert close(row["gex"], gex, 2)
            assert close(row["distance_pct"], (strike - spot) / spot * 100, 2)


def _check_volatility(doc: dict, expected: dict) -> None:
    metrics = doc["metrics"]
    digits = {"iv_skew": 2, "iv_skew_call_put": 2, "iv_term_structure": 2}
    for name, value in expected.items():
        if name != "counts":
            assert close(metrics[name], value, digits.get(name, 4)), name
    counts = doc["metadata"]["counts"]
    assert (counts["total_contracts"], counts["selected_contracts"], counts["with_iv_contracts"]) == (
        expected["counts"]["total"],
        expected["counts"]["selected"],
        expected["counts"]["with_iv"],
    )


def _check_moves(doc: dict, expected: dict) -> None:
    front, d30 = doc["expected_move"]["front"], doc["expected_move"]["d30"]
    assert expected["front"], "every bundled download has a quoted straddle"
    assert (front["expiry"], front["dte"], front["straddle_strike"]) == tuple(
        expected["front"][k] for k in ("expiry", "dte", "straddle_strike")
    )
    assert close(front["straddle_price"], expected["front"]["straddle_price"], 4)
    for key in ("straddle_pct", "lower", "upper", "iv_move", "iv_move_pct"):
        assert close(front[key], expected["front"][key], 2), key
    for key in ("iv_move", "iv_move_pct", "lower", "upper"):
        assert close(d30[key], expected["d30"][key], 2), key


@pytest.mark.parametrize("name", list(FILES))
def test_a_real_download_imports_whole_and_gives_the_independent_figures(db, name, tmp_path):
    symbol, session, stamp, after_close, public_net, public_gross = FILES[name]
    raw = oracle.read(name)
    merged, merges = oracle.merged(raw.contracts)
    path = oracle.DATA / f"{name}.csv.gz"

    # ---- the import: every contract accounted for
    summary = import_cboe_file(db.session_factory, path)
    assert summary.exit_code == 0
    assert summary.rejected == 0
    assert (summary.symbol, summary.session, summary.snapshot_time, summary.restamped) == (
        symbol, session.isoformat(), stamp, False
    )  # fmt: skip
    assert summary.lines == raw.lines
    assert summary.contracts == len(raw.contracts) == 2 * raw.lines
    assert summary.merged_keys == merges
    assert summary.rows == len(merged) == summary.loaded
    assert summary.merged == len(raw.contracts) - len(merged)
    assert summary.accounted
    assert (summary.nulled_ask, summary.nulled_iv) == (raw.raw_asks_zero, raw.raw_ivs_zero)
    assert summary.ohlcv == "created"
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(OptionContract))
        gamma_oi = s.scalar(select(func.sum(OptionContract.gamma * OptionContract.open_interest)))
    assert stored == len(merged)
    # merging keeps Σ gamma·OI (hence GEX) exact
    assert float(gamma_oi) == pytest.approx(sum(c.gamma * c.oi for c in raw.contracts), rel=1e-12)

    again = import_cboe_file(db.session_factory, path)  # same file, same rows: nothing changes
    assert (again.loaded, again.already_present, again.conflicting_duplicates, again.ohlcv) == (
        0, len(merged), 0, "kept"
    )  # fmt: skip

    # ---- both documents at the default thresholds
    WatchlistFactory(symbol=symbol)
    day = BatchOptions(dates=DateSelection(day=session))
    assert run_daily(db.session_factory, day).exit_code == 0
    dealer, volatility = _documents(db, symbol, session)
    _check_dealer(dealer, oracle.dealer(merged, raw.last, session, after_close, oracle.Thresholds()))
    _check_volatility(volatility, oracle.volatility(merged, session, after_close))
    assert dealer["spot_price"] == raw.last
    snapshot = dt.datetime.fromisoformat(stamp)
    _check_levels(dealer, _expected_levels(name))
    _check_zero_gamma_against_the_public_figure(name, dealer["levels"]["zero_gamma"], merged, snapshot)
    expected_cm = oracle.constant_maturity(merged, raw.last, session, snapshot, after_close)
    for key, digits in (("atm_iv_30d", 4), ("atm_iv_90d", 4), ("atm_term_structure", 2), ("rr25_30d", 2)):
        assert close(volatility["metrics"][key], expected_cm[key], digits), key
    _check_moves(volatility, oracle_moves.expected_move(
        merged, raw.last, session, expected_cm["atm_by_expiry"], expected_cm["atm_iv_30d"]
    ))  # fmt: skip
    # a download carries one bar (close only): every realized estimator is null, and says why
    realized = volatility["realized"]
    assert realized["bars_used"] == 1
    assert realized["hv_20"] is None
    assert realized["iv_hv_ratio"] is None
    assert "hv_20:insufficient_bars(1<21)" in realized["diagnostics"]

    # ---- loose thresholds, industry sign: what public scripts compute, less what SPEC §3 excludes
    assert run_daily(db.session_factory, day, dealer_params=LOOSE).exit_code == 0
    loose, _ = _documents(db, symbol, session)
    loose_thresholds = oracle.Thresholds(**{**oracle.LOOSE.__dict__, "sign": "industry"})
    _check_dealer(loose, oracle.dealer(merged, raw.last, session, after_close, loose_thresholds))
    everything = sum(oracle.contract_gex(c, raw.last, "industry") for c in raw.contracts)
    settled = sum(
        oracle.contract_gex(c, raw.last, "industry") for c in raw.contracts if c.expiration == session and after_close
    )
    # the public scripts' figures, reproduced from the file to the precision they print
    assert round(everything / 1e9, 3) == public_net
    by_strike: dict[float, float] = {}
    for c in raw.contracts:
        by_strike[c.strike] = by_strike.get(c.strike, 0.0) + oracle.contract_gex(c, raw.last, "industry")
    assert round(sum(abs(g) for g in by_strike.values()) / 1e9, 3) == public_gross
    # §12.1 is over all open interest: the liquidity thresholds change no level (the sign flips GEX, not levels)
    assert loose["levels"]["zero_gamma"] == dealer["levels"]["zero_gamma"]
    assert loose["levels"]["levels_counts"] == dealer["levels"]["levels_counts"]
    assert loose["levels"]["gamma_at_spot"] == -dealer["levels"]["gamma_at_spot"]
    assert loose["gex_net"] == pytest.approx(everything - settled, abs=0.01)


def _check_zero_gamma_against_the_public_figure(name: str, zero: float, merged, snapshot: dt.datetime) -> None:
    """At default thresholds, zero gamma is within 0.3% of spot of the public spot sweep, or the
    difference is the one ZERO_GAMMA_EXPLAINED names, shown by removing that cause alone."""
    _symbol, session, _stamp, after_close, *_ = FILES[name]
    spot, public = oracle.read(name).last, PUBLIC_ZERO_GAMMA[name]
    if name not in ZERO_GAMMA_EXPLAINED:
        assert abs(zero - public) / spot < 0.003
        return
    assert abs(zero - public) / spot >= 0.003
    assert ZERO_GAMMA_EXPLAINED[name] == "business_day_time"
    calendar = oracle.spot_sweep_zero_gamma(merged, spot, session, snapshot, after_close, business_days=False)
    business = oracle.spot_sweep_zero_gamma(merged, spot, session, snapshot, after_close, business_days=True)
    assert close(zero, calendar, 2)  # the same sweep with the §3 clock time is the document's figure
    assert abs(business - public) / spot < 0.0005  # with business-day time it is the public figure


def test_settled_0dte_contracts_of_an_evening_download_are_expired(db):
    """NDX 2024-03-22, downloaded at 9:40 PM: the day's contracts settled at 16:00 but still carry gamma."""
    raw = oracle.read("ndx_20240322")
    merged, _ = oracle.merged(raw.contracts)
    session = dt.date(2024, 3, 22)
    zero_dte = [c for c in merged if c.expiration == session]
    assert zero_dte
    assert any(c.gamma for c in zero_dte)
    import_cboe_file(db.session_factory, oracle.DATA / "ndx_20240322.csv.gz")
    WatchlistFactory(symbol="NDX")
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=session)))
    dealer, volatility = _documents(db, "NDX", session)
    assert dealer["metadata"]["filter_stats"]["expired"] == len(zero_dte)
    assert volatility["metadata"]["counts"]["expired"] == len(zero_dte)
    # their share of gross GEX, had they been counted (the issue measured 34.6% with loose filters)
    gross_0dte = sum(abs(oracle.contract_gex(c, raw.last, "industry")) for c in zero_dte if c.oi > 0)
    gross_all = sum(abs(oracle.contract_gex(c, raw.last, "industry")) for c in merged if c.oi > 0)
    assert gross_0dte / gross_all > 0.3


def _with_header_date(name: str, date_line: str, target: Path) -> Path:
    with gzip.open(oracle.DATA / f"{name}.csv.gz", "rt", newline="") as handle:
        lines = handle.read().split("\n")
    lines[2] = date_line
    target.write_text("\n".join(lines))
    return target


@pytest.mark.parametrize(
    ("date_line", "session", "local_stamp"),
    [
        # Saturday: the Friday session's closing quotes
        ('"Date: September 16, 2023 at 10:02 AM EDT",Bid: 0,Ask: 0', dt.date(2023, 9, 15), "16:15"),
        # before the open on a session day: the previous session; the header's quote is unbalanced
        ('"Date: 15 September 2023, 8:40 AM EDT,Bid: 450.81,Ask: 450.83', dt.date(2023, 9, 14), "16:15"),
        # during the session: its own time
        ("Date: September 15 2023, 1:05 PM EDT,Bid: 450.81", dt.date(2023, 9, 15), "13:05"),
    ],
)
def test_download_times_are_stamped_to_the_session_they_hold(db, tmp_path, date_line, session, local_stamp, logs):
    path = _with_header_date("spy_20230914", date_line, tmp_path / "spy.csv")
    summary = import_cboe_file(db.session_factory, path)
    assert summary.exit_code == 0
    assert summary.session == session.isoformat()
    stamp = dt.datetime.fromisoformat(summary.snapshot_time).astimezone(oracle_zone())
    assert (stamp.date(), stamp.strftime("%H:%M")) == (session, local_stamp)
    assert summary.restamped is (local_stamp == "16:15")
    assert any(e["event"] == "cboe_restamped" for e in logs) is summary.restamped


def oracle_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def test_a_malformed_line_is_rejected_with_its_number_and_the_rest_loads(db, tmp_path):
    path = tmp_path / "nvda.csv"
    with gzip.open(oracle.DATA / "nvda_20250106.csv.gz", "rt", newline="") as handle:
        lines = handle.read().split("\n")
    fields = lines[10].split(",")
    fields[11] = "abc"  # the strike
    lines[10] = ",".join(fields)
    lines[11] = lines[11].replace("NVDA250110C", "NVDX250110C", 1)  # another underlying's root
    path.write_text("\n".join(lines))
    summary = import_cboe_file(db.session_factory, path, symbol="NVDA")
    # rows are contracts: the bad strike's line rejects its call and put, the foreign root one call
    assert summary.exit_code == 0
    assert summary.rejected == 3
    assert summary.accounted
    assert summary.reasons == {"malformed": 2, "foreign_root": 1}
    assert [line for line, _ in sorted(summary.rejects)] == [11, 12]
    reasons = dict(summary.rejects)
    assert "strike is not a number" in reasons[11]
    assert "root NVDX is not an option on NVDA" in reasons[12]
    assert summary.loaded == 2 * (543 - 2) + 1  # the put of line 12 is NVDA's


def test_a_file_that_is_not_a_cboe_download_fails_clearly(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date,close\nAAA,2024-01-02,1\n")
    summary = import_cboe_file(db.session_factory, bad)
    assert summary.exit_code == 1
    assert "Expiration Date" in summary.failure
    assert import_cboe_file(db.session_factory, tmp_path / "missing.csv").failure.endswith("no such file")


def test_spx_levels_are_where_a_trader_looks(db):
    """SPX 2023-09-14: OI walls by the seed's rule sit deep in the money (4000 and 5000); the GEX
    walls dashboards show are both at 4500; ATM IV30 is the ~10.6% a trader quotes, where the
    OI-weighted average IV over every strike and expiry is 40.9%."""
    import_cboe_file(db.session_factory, oracle.DATA / "spx_20230914.csv.gz")
    WatchlistFactory(symbol="SPX")
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=dt.date(2023, 9, 14))))
    dealer, volatility = _documents(db, "SPX", dt.date(2023, 9, 14))
    assert (dealer["primary_call_wall"]["strike"], dealer["primary_put_wall"]["strike"]) == (4000.0, 5000.0)
    assert (dealer["levels"]["call_gex_wall"], dealer["levels"]["put_gex_wall"]) == (4500.0, 4500.0)
    assert volatility["metrics"]["average_iv"] == 0.409
    assert 0.10 < volatility["metrics"]["atm_iv_30d"] < 0.11
    assert abs(dealer["levels"]["zero_gamma"] - dealer["spot_price"]) / dealer["spot_price"] < 0.01
