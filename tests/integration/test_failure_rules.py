"""SPEC §7 failure rules and §9 visibility on both backends: a failure never replaces a stored
document, --fill-missing repairs ERROR documents, the breaker, data gaps, chunking by contracts."""

from __future__ import annotations

import json

from sqlalchemy import text

from app.batch import dealer_job as dealer_service
from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.domain.models import DealerParams
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from app.services.volatility_metrics import run_volatility_metrics
from tests.factories import OhlcvFactory, TickerFactory, WatchlistFactory
from tests.integration.faults import extra_not_null_column, stored_texts
from tests.integration.market import DAY, THREE_STRIKES, add_chain, build_market

ONE_DAY = BatchOptions(dates=DateSelection(day=DAY))


def _fail_for(monkeypatch, *symbols: str) -> None:
    real = dealer_service.compute_dealer_metrics

    def compute(chain, spot, params, ctx, **kwargs):
        if ctx.symbol in symbols:
            raise ArithmeticError(f"synthetic failure for {ctx.symbol}")
        return real(chain, spot, params, ctx, **kwargs)

    monkeypatch.setattr(dealer_service, "compute_dealer_metrics", compute)


def test_a_failure_never_replaces_a_stored_document(db, monkeypatch, logs):
    build_market()
    run_daily(db.session_factory, ONE_DAY)
    before = stored_texts(db.engine)
    _fail_for(monkeypatch, "AAA")
    summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert summary.exit_code == 0
    assert (summary.soft_failed, summary.kept_previous, summary.errors) == (1, 1, 0)
    assert summary.soft_failed_symbols == ["AAA"]
    assert stored_texts(db.engine) == before  # AAA's good document is still there, byte for byte
    kept = [e for e in logs if e["event"] == "kept_previous"]
    assert len(kept) == 1
    assert kept[0]["symbol"] == "AAA"
    assert kept[0]["date"] == "2024-01-02"
    assert kept[0]["log_level"] == "warning"
    assert "synthetic failure for AAA" in kept[0]["error"]
    # the counts partition the processed ticker-days
    assert summary.processed == summary.success + summary.partial + summary.missing_options + summary.soft_failed


def test_an_error_document_only_where_none_is_stored_and_fill_missing_repairs_it(db, monkeypatch):
    build_market()
    _fail_for(monkeypatch, "AAA")
    first = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert (first.errors, first.kept_previous) == (1, 0)
    monkeypatch.undo()
    resumed = run_dealer_metrics(db.session_factory, BatchOptions(dates=ONE_DAY.dates, fill_missing=True))
    assert resumed.processed == 1
    assert resumed.skipped_existing == 3
    assert resumed.success == 1
    with db.session() as s:
        doc = s.execute(
            text("SELECT dealer_metrics_json FROM daily_snapshots WHERE ticker_id = :t"),
            {"t": ticker_uuid("AAA") if db.backend == "postgresql" else ticker_uuid("AAA").hex},
        ).scalar_one()
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["processing_status"] == "SUCCESS"
    assert doc["gex_net"] == -300_000.0


def test_ten_failed_ticker_days_in_a_row_of_any_kind_stop_the_batch(db, monkeypatch, logs):
    symbols = [f"S{i:02d}" for i in range(12)]
    for symbol in symbols:
        ticker = TickerFactory(symbol=symbol)
        WatchlistFactory(symbol=symbol)
        OhlcvFactory(ticker=ticker, date=DAY, close=100.0)
        add_chain(ticker)
    _fail_for(monkeypatch, *symbols)
    summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert summary.exit_code == 1
    assert summary.failure.startswith("10 consecutive ticker-days failed")
    assert summary.processed == 10
    assert summary.errors == 10
    assert summary.soft_failed_symbols == symbols[:10]


def test_data_gaps_name_the_rule_that_removed_the_most(db, logs):
    build_market()
    run_dealer_metrics(
        db.session_factory, BatchOptions(dates=ONE_DAY.dates, tickers=("AAA",)), DealerParams(min_open_interest=10**6)
    )
    gaps = [e["reason"] for e in logs if e["event"] == "data_gap"]
    assert gaps == ["nothing_eligible:low_open_interest"]


