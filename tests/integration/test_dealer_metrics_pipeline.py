"""`run_dealer_metrics` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from app.batch import dealer_job as service
from app.batch.dates import DateSelection
from app.batch.options import BatchOptions, shard_of
from app.db import make_session_factory
from app.domain.models import DealerParams
from app.repositories.orm import DailySnapshot, Ticker
from app.repositories.snapshots import SnapshotRepository
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from app.time import snapshot_time
from tests.conftest import _empty_tables
from tests.factories import (
    DailySnapshotFactory,
    OhlcvFactory,
    OptionContractFactory,
    TestSession,
    TickerFactory,
    WatchlistFactory,
    chain_time,
)
from tests.integration.faults import failing_upserts
from tests.integration.market import DAY, NEXT_DAY, THREE_STRIKES, add_chain, build_market

ONE_DAY = BatchOptions(dates=DateSelection(day=DAY))


def documents(db, day=DAY) -> dict[str, dict]:
    with db.session() as s:
        rows = s.execute(
            select(Ticker.symbol, DailySnapshot.dealer_metrics_json)
            .join(DailySnapshot, DailySnapshot.ticker_id == Ticker.id)
            .where(DailySnapshot.time == snapshot_time(day))
        )
        return {symbol: doc for symbol, doc in rows}


def canonical(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, allow_nan=False)


def test_documents_for_every_ticker_with_hand_checked_numbers(db, logs):
    build_market()
    summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert summary.exit_code == 0
    assert summary.processed == 4
    docs = documents(db)
    assert set(docs) == {"AAA", "THIN", "NOSPOT", "NOOPT"}
    aaa = docs["AAA"]
    # two expiries of the three-strike chain: every strike GEX doubles
    assert aaa["gex_total"] == 3_500_000.0
    assert aaa["gex_net"] == -300_000.0
    assert aaa["gamma_flip"] == 103.33  # 100 + 600,000 / 900,000 * 5
    assert aaa["gex_slope"] == -250_000.0  # -1,000,000 / (2 * 0.02 * 100)
    assert aaa["primary_call_wall"] == {
        "strike": 105.0,
        "open_interest": 3000,
        "gex": -900_000.0,
        "contracts": 2,
        "distance_from_spot": 5.0,
        "moneyness": 0.05,
    }
    assert aaa["primary_put_wall"]["strike"] == 95.0
    assert aaa["primary_put_wall"]["open_interest"] == 4000
    assert [w["strike"] for w in aaa["call_walls"]] == [105.0, 100.0]
    assert (aaa["position"], aaa["confidence"], aaa["status"]) == ("neutral", "medium", "LIMITED")
    assert aaa["spot_price"] == 100.0
    assert aaa["spot_price_source"] == "ohlcv_close"
    assert aaa["options_snapshot_time"] == chain_time(DAY).isoformat(timespec="microseconds")
    assert aaa["metadata"]["symbol"] == "AAA"
    assert aaa["metadata"]["snapshot_date"] == "2024-01-02"
    assert aaa["metadata"]["options_snapshot_age_days"] == 0
    assert aaa["metadata"]["params"]["min_open_interest"] == 100
    # an insufficient chain ends INVALID while the batch completes
    assert (docs["THIN"]["status"], docs["THIN"]["status_reason"]) == (
        "INVALID",
        "confidence_invalid(eligible=2<5)",
    )
    assert (docs["NOSPOT"]["processing_status"], docs["NOSPOT"]["eligible_options_count"]) == (
        "MISSING_SPOT",
        6,
    )
    assert docs["NOOPT"]["processing_status"] == "NO_OPTIONS"
    # the symbol without a ticker is reported, not silently dropped
    assert summary.unknown_symbols == ["GHOST"]
    assert any(e["event"] == "unknown_symbol" and e["symbol"] == "GHOST" and e["log_level"] == "warning" for e in logs)
    # every ticker-day that is not a clean success says why
    gaps = {(e["symbol"], e["reason"]) for e in logs if e["event"] == "data_gap"}
    assert gaps == {("NOSPOT", "no_spot"), ("NOOPT", "no_options"), ("THIN", "too_few_eligible")}
    # the counts partition the processed ticker-days; nothing failed
    assert (summary.success, summary.partial, summary.missing_options, summary.soft_failed) == (1, 2, 1, 0)


def test_batch_events_go_through_the_logger(db, logs, capsys):
    build_market()
    run_dealer_metrics(db.session_factory, ONE_DAY)
    started = next(e for e in logs if e["event"] == "batch_started")
    finished = next(e for e in logs if e["event"] == "batch_finished")
    assert started["job"] == "dealer_metrics"
    assert started["tickers"] == 4
    assert started["date"] == "2024-01-02"
    assert started["params"]["max_dte_days"] == 90
    assert started["log_level"] == "info"
    assert finished["processed"] == 4
    assert finished["unknown_symbols"] == ["GHOST"]
    assert finished["avg_seconds_per_ticker"] > 0
    assert finished["total_seconds"] > 0
    assert capsys.readouterr().out == ""  # nothing printed


def test_rerun_is_byte_identical_and_leaves_other_columns_alone(db):
    tickers = build_market()
    DailySnapshotFactory(
        ticker=tickers["AAA"],
        time=snapshot_time(DAY),
        technical_indicators_json={"rsi": 61.0},
        volatility_metrics_json={"metrics": {"iv_rank": None}},
    )
    run_dealer_metrics(db.session_factory, ONE_DAY)
    first = {k: canonical(v) for k, v in documents(db).items()}
    run_dealer_metrics(db.session_factory, ONE_DAY)
    assert {k: canonical(v) for k, v in documents(db).items()} == first
    with db.session() as s:
        row = s.get(DailySnapshot, (snapshot_time(DAY), tickers["AAA"].id))
        assert (row.technical_indicators_json, row.model_version, row.wyckoff_phase) == (
            {"rsi": 61.0},
            "wyckoff/1.0",
            "accumulation",
        )
        assert row.volatility_metrics_json == {"metrics": {"iv_rank": None}}


def test_a_later_snapshot_is_ignored(db):
    tickers = build_market()
    add_chain(tickers["AAA"], DAY, contracts=(("C", 100.0, 0.01, 5000),), hour=10)  # earlier the same day
    add_chain(tickers["AAA"], NEXT_DAY, contracts=(("C", 140.0, 0.5, 9000),), hour=9)  # after the cut-off
    run_dealer_metrics(db.session_factory, ONE_DAY)
    aaa = documents(db)["AAA"]
    assert aaa["options_snapshot_time"] == chain_time(DAY).isoformat(timespec="microseconds")
    assert aaa["total_options_count"] == 6
    assert aaa["gex_net"] == -300_000.0


def test_iv_rank_of_the_same_row_enters_dgpi(db):
    tickers = build_market()
    DailySnapshotFactory(
        ticker=tickers["AAA"],
        time=snapshot_time(DAY),
        volatility_metrics_json={"metrics": {"iv_rank": 100.0}},
    )
    run_dealer_metrics(db.session_factory, ONE_DAY)
    aaa = documents(db)["AAA"]
    # base -log10(300,001) * 10 = -54.77; slope tilt -0.3 -> * 0.7; IV rank 100 -> * (0.7 + 100/333)
    assert aaa["dgpi"] == round(-math.log10(300_001) * 10 * 0.7 * (0.7 + 100 / 333), 2)
    assert aaa["metadata"]["dgpi_iv_rank"] == 100.0


def test_fill_missing_touches_only_missing_ticker_days(db):
    tickers = build_market()
    sentinel = {"sentinel": True}
    with db.session_factory.begin() as s:
        SnapshotRepository(s).upsert_document("dealer_metrics_json", snapshot_time(DAY), tickers["AAA"].id, sentinel)
    summary = run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=DAY), fill_missing=True))
    docs = documents(db)
    assert docs["AAA"] == sentinel
    assert docs["THIN"]["status"] == "INVALID"
    assert summary.skipped_existing == 1
    assert summary.processed == 3


def test_dry_run_writes_nothing(db):
    build_market()
    summary = run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=DAY), dry_run=True))
    assert summary.processed == 4
    assert summary.dry_run
    assert documents(db) == {}


def test_spot_override_and_industry_convention(db):
    build_market()
    run_dealer_metrics(db.session_factory, ONE_DAY, DealerParams(sign_convention="industry"), spot_override=200.0)
    docs = documents(db)
    # S = 200: S^2 * 0.01 * 100 = 40,000 -> four times the GEX at 100, sign flipped
    assert docs["AAA"]["gex_net"] == 1_200_000.0
    assert docs["AAA"]["spot_price_source"] == "override"
    assert docs["NOSPOT"]["processing_status"] == "SUCCESS"  # the override supplies the spot
    assert docs["AAA"]["metadata"]["sign_convention"] == "industry"


def test_transient_write_error_is_retried(db, monkeypatch, logs):
    build_market()
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("UPSERT", {}, Exception("server closed the connection unexpectedly"))

    failing_upserts(monkeypatch, flaky)
    sleeps: list[float] = []
    summary = run_dealer_metrics(db.session_factory, ONE_DAY, sleep=sleeps.append)
    assert sleeps == [0.1, 0.2]
    assert summary.exit_code == 0
    assert summary.write_failed == 0
    assert set(documents(db)) == {"AAA", "THIN", "NOSPOT", "NOOPT"}


def test_repeated_write_failures_abort_the_batch(db, monkeypatch, logs):
    """A ticker-day the database refuses rolls back alone in its savepoint; ten in a row trip the breaker."""
    for i in range(12):
        add_chain(TickerFactory(symbol=f"S{i:02d}"))
        WatchlistFactory(symbol=f"S{i:02d}")

    def refuse():
        raise IntegrityError("UPSERT", {}, Exception("value too long for type character varying(50)"))

    failing_upserts(monkeypatch, refuse)
    sleeps: list[float] = []
    summary = run_dealer_metrics(db.session_factory, ONE_DAY, sleep=sleeps.append)
    assert summary.exit_code == 1
    assert summary.write_failed == 10
    assert "10 consecutive ticker writes failed" in summary.failure
    assert sleeps == []  # a refusal of one ticker-day's row is not retried
    assert any(e["event"] == "batch_failed" and e["log_level"] == "error" for e in logs)


def test_a_transient_write_fault_that_outlasts_its_retries_stops_the_batch_at_once(db, monkeypatch, logs):
    """A lock or statement timeout on every try: one bounded wait for the batch, not one per ticker."""
    for i in range(12):
        add_chain(TickerFactory(symbol=f"S{i:02d}"))
        WatchlistFactory(symbol=f"S{i:02d}")

    def refuse():
        raise OperationalError("UPSERT", {}, Exception("canceling statement due to lock timeout"))

    failing_upserts(monkeypatch, refuse)
    sleeps: list[float] = []
    summary = run_dealer_metrics(db.session_factory, ONE_DAY, sleep=sleeps.append)
    assert summary.exit_code == 1
    assert summary.write_failed == 1
    assert summary.processed == 1
    assert sleeps == [0.1, 0.2, 0.4]  # the group was retried whole three times, once
    assert summary.failure.startswith("writing S00 and 11 more ticker-days failed after 4 attempts")
    assert summary.failure.endswith("canceling statement due to lock timeout")


def test_a_computation_error_soft_fails_one_ticker(db, monkeypatch, logs):
    build_market()
    real = service.compute_dealer_metrics

    def explode_for_thin(chain, spot, params, ctx, **kwargs):
        if ctx.symbol == "THIN":
            raise ZeroDivisionError("synthetic failure")
        return real(chain, spot, params, ctx, **kwargs)

    monkeypatch.setattr(service, "compute_dealer_metrics", explode_for_thin)
    summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    docs = documents(db)
    assert docs["THIN"]["processing_status"] == "ERROR"
    assert docs["THIN"]["status"] == "INVALID"
    assert docs["THIN"]["failure_reason"] == "ZeroDivisionError: synthetic failure"
    assert docs["AAA"]["status"] == "LIMITED"
    assert summary.errors == 1
    assert summary.exit_code == 0
    assert any(e["event"] == "ticker_soft_failed" and e["log_level"] == "warning" for e in logs)


def test_date_range_and_shards(db):
    tickers = build_market()
    add_chain(tickers["AAA"], NEXT_DAY)
    options = BatchOptions(dates=DateSelection(start=dt.date(2023, 12, 30), end=NEXT_DAY))
    summary = run_dealer_metrics(db.session_factory, options)
    assert summary.dates == ["2024-01-02", "2024-01-03"]  # weekend and New Year's Day skipped
    assert len(documents(db, NEXT_DAY)) == 4
    shards = [
        run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=DAY), shard=(i, 3), dry_run=True))
        for i in (1, 2, 3)
    ]
    assert sum(s.tickers for s in shards) == 4
    assert shards[shard_of("AAA", 3) - 1].tickers >= 1


def test_unreachable_database_is_a_clean_batch_failure(logs):
    factory = make_session_factory("postgresql+psycopg://kapman:secret-pw@127.0.0.1:1/nowhere")
    summary = run_dealer_metrics(factory, ONE_DAY)
    assert summary.exit_code == 1
    assert summary.failure.startswith("database unavailable")
    assert "secret-pw" not in json.dumps([dict(e) for e in logs], default=str)


def test_default_date_is_the_latest_ohlcv_session(db, logs):
    build_market()
    summary = run_dealer_metrics(db.session_factory, BatchOptions())
    assert summary.dates == ["2024-01-02"]


def test_no_ohlcv_and_no_date_is_a_batch_failure(db):
    summary = run_dealer_metrics(db.session_factory, BatchOptions())
    assert summary.exit_code == 1
    assert "ohlcv table is empty" in summary.failure


def test_identical_documents_on_sqlite_and_postgresql(migrated_engines):
    results = {}
    for backend, (_url, engine) in migrated_engines.items():
        TestSession.configure(bind=engine)
        try:
            build_market()
            factory = make_session_factory(engine)
            run_dealer_metrics(factory, ONE_DAY)
            with factory() as s:
                rows = s.execute(
                    select(Ticker.symbol, DailySnapshot.dealer_metrics_json).join(
                        DailySnapshot, DailySnapshot.ticker_id == Ticker.id
                    )
                )
                results[backend] = {symbol: canonical(doc) for symbol, doc in rows}
        finally:
            TestSession.remove()
            _empty_tables(engine)
    assert results["sqlite"] == results["postgresql"]
    assert len(results["sqlite"]) == 4


def test_a_non_session_date_is_refused_before_anything_is_read(db):
    """A Saturday document would carry Friday's chain into every later IV-rank history (SPEC §3)."""
    from app.batch.dates import NotASession

    build_market()
    with pytest.raises(NotASession, match=r"2024-01-05 \(Friday\) before and 2024-01-08 \(Monday\) after"):
        run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=dt.date(2024, 1, 6))))
    assert documents(db) == {}


