"""Benchmark: what the batch writes cost on PostgreSQL (SPEC §7 grouped commits).

    KAPMAN_TEST_DATABASE_URL=postgresql://… python -m benchmarks.write_benchmark --tickers 50 --days 20

On a throwaway database of that server: a sample market of `--tickers` × `--days`, ANALYZEd,
then `run-daily` over the whole range `--repeats` times (every ticker-day rewritten each time).
Printed per run: wall seconds, seconds spent in the writer connection's database calls, the
transactions the server committed (pg_stat_database.xact_commit), and ticker-days written.
By default the writes run on the writer thread as users run them, where that time also holds
waits for the GIL while the main thread computes; `--synchronous` writes on the main thread,
which measures the database work alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _timed(spent: list[float], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    return wrapper


def _instrument(spent: list[float]) -> str:
    """Wrap the writer connection's database calls, in whichever module this version keeps them: a
    ticker-day's own transaction (`write`) or a savepoint in the group's (`write`, then `commit`)."""
    from app.batch import writer

    try:
        from app.batch import groups

        connection, module = groups.GroupConnection, "groups.GroupConnection"
    except ImportError:
        connection, module = writer._Connection, "writer._Connection"  # type: ignore[attr-defined]
    wrapped = [name for name in ("write", "commit") if hasattr(connection, name)]
    for name in wrapped:
        setattr(connection, name, _timed(spent, getattr(connection, name)))
    return f"{module}.{'/'.join(wrapped)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=50)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--synchronous",
        action="store_true",
        help="write on the main thread, so the writer's time is not inflated by sharing the GIL with computation",
    )
    args = parser.parse_args()
    if args.synchronous:
        from app.batch import engine as batch_engine

        batch_engine.ThreadedDocumentWriter = batch_engine.DocumentWriter  # type: ignore[misc]

    from app import migrations
    from app.batch.dates import DateSelection
    from app.batch.options import BatchOptions
    from app.config import normalize_url
    from app.db import make_engine, make_session_factory
    from app.sample.market import run_sample_data
    from app.sample.spec import SampleMarket
    from app.services.daily import run_daily

    admin_url = normalize_url(os.environ["KAPMAN_TEST_DATABASE_URL"])
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"kapman_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrations.upgrade(engine)
        factory = make_session_factory(engine)
        summary = run_sample_data(factory, SampleMarket(tickers=args.tickers, days=args.days))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        dates = DateSelection(start=summary.sessions[0], end=summary.sessions[-1])
        spent: list[float] = []
        entry = _instrument(spent)
        runs = []
        for _ in range(args.repeats):
            spent.clear()
            commits_before = _commits(engine, name)
            started = time.perf_counter()
            result = run_daily(factory, BatchOptions(dates=dates))
            wall = time.perf_counter() - started
            assert result.exit_code == 0, result
            runs.append(
                {
                    "wall_seconds": round(wall, 3),
                    "writer_db_seconds": round(sum(spent), 3),
                    "commits": _commits(engine, name) - commits_before,
                    "ticker_days": result.volatility.processed,
                }
            )
        print(json.dumps({"entry_point": entry, "runs": runs}, indent=1))
        wall = statistics.median(r["wall_seconds"] for r in runs)
        writer_seconds = statistics.median(r["writer_db_seconds"] for r in runs)
        print(f"median: wall {wall:.3f} s, writer {writer_seconds:.3f} s")
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _commits(engine, name: str) -> int:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(
            conn.execute(text("SELECT xact_commit FROM pg_stat_database WHERE datname = :n"), {"n": name}).scalar_one()
        )


if __name__ == "__main__":
    main()