def test_chunks_close_at_a_contract_budget_and_change_nothing(db):
    build_market()
    run_daily(db.session_factory, ONE_DAY)
    whole = stored_texts(db.engine)
    # six contracts per chain: a budget of seven puts every ticker in a chunk of its own
    tiny = BatchOptions(dates=ONE_DAY.dates, chunk_contracts=7)
    assert run_daily(db.session_factory, tiny).exit_code == 0
    assert stored_texts(db.engine) == whole


def test_symbols_that_differ_only_in_case_are_reported_not_guessed(db, tmp_path, logs):
    from app.importers.csv_import import run_import

    build_market()
    TickerFactory(symbol="GOOD", id=ticker_uuid("GOOD"))
    TickerFactory(symbol="good")
    WatchlistFactory(symbol="good")
    summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert summary.ambiguous_symbols == ["GOOD"]
    assert summary.tickers == 4
    warning = next(e for e in logs if e["event"] == "ambiguous_symbol")
    assert warning["tickers"] == ["GOOD", "good"]
    assert warning["log_level"] == "warning"
    csv = tmp_path / "bars.csv"
    csv.write_text("symbol,date,close\ngood,2024-01-02,10\nAAA,2024-01-03,101\n")
    imported = run_import(db.session_factory, "ohlcv", csv)
    assert (imported.loaded, imported.rejected) == (1, 1)
    assert imported.rejects == [(2, "symbol GOOD matches several tickers rows (GOOD, good)")]


def test_text_in_a_numeric_column_on_sqlite_makes_that_contract_malformed(sqlite_db, logs):
    build_market()
    with sqlite_db.engine.begin() as conn:
        # what `sqlite3 .import` leaves behind: '' for an empty field, and whatever text was in the file
        conn.execute(text("UPDATE options_chains SET open_interest = '' WHERE strike_price = 95"))
        conn.execute(text("UPDATE options_chains SET gamma = 'NaN' WHERE strike_price = 100 AND option_type = 'C'"))
        conn.execute(text("UPDATE ohlcv SET close = 'abc' WHERE ticker_id = :t"), {"t": ticker_uuid("THIN").hex})
    summary = run_daily(sqlite_db.session_factory, ONE_DAY)
    assert summary.exit_code == 0
    assert summary.dealer.soft_failed == 0
    assert summary.volatility.soft_failed == 0
    with sqlite_db.session() as s:
        rows = s.execute(
            text("SELECT ticker_id, dealer_metrics_json FROM daily_snapshots WHERE ticker_id = :t"),
            {"t": ticker_uuid("AAA").hex},
        ).all()
    aaa = json.loads(rows[0][1])
    # P95 (two expiries) lost its open interest and C100 (two expiries) its gamma to text: 4 malformed
    assert aaa["metadata"]["filter_stats"]["malformed"] == 4
    assert aaa["eligible_options_count"] == 2
    gaps = {(e["symbol"], e["reason"]) for e in logs if e["event"] == "data_gap"}
    assert ("THIN", "no_spot") in gaps  # a close that is not a number is no spot, not 0
    assert sum(oi for *_, oi in THREE_STRIKES) == 4500


def test_a_library_caller_without_logging_config_gets_nothing_on_stdout(db, capsys):
    import structlog

    structlog.reset_defaults()
    build_market()
    run_volatility_metrics(db.session_factory, ONE_DAY)
    run_dealer_metrics(db.session_factory, BatchOptions(dates=ONE_DAY.dates, debug=True, verbose=True))
    assert capsys.readouterr().out == ""