@pytest.mark.parametrize("verbose", [False, True])
def test_ticker_done_only_with_verbose(db, logs, verbose):
    build_market()
    run_dealer_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=DAY), verbose=verbose, heartbeat=2))
    done = [e for e in logs if e["event"] == "ticker_done"]
    assert {e["log_level"] for e in done} == ({"info"} if verbose else {"debug"})
    beats = [e for e in logs if e["event"] == "heartbeat"]
    assert [(b["done"], b["total"], b["percent"]) for b in beats] == [(2, 4, 50.0), (4, 4, 100.0)]


def test_three_strike_fixture_is_what_the_tests_assume():
    assert sum(oi for *_, oi in THREE_STRIKES) == 4500


def test_nan_and_infinity_stored_in_numeric_columns(db):
    """PostgreSQL NUMERIC holds NaN and ±Infinity (SQLite stores NaN as NULL): documents stay strict JSON."""
    tickers = build_market()
    bad = TickerFactory(symbol="NANS", id=ticker_uuid("NANS"))
    WatchlistFactory(symbol="NANS")
    OhlcvFactory(ticker=bad, date=DAY, close=100.0)
    add_chain(bad, DAY, contracts=(("C", 100.0, float("nan"), 1000), ("P", 95.0, float("inf"), 1000)))
    OptionContractFactory(
        ticker=tickers["AAA"],
        time=chain_time(DAY),
        expiration_date=DAY + dt.timedelta(days=17),  # not 0DTE: at 16:15 a 0DTE contract has expired (§3)
        strike_price=110.0,
        bid=float("inf"),
        ask=float("nan"),
        gamma=0.01,
        implied_volatility=float("nan"),
    )
    run_daily(db.session_factory, ONE_DAY)
    docs = documents(db)
    nans = docs["NANS"]
    assert (nans["processing_status"], nans["eligible_options_count"]) == ("NO_ELIGIBLE_OPTIONS", 0)
    assert nans["metadata"]["filter_stats"]["missing_gamma"] == 4
    # AAA's extra contract has non-finite quotes (treated as absent), so the spread rule is not applied to it
    assert docs["AAA"]["eligible_options_count"] == 7
    assert docs["AAA"]["metadata"]["filter_stats"]["spread_rule_not_applied"] == 1
    with db.session() as s:
        vol = s.scalars(select(DailySnapshot.volatility_metrics_json).where(DailySnapshot.ticker_id == bad.id)).one()
    assert vol["metadata"]["counts"]["iv_out_of_range"] == 0
    assert vol["metrics"]["average_iv"] == 0.3
    for doc in (*docs.values(), vol):
        json.dumps(doc, allow_nan=False)


def test_in_memory_sqlite_reads_in_the_main_thread():
    """sqlite:// is one database per connection; the batch must not read it from a second thread."""
    from app import migrations
    from app.db import make_engine

    engine = make_engine("sqlite://")
    migrations.upgrade(engine)
    TestSession.configure(bind=engine)
    try:
        build_market()
        summary = run_dealer_metrics(make_session_factory(engine), ONE_DAY)
    finally:
        TestSession.remove()
    assert summary.processed == 4
    assert summary.success == 1
    assert summary.missing_options == 1
