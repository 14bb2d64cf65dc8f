"""Faults seen from the command line: secrets, signals, warnings, missing and unmigrated databases."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Sw0rdf1sh-8c41"
SAMPLE_RANGE = ["--start-date", "2026-11-02", "--end-date", "2026-11-20"]

COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "import": ["import", "tickers", "{csv}"],
    "sample-data": ["sample-data", "--tickers", "5", "--days", "1"],
    "dealer-metrics": ["dealer-metrics", "--date", "2024-01-02"],
    "vol-metrics": ["vol-metrics", "--date", "2024-01-02"],
    "run-daily": ["run-daily", "--date", "2024-01-02"],
    "show": ["show", "--date", "2024-01-02"],
    "report": ["report", "AAA", "--date", "2024-01-02", "--out", "{out}"],
    "demo": ["demo", "--tickers", "5", "--days", "2", "--out", "{out}"],
}


def _args(command: str, tmp_path: Path) -> list[str]:
    csv = tmp_path / "tickers.csv"
    csv.write_text("symbol\nAAA\n")
    return [a.format(csv=csv, out=tmp_path / "charts") for a in COMMANDS[command]]


@pytest.fixture(scope="module")
def unmigrated_pg(postgres_server) -> str:
    """A real, reachable PostgreSQL database without tables, its URL carrying a password
    (the embedded server trusts local connections, so the password is accepted and unused)."""
    url = postgres_server.create_database()
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.mark.parametrize("log_format", ["json", "console"])
@pytest.mark.parametrize("source", ["flag", "environment"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_command_ever_prints_the_password(command, source, log_format, tmp_path, unmigrated_pg):
    unreachable = f"postgresql://kapman:{PASSWORD}@127.0.0.1:1/kapman"
    # demo and db upgrade would migrate the reachable database; they fail on the unreachable one
    targets = [unreachable] if command in ("demo", "db upgrade") else [unreachable, unmigrated_pg]
    for url in targets:
        args = [*_args(command, tmp_path), "--debug", "--log-format", log_format]
        if source == "flag":
            result = runner.invoke(app, [*args, "--db-url", url])
        else:
            result = runner.invoke(app, args, env={"KAPMAN_DATABASE_URL": url})
        output = result.stdout + result.stderr
        assert result.exit_code == 1, output
        assert PASSWORD not in output
        assert "Traceback" not in output or log_format == "console"  # tracebacks only at --debug, redacted


def test_a_password_in_the_query_string_of_an_unusable_url_is_masked():
    url = f"mysql+nodriver://kapman@db.example/kapman?sslmode=require&password={PASSWORD}"
    result = runner.invoke(app, ["run-daily", "--db-url", url, "--date", "2024-01-02", "--debug"])
    assert result.exit_code == 2  # an unsupported driver is a usage error
    assert PASSWORD not in result.output + result.stderr
    assert "password=***" in " ".join(result.stderr.split())


def test_a_password_that_is_a_common_word_masks_nothing_else(tmp_path, unmigrated_pg):
    """Masking by text substitution turned every `"level": "info"` into ***."""
    url = make_url(unmigrated_pg).set(password="info").render_as_string(hide_password=False)
    result = runner.invoke(app, ["run-daily", "--db-url", url, "--date", "2024-01-02", "--log-format", "json"])
    assert result.exit_code == 1  # the database has no tables
    logged = _events(result.stderr)
    assert [(e["event"], e["level"]) for e in logged] == [("batch_failed", "error"), ("daily_run_finished", "info")]
    assert "no such table" in logged[0]["reason"] or "does not exist" in logged[0]["reason"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgresql://u:info@h/db?password=info&sslmode=require",
            "postgresql://u:***@h/db?password=***&sslmode=require",
        ),
        ("host=/run/pg dbname=k password='a b c' user=u", "host=/run/pg dbname=k password=*** user=u"),
        ("PGPASSWORD=hunter2 kapman run-daily", "PGPASSWORD=*** kapman run-daily"),
        ("url: sqlite:///k.db?pwd=s&sslpassword=t", "url: sqlite:///k.db?pwd=***&sslpassword=***"),
        ('{"level": "info", "note": "info"}', '{"level": "info", "note": "info"}'),
    ],
)
def test_redaction_is_structural(text, shown):
    from app.config import mask_url, redact

    assert redact(text) == shown
    assert mask_url("postgresql+psycopg://u:info@h/db?Password=x&host=/tmp/s") == (
        "postgresql+psycopg://u:***@h/db?Password=***&host=/tmp/s"
    )


def test_jobs_do_not_create_a_missing_sqlite_file(tmp_path):
    missing = tmp_path / "nowhere.db"
    result = runner.invoke(
        app, ["dealer-metrics", "--db-url", f"sqlite:///{missing}", "--date", "2024-01-02", "--log-format", "json"]
    )
    assert result.exit_code == 1
    assert not missing.exists()
    event = json.loads(result.stderr.strip().splitlines()[-1])
    assert event["event"] == "database_missing"
    assert "kapman db upgrade" in event["reason"]


def test_an_unmigrated_database_says_to_run_db_upgrade(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = runner.invoke(
        app, ["run-daily", "--db-url", f"sqlite:///{empty}", "--date", "2024-01-02", "--log-format", "json"]
    )
    assert result.exit_code == 1
    failed = [json.loads(line) for line in result.stderr.splitlines() if '"batch_failed"' in line]
    assert "no such table" in failed[0]["reason"]
    assert "run `kapman db upgrade`" in failed[0]["reason"]


@pytest.mark.parametrize(
    ("args", "flag", "named"),
    [
        (["--date", "2024-01-06"], "--date", ["2024-01-05 (Friday) before", "2024-01-08 (Monday) after"]),
        (["--date", "2024-07-04"], "--date", ["2024-07-03 (Wednesday) before", "2024-07-05 (Friday) after"]),
        (["--snapshot-time", "2023-12-25"], "--snapshot-time", ["2023-12-22 (Friday)", "2023-12-26 (Tuesday)"]),
        (["--date", "9999-12-31"], "--date", ["outside the NYSE calendar"]),
        (["--start-date", "2024-01-02", "--end-date", "9999-12-31"], "--end-date", ["outside the NYSE calendar"]),
        (["--snapshot-time", "9999-12-31T23:00:00-05:00"], "--snapshot-time", ["outside the NYSE calendar"]),
    ],
)
@pytest.mark.parametrize("command", ["dealer-metrics", "vol-metrics", "run-daily"])
def test_a_date_that_is_not_a_session_is_a_usage_error_naming_its_neighbours(command, args, flag, named, tmp_path):
    """A Saturday or a holiday would stamp Friday's chain with a date that enters every later IV-rank
    history; 9999-12-31 once ended in an OverflowError. All are refused before the database is opened."""
    result = runner.invoke(app, [command, "--db-url", f"sqlite:///{tmp_path / 'never.db'}", *args])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert flag in message, message
    assert all(text in message for text in named), message
    assert "Traceback" not in result.stderr
    assert "Overflow" not in result.stderr
    assert not (tmp_path / "never.db").exists()


def test_a_library_caller_cannot_ask_for_a_weekend_either():
    from app.batch.dates import DateSelection, NotASession

    with pytest.raises(NotASession) as refused:
        DateSelection(day=dt.date(2024, 1, 6))
    assert (refused.value.before, refused.value.after) == (dt.date(2024, 1, 5), dt.date(2024, 1, 8))


# ------------------------------------------------------------------ real child processes


def _kapman(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "sample.db"
    url = f"sqlite:///{path}"
    assert runner.invoke(app, ["db", "upgrade", "--db-url", url]).exit_code == 0
    done = runner.invoke(
        app, ["sample-data", "--tickers", "8", "--days", "15", "--db-url", url, "--log-format", "json"]
    )
    assert done.exit_code == 0
    return path


def _copy(source: Path, target: Path) -> None:
    """A consistent copy (the file alone may miss what is still in the write-ahead log)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _documents(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT time, ticker_id, dealer_metrics_json, volatility_metrics_json FROM daily_snapshots")
        return {(t, tid): (dealer, vol) for t, tid, dealer, vol in rows}


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_backfill_ends_cleanly_and_a_resume_completes_it(sample_file, tmp_path, signum, exit_code):
    reference, interrupted = tmp_path / "reference.db", tmp_path / "interrupted.db"
    _copy(sample_file, reference)
    _copy(sample_file, interrupted)
    whole = _kapman("run-daily", "--db-url", f"sqlite:///{reference}", *SAMPLE_RANGE, "--log-format", "json")
    assert whole.wait(60) == 0

    child = _kapman(
        "run-daily", "--db-url", f"sqlite:///{interrupted}", *SAMPLE_RANGE, "--heartbeat", "1", "--log-format", "json"
    )
    for line in child.stderr:  # wait until the batch is under way, then signal it
        if '"event": "heartbeat"' in line:
            child.send_signal(signum)
            break
    rest = child.stderr.read()
    assert child.wait(60) == exit_code
    events = _events(rest)
    stopped = [e for e in events if e["event"] == "batch_interrupted"]
    assert {e["signal"] for e in stopped} == {signal.Signals(signum).name}
    assert stopped[0]["processed"] < 8 * 15
    assert stopped[0]["level"] == "warning"
    partial = _documents(interrupted)
    assert 0 < len(partial) < 8 * 15
    assert all(dealer and vol for dealer, vol in partial.values())

    resume = _kapman(
        "run-daily", "--db-url", f"sqlite:///{interrupted}", *SAMPLE_RANGE, "--fill-missing", "--log-format", "json"
    )
    assert resume.wait(60) == 0
    assert _documents(interrupted) == _documents(reference)


def test_numpy_warnings_never_break_the_json_log_stream(sample_file, tmp_path):
    copy = tmp_path / "warn.db"
    _copy(sample_file, copy)
    script = (
        "import numpy as np, sys\n"
        "import app.batch.dealer_job as svc\n"
        "real = svc.compute_dealer_metrics\n"
        "def noisy(*a, **k):\n"
        "    np.log(np.zeros(1))  # RuntimeWarning: divide by zero\n"
        "    return real(*a, **k)\n"
        "svc.compute_dealer_metrics = noisy\n"
        "from cli.main import app\n"
        "sys.exit(app(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", script, "dealer-metrics", "--db-url", f"sqlite:///{copy}",
         "--date", "2026-11-20", "--log-format", "json"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "always"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines
    assert all(line.startswith("{") for line in lines), lines[:5]
    warnings = [json.loads(line) for line in lines if "divide by zero" in line]
    assert warnings
    assert warnings[0]["level"] == "warning"


# ------------------------------------------------------------------ bounded waits in real child processes

LAST_SAMPLE_DAY = "2026-11-20"


@pytest.fixture(scope="module")
def sample_pg(postgres_server) -> str:
    """8 tickers × 3 sessions on PostgreSQL, both documents stored."""
    url = postgres_server.create_database()
    assert runner.invoke(app, ["db", "upgrade", "--db-url", url]).exit_code == 0
    assert runner.invoke(app, ["sample-data", "--tickers", "8", "--days", "3", "--db-url", url]).exit_code == 0
    assert runner.invoke(app, ["run-daily", "--db-url", url, "--date", LAST_SAMPLE_DAY]).exit_code == 0
    return url


def _pg_documents(url: str) -> dict:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT time, ticker_id, CAST(dealer_metrics_json AS TEXT), CAST(volatility_metrics_json AS TEXT) "
                 "FROM daily_snapshots")
        )  # fmt: skip
        documents = {(t, tid): (dealer, vol) for t, tid, dealer, vol in rows}
    engine.dispose()
    return documents