def test_a_not_null_column_this_project_does_not_write_stops_the_batch_at_the_first_ticker(db, logs):
    """Schema drift once soft-failed ten ticker-days before stopping (five: exit 0, nothing written)."""
    build_market()
    sleeps: list[float] = []
    with extra_not_null_column(db.engine):
        summary = run_daily(db.session_factory, ONE_DAY, sleep=sleeps.append)
        assert stored_texts(db.engine) == {}
    assert summary.exit_code == 1
    assert sleeps == []  # not retried: every write would fail the same way
    assert summary.dealer.failure.startswith("database schema differs from the one this project writes")
    assert "pipeline_stage" in summary.dealer.failure
    assert summary.volatility.soft_failed == 1
    assert summary.volatility.soft_failed_symbols == ["AAA"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["batch_failed"]


def test_a_full_disk_stops_the_batch_without_retrying(sqlite_db, logs):
    """SQLite's own SQLITE_FULL, from a page limit on the job's connections: once retried as transient."""
    from sqlalchemy import event

    from app.db import make_engine, make_session_factory

    build_market()
    engine = make_engine(sqlite_db.url)
    with sqlite_db.engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")  # no free page left to reuse: the first new page is beyond the limit
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
    event.listen(engine, "connect", lambda dbapi, _r: dbapi.execute(f"PRAGMA max_page_count = {pages}"))
    sleeps: list[float] = []
    summary = run_daily(make_session_factory(engine), ONE_DAY, sleep=sleeps.append)
    engine.dispose()
    assert summary.exit_code == 1
    assert sleeps == []
    assert summary.dealer.failure.startswith("database storage is full while writing")
    assert summary.dealer.failure.endswith("database or disk is full")
    assert summary.volatility.write_failed == 1  # the first write that needed a new page, and no other


def test_a_read_only_database_is_a_permission_error(sqlite_db, logs):
    from app.db import make_session_factory

    build_market()
    read_only = f"sqlite:///file:{sqlite_db.url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    sleeps: list[float] = []
    summary = run_daily(make_session_factory(read_only), ONE_DAY, sleep=sleeps.append)
    assert summary.exit_code == 1
    assert sleeps == []
    assert summary.dealer.failure.startswith("permission denied while writing AAA")


def test_each_storage_fault_is_classified_by_its_code():
    """What the machine cannot produce as root: a read-only directory (no -wal file can be made gives
    the extended code SQLITE_READONLY_DIRECTORY, once retried as transient), PostgreSQL's disk_full."""
    import sqlite3

    import psycopg

    from app.repositories.faults import Fault, classify

    directory = sqlite3.OperationalError("attempt to write a readonly database")
    directory.sqlite_errorcode, directory.sqlite_errorname = 1544, "SQLITE_READONLY_DIRECTORY"
    assert classify(directory) is Fault.PERMISSION
    assert classify(psycopg.errors.DiskFull("could not extend file")) is Fault.STORAGE
    assert classify(psycopg.errors.CheckViolation("violates check constraint")) is Fault.DRIFT
    assert classify(psycopg.errors.ForeignKeyViolation("ticker gone")) is Fault.OTHER  # one ticker-day's


def test_an_empty_universe_is_a_batch_failure_naming_the_empty_selection(db, logs):
    """An import without --watchlist then a run, or --tickers NOPE, once processed nothing and exited 0."""
    TickerFactory(symbol="AAA")  # a ticker, but no watchlist row yet
    nothing = run_daily(db.session_factory, ONE_DAY)
    assert nothing.exit_code == 1
    assert nothing.dealer.failure.startswith("empty universe: no active watchlist symbol in the database")
    WatchlistFactory(symbol="AAA", watchlist_id="core")
    WatchlistFactory(symbol="GHOST", watchlist_id="ghosts")
    cases = {
        BatchOptions(dates=ONE_DAY.dates, tickers=("NOPE",)): "empty universe: none of --tickers NOPE is on",
        BatchOptions(dates=ONE_DAY.dates, watchlist="missing"): "empty universe: watchlist 'missing' has no active",
        BatchOptions(dates=ONE_DAY.dates, watchlist="ghosts"): "empty universe: no symbol of watchlist 'ghosts' has",
    }
    for options, reason in cases.items():
        summary = run_dealer_metrics(db.session_factory, options)
        assert summary.exit_code == 1, summary.failure
        assert summary.failure.startswith(reason), summary.failure
    failed = [e["reason"] for e in logs if e["event"] == "batch_failed"]
    assert len(failed) == 4
    assert all(r.startswith("empty universe") for r in failed)
