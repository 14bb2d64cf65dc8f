"""SPEC §7 grouped commits: one transaction per group of ticker-days, a savepoint each, results
settled only once their group committed, and an interrupt commits the group in flight."""

from __future__ import annotations

import signal

from sqlalchemy import event

from app.batch import groups, volatility_job
from app.batch.dates import DateSelection
from app.batch.interrupts import StopRequest
from app.batch.options import BatchOptions
from app.db import make_engine, make_session_factory
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from tests.factories import TickerFactory, WatchlistFactory
from tests.integration.faults import refusing_symbol, stored_texts
from tests.integration.market import DAY, add_chain

ONE_DAY = BatchOptions(dates=DateSelection(day=DAY))
SYMBOLS = [f"S{i:02d}" for i in range(12)]


def _twelve_tickers() -> None:
    for symbol in SYMBOLS:
        add_chain(TickerFactory(symbol=symbol, id=_ticker_id(symbol)))
        WatchlistFactory(symbol=symbol)


def _counting_commits(url: str) -> tuple[list[int], object]:
    engine = make_engine(url)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    return commits, make_session_factory(engine)


def test_ticker_days_commit_in_groups(db, monkeypatch):
    _twelve_tickers()
    monkeypatch.setattr(groups, "GROUP_TICKER_DAYS", 5)
    commits, factory = _counting_commits(db.url)
    summary = run_dealer_metrics(factory, ONE_DAY)
    assert summary.exit_code == 0
    assert summary.processed == 12
    assert len(commits) == 3  # 5 + 5 + 2 (the last group at the end of the batch); reads commit nothing
    assert len(stored_texts(db.engine)) == 12


def test_a_refused_ticker_day_rolls_back_alone_in_its_savepoint(db, logs):
    _twelve_tickers()
    with refusing_symbol(db.engine, "S03"):
        summary = run_dealer_metrics(db.session_factory, ONE_DAY)
    assert summary.exit_code == 0
    assert summary.write_failed == 1
    assert summary.soft_failed_symbols == ["S03"]
    assert len(stored_texts(db.engine)) == 11  # the eleven others of the same group committed
    failed = [e for e in logs if e["event"] == "ticker_write_failed"]
    assert [e["symbol"] for e in failed] == ["S03"]
    assert "value too long" in failed[0]["error"]


def _ticker_id(symbol: str):
    from app.repositories.tickers import ticker_uuid

    return ticker_uuid(symbol)


def test_an_interrupt_commits_the_group_in_flight_and_settles_only_what_committed(db, monkeypatch):
    """The stop comes while the fourth ticker-day is computed: the four computed ones are committed
    in the group in flight, counted, and nothing else is written."""
    for symbol in SYMBOLS:
        add_chain(TickerFactory(symbol=symbol, id=_ticker_id(symbol)))
        WatchlistFactory(symbol=symbol)
    stop = StopRequest()
    real = volatility_job.compute_volatility_metrics
    computed: list[str] = []

    def compute(chain, history, params, ctx, *args, **kwargs):
        computed.append(ctx.symbol)
        if len(computed) == 4:
            stop.request(signal.SIGTERM)
        return real(chain, history, params, ctx, *args, **kwargs)

    monkeypatch.setattr(volatility_job, "compute_volatility_metrics", compute)
    summary = run_daily(db.session_factory, ONE_DAY, stop=stop)
    assert summary.exit_code == 143
    assert summary.volatility.processed == summary.dealer.processed == 4
    stored = stored_texts(db.engine)
    assert sorted(tid for _, tid in stored) == sorted(str(_ticker_id(s)).replace("-", "") if db.backend == "sqlite"
                                                      else str(_ticker_id(s)) for s in SYMBOLS[:4])  # fmt: skip
    assert all(dealer and vol for dealer, vol in stored.values())


def test_a_row_the_server_refuses_inside_a_pipelined_group_rolls_back_alone(pg_db, logs):
    """On PostgreSQL a group is pipelined: the refusal is only seen when the group syncs, so the group
    is replayed with a savepoint per ticker-day and only the refused one is left out."""
    from sqlalchemy import text

    _twelve_tickers()
    refused = _ticker_id("S05")
    with pg_db.engine.begin() as conn:
        conn.execute(text(
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.ticker_id = '{refused}' THEN RAISE EXCEPTION 'refused by another stage'; END IF; "
            "RETURN NEW; END $$"
        ))  # fmt: skip
        conn.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT OR UPDATE ON daily_snapshots "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_one()"))  # fmt: skip
    try:
        sleeps: list[float] = []
        summary = run_daily(pg_db.session_factory, ONE_DAY, sleep=sleeps.append)
        stored = stored_texts(pg_db.engine)
    finally:
        with pg_db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_one ON daily_snapshots"))
            conn.execute(text("DROP FUNCTION refuse_one()"))
    assert summary.exit_code == 0
    assert sleeps == []  # a refusal of one row is not retried
    assert summary.volatility.soft_failed_symbols == ["S05"]
    assert summary.volatility.write_failed == 1
    assert sorted(tid for _, tid in stored) == sorted(str(_ticker_id(s)) for s in SYMBOLS if s != "S05")
    failed = [e for e in logs if e["event"] == "ticker_write_failed"]
    assert [e["symbol"] for e in failed] == ["S05"]
    assert "refused by another stage" in failed[0]["error"]