@contextlib.contextmanager
def _held(url: str, lock: str):
    """Another session holding a row of daily_snapshots FOR UPDATE, or options_chains exclusively."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    conn = engine.connect()
    transaction = conn.begin()
    if lock == "row":
        conn.execute(text("SELECT 1 FROM daily_snapshots ORDER BY time DESC, ticker_id LIMIT 1 FOR UPDATE"))
    else:
        conn.execute(text("LOCK TABLE options_chains IN ACCESS EXCLUSIVE MODE"))
    try:
        yield conn
    finally:
        transaction.rollback()
        conn.close()
        engine.dispose()


def _waiting_on_a_lock(holder, seconds: float = 20.0) -> bool:
    """The child's statement is queued behind the held lock (pg_stat_activity says so)."""
    from sqlalchemy import text

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        holder.execute(text("SELECT pg_stat_clear_snapshot()"))  # the holder's transaction caches the view
        waiting = holder.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        ).scalar_one()
        if waiting:
            return True
        time.sleep(0.05)
    return False


def test_a_held_row_lock_is_a_bounded_wait_retried_then_a_batch_failure(sample_pg):
    before = _pg_documents(sample_pg)
    with _held(sample_pg, "row"):
        started = time.monotonic()
        child = _kapman("run-daily", "--db-url", sample_pg, "--date", LAST_SAMPLE_DAY, "--lock-timeout", "0.5",
                        "--log-format", "json")  # fmt: skip
        _, stderr = child.communicate(timeout=60)
        elapsed = time.monotonic() - started
    assert child.returncode == 1, stderr
    events = _events(stderr)
    retries = [e for e in events if e["event"] == "write_retry"]
    assert [e["attempt"] for e in retries] == [1, 2, 3]
    assert all("lock timeout" in e["error"] for e in retries)
    assert all(e["level"] == "warning" for e in retries)
    failed = [e for e in events if e["event"] == "batch_failed"]
    assert len(failed) == 1
    assert "failed after 4 attempts" in failed[0]["reason"]
    assert "LockNotAvailable: canceling statement due to lock timeout" in failed[0]["reason"]
    # four bounded waits of 0.5 s and the back-off, not one wait per ticker (and never 399 s)
    assert elapsed < 15
    assert _pg_documents(sample_pg) == before  # the group was rolled back whole: nothing half-written


