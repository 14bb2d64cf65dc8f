"""SPEC §13.3 end to end on SQLite and PostgreSQL: each document's changes against the previous
dealer document, read in the chunk's batched read and carried forward inside a range run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.reporting.show import build_show_table
from app.repositories.orm import DailySnapshot, Ticker
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from app.time import sessions, snapshot_time
from cli.main import app
from tests.factories import (
    DailySnapshotFactory,
    OhlcvFactory,
    OptionContractFactory,
    TickerFactory,
    WatchlistFactory,
    chain_time,
)
from tests.integration.market import DAY, NEXT_DAY, build_sessions

runner = CliRunner()

BEFORE = dt.date(2023, 12, 29)  # a Friday; 2024-01-01 is a holiday: DAY is the next session
# Day one: a heavy call at spot 100 (dealers short gamma there), call wall 100, put wall 95.
# Day two: a heavy put at 100 and the call moved to 105: long gamma at spot, both walls moved.
DAY_ONE = (("C", 100.0, 0.05, 5000), ("P", 95.0, 0.04, 1000))
DAY_TWO = (("C", 105.0, 0.05, 1000), ("P", 100.0, 0.05, 5000))


def _chain(ticker, day, contracts):
    for option_type, strike, gamma, oi in contracts:
        OptionContractFactory(
            ticker=ticker, time=chain_time(day), expiration_date=dt.date(2024, 1, 19), strike_price=strike,
            option_type=option_type, gamma=gamma, open_interest=oi, volume=10, implied_volatility=0.3,
            delta=0.5 if option_type == "C" else -0.5,
        )  # fmt: skip


def build_two_sessions():
    ticker = TickerFactory(symbol="MOV", id=ticker_uuid("MOV"))
    WatchlistFactory(symbol="MOV")
    OhlcvFactory(ticker=ticker, date=DAY, close=100.0)
    OhlcvFactory(ticker=ticker, date=NEXT_DAY, close=102.0)
    _chain(ticker, DAY, DAY_ONE)
    _chain(ticker, NEXT_DAY, DAY_TWO)
    return ticker


def dealer(db, day) -> dict:
    with db.session() as s:
        return s.execute(
            select(DailySnapshot.dealer_metrics_json).where(DailySnapshot.time == snapshot_time(day))
        ).scalar_one()


def all_dealer_documents(db) -> list:
    with db.session() as s:
        rows = s.execute(
            select(Ticker.symbol, DailySnapshot.time, DailySnapshot.dealer_metrics_json)
            .join(Ticker, Ticker.id == DailySnapshot.ticker_id)
            .order_by(Ticker.symbol, DailySnapshot.time)
        )
        return [tuple(r) for r in rows]


def test_a_wall_that_moved_and_a_regime_that_changed_from_one_session_to_the_next(db):
    build_two_sessions()
    assert (
        run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(start=DAY, end=NEXT_DAY))).exit_code
        == 0
    )
    first, second = dealer(db, DAY), dealer(db, NEXT_DAY)
    assert all(v is None for k, v in first["changes"].items() if k != "diagnostics")
    assert first["changes"]["diagnostics"] == ["no_previous_document"]
    assert (first["levels"]["call_gex_wall"], first["levels"]["put_gex_wall"]) == (100.0, 95.0)
    assert (second["levels"]["call_gex_wall"], second["levels"]["put_gex_wall"]) == (105.0, 100.0)
    assert first["levels"]["gamma_at_spot"] < 0 < second["levels"]["gamma_at_spot"]
    changes = second["changes"]
    assert (changes["previous_snapshot_date"], changes["sessions_apart"]) == ("2024-01-02", 1)
    assert changes["spot_change_pct"] == 2.0
    assert (changes["call_gex_wall_previous"], changes["put_gex_wall_previous"]) == (100.0, 95.0)
    assert (changes["call_gex_wall_moved"], changes["put_gex_wall_moved"]) == (True, True)
    assert changes["regime_changed"] is True
    # GEX at S: day one −0.05·5000·10,000 + 0.04·1000·10,000 = −2.1M (short); day two at S = 102:
    # (−0.05·1000 + 0.05·5000) · 102² · 100 · 0.01 = +2,080,800 (long)
    assert (first["gex_net"], second["gex_net"]) == (-2_100_000.0, 2_080_800.0)
    assert (first["position"], second["position"], changes["position_changed"]) == ("short_gamma", "long_gamma", True)
    assert changes["gex_net_change"] == 4_180_800.0
    assert (
        abs(changes["gamma_at_spot_change"] - (second["levels"]["gamma_at_spot"] - first["levels"]["gamma_at_spot"]))
        <= 0.011
    )
    zero_change = (second["levels"]["zero_gamma"] - first["levels"]["zero_gamma"]) / 102 * 100
    # from the unrounded current level: the written ones differ by up to 0.01 of a point of spot more
    assert abs(changes["zero_gamma_change_pct"] - zero_change) <= 0.005 + 0.01 / 102 * 100
    assert second["changes"]["diagnostics"] == []


def test_an_error_document_is_passed_over_and_sessions_count_the_holiday(db):
    ticker = build_two_sessions()
    DailySnapshotFactory(ticker=ticker, time=snapshot_time(BEFORE), dealer_metrics_json={
        "processing_status": "SUCCESS", "position": "long_gamma", "spot_price": 98.0, "gex_net": 5.0,
        "metadata": {"snapshot_date": "2023-12-29"},
    })  # a seed-era document: no levels  # fmt: skip
    DailySnapshotFactory(ticker=ticker, time=snapshot_time(DAY), dealer_metrics_json={
        "processing_status": "ERROR", "position": "unknown", "metadata": {"snapshot_date": "2024-01-02"},
    })  # fmt: skip
    assert run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=NEXT_DAY))).exit_code == 0
    changes = dealer(db, NEXT_DAY)["changes"]
    # 2023-12-29 → 2024-01-03: sessions 01-02 and 01-03 (01-01 is a holiday)
    assert (changes["previous_snapshot_date"], changes["sessions_apart"]) == ("2023-12-29", 2)
    assert changes["spot_change_pct"] == round((102 - 98) / 98 * 100, 2)
    assert changes["gex_net_change"] == 2_080_795.0
    assert changes["position_changed"] is False  # long gamma both
    # keys the older document did not write count as null
    assert (changes["call_gex_wall_previous"], changes["call_gex_wall_moved"], changes["regime_changed"]) == (
        None, None, None
    )  # fmt: skip


def test_fill_missing_compares_against_the_stored_document(db):
    build_two_sessions()
    both = BatchOptions(dates=DateSelection(start=DAY, end=NEXT_DAY))
    run_dealer_metrics(db.session_factory, both)
    with db.session_factory.begin() as s:  # the stored first document says the call wall was at 90
        stored = s.execute(select(DailySnapshot.dealer_metrics_json).where(DailySnapshot.time == snapshot_time(DAY)))
        document = stored.scalar_one()
        document["levels"]["call_gex_wall"] = 90.0
        s.execute(
            update(DailySnapshot).where(DailySnapshot.time == snapshot_time(DAY)).values(dealer_metrics_json=document)
        )
        s.execute(
            update(DailySnapshot).where(DailySnapshot.time == snapshot_time(NEXT_DAY)).values(dealer_metrics_json=None)
        )
    summary = run_dealer_metrics(db.session_factory, BatchOptions(dates=both.dates, fill_missing=True))
    assert (summary.skipped_existing, summary.processed) == (1, 1)
    changes = dealer(db, NEXT_DAY)["changes"]
    assert (changes["call_gex_wall_previous"], changes["call_gex_wall_moved"]) == (90.0, True)


def test_a_range_run_equals_its_dates_run_one_by_one(db):
    days = sessions(dt.date(2024, 1, 2), dt.date(2024, 1, 10))
    build_sessions(days, symbols=("AAA", "BBB"))
    span = BatchOptions(dates=DateSelection(start=days[0], end=days[-1]))
    assert run_daily(db.session_factory, span).exit_code == 0
    ranged = all_dealer_documents(db)
    assert len(ranged) == 2 * len(days)
    assert [doc["changes"]["sessions_apart"] for _s, _t, doc in ranged] == ([None] + [1] * (len(days) - 1)) * 2
    with db.session_factory.begin() as s:
        s.execute(delete(DailySnapshot))
    for day in days:
        assert run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=day))).exit_code == 0
    assert all_dealer_documents(db) == ranged


def test_show_gives_position_against_zero_gamma_resistance_support_and_the_days_changes(db):
    build_two_sessions()
    run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(start=DAY, end=NEXT_DAY)))
    second = dealer(db, NEXT_DAY)
    (row,) = build_show_table(db.session_factory, NEXT_DAY).rows
    positioning = second["positioning"]
    assert (row.vs_zero_gamma, row.spot_vs_zero_gamma_pct) == (
        positioning["position_vs_zero_gamma"], positioning["spot_vs_zero_gamma_pct"]
    )  # fmt: skip
    # day two, S = 102: the only call strike ≥ S is 105; the only put strike ≤ S is 100
    assert (row.call_resistance, row.put_support) == (105.0, 100.0)
    assert row.gex_net_change == 4_180_800.0
    assert row.changed == "regime, position, call wall (was 100), put wall (was 95)"
    (first,) = build_show_table(db.session_factory, DAY).rows
    assert first.changed is None
    assert first.gex_net_change is None  # nothing to compare against
    for output in ("json", "csv", "table"):
        shown = runner.invoke(app, ["show", "--db-url", db.url, "--date", NEXT_DAY.isoformat(), "--format", output])
        assert shown.exit_code == 0, shown.stderr
        if output == "json":
            (payload,) = json.loads(shown.stdout)["rows"]
            assert payload["call_resistance"] == 105.0
            assert payload["changed"] == row.changed
        elif output == "csv":
            (record,) = csv.DictReader(io.StringIO(shown.stdout))
            assert record["put_support"] == "100.0"
            assert record["gex_net_change"] == "4180800.0"
        else:
            assert "4.18" in shown.stdout
            assert "resist" in shown.stdout  # Δ net GEX in $ millions