@pytest.mark.parametrize("lock", ["row", "table"])
def test_sigterm_while_a_statement_waits_on_a_lock_ends_the_run_within_5_seconds(sample_pg, lock):
    """Once the job logged nothing for 399 s, ignored SIGTERM at 90 s and exited 0."""
    before = _pg_documents(sample_pg)
    with _held(sample_pg, lock) as holder:
        child = _kapman("run-daily", "--db-url", sample_pg, "--date", LAST_SAMPLE_DAY, "--log-format", "json")
        assert _waiting_on_a_lock(holder), "the run never waited on the lock"
        signalled = time.monotonic()
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
        elapsed = time.monotonic() - signalled
    assert child.returncode == 143, stderr
    assert elapsed < 5, elapsed
    events = _events(stderr)
    stopped = [e for e in events if e["event"] == "batch_interrupted"]
    assert {e["signal"] for e in stopped} == {"SIGTERM"}
    assert stopped[0]["level"] == "warning"
    assert not [e for e in events if e["level"] == "error"]
    after = _pg_documents(sample_pg)
    assert after.keys() == before.keys()
    assert all(dealer and vol for dealer, vol in after.values())
    assert after == before  # the documents are recomputed identically or left untouched: none half-written


def test_a_sqlite_write_lock_held_by_another_process_costs_one_bounded_wait(sample_file, tmp_path):
    locked = tmp_path / "locked.db"
    _copy(sample_file, locked)
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held by this (other) process
    try:
        started = time.monotonic()
        child = _kapman("run-daily", "--db-url", f"sqlite:///{locked}", "--date", "2026-11-20", "--lock-timeout",
                        "0.5", "--log-format", "json")  # fmt: skip
        _, stderr = child.communicate(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert child.returncode == 1, stderr
    events = _events(stderr)
    retries = [e for e in events if e["event"] == "write_retry"]
    assert [e["attempt"] for e in retries] == [1, 2, 3]  # one write's retries for the whole batch of 8 tickers
    failed = [e for e in events if e["event"] == "batch_failed"]
    assert len(failed) == 1
    assert "database is locked" in failed[0]["reason"]
    assert elapsed < 15  # once ~2 minutes per ticker
