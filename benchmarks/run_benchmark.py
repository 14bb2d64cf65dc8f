"""Benchmark: the kernels, start-up, and the jobs as users run them, against the read floor.

    python -m benchmarks.run_benchmark                                   # throwaway servers, both backends
    python -m benchmarks.run_benchmark --backend postgresql --server-url postgresql://…/postgres \\
        --tickers 200 --days 20 --history 120                            # dedicated databases on a server
    python -m benchmarks.run_benchmark --db-url postgresql://…/kapman    # an existing database (data added)

Two shapes, on a sample market loaded and then ANALYZEd, as any real database is:
- backfill: every job over a range of `--days` sessions;
- evening: one session of run-daily on top of `--history` stored sessions of chains and of both
  documents (computed once, before measuring), and the same session on a database holding only 5
  (the cost of one evening must not grow with history).

Each job runs in a child process (its own start-up, CPU and peak RSS). Beside its wall time:
the client's CPU, the PostgreSQL server's CPU over the run (postmaster and backends), how long
the chunk reader's thread read and how long the main thread waited for it, and the read floor —
a binary COPY (SQLite: a plain SELECT) of every column of the same snapshots' rows, nothing
decoded or computed — with the ratio of the job's whole-process time to it. The machine may be
shared: each figure is printed with the 1-minute load average.

With --server-url the databases are created as bench_<shape>_<tickers>x<sessions> and dropped
at the end; --reuse keeps them, and uses one that already exists without loading it again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.measure import (
    JOBS,
    child,
    kernel_timings,
    load,
    read_floor_ms,
    run_job,
    startup,
)
from benchmarks.servers import ServerCpu

EVENING_SHORT_HISTORY = 5


def _prepare(url: str, tickers: int, days: int) -> list[dt.date]:
    """The sample market in the database (loaded and VACUUM ANALYZEd unless it is there already)."""
    import logging

    import structlog
    from sqlalchemy import func, select, text

    from app import migrations
    from app.db import make_engine, make_session_factory
    from app.repositories.orm import Ohlcv
    from app.sample.market import run_sample_data
    from app.sample.spec import DEFAULT_END_DATE
    from app.time import previous_sessions

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    engine = make_engine(url)
    migrations.upgrade(engine)
    sessions = previous_sessions(DEFAULT_END_DATE, days)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count(func.distinct(Ohlcv.date)))).scalar()
    if stored == days:
        print(f"  reusing the {tickers} x {days} market already stored")
        engine.dispose()
        return sessions
    started = time.perf_counter()
    sample = run_sample_data(make_session_factory(engine), tickers=tickers, days=days, end_date=DEFAULT_END_DATE)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Statistics and a visibility map, as on any real database: otherwise autovacuum works on the
        # freshly loaded table during the measurement and its CPU counts as the job's.
        conn.execute(text("VACUUM (ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"))
    print(
        f"  loaded {tickers} tickers x {len(sample.sessions)} sessions ({sample.option_rows:,} option rows) "
        f"and VACUUM-ANALYZEd in {time.perf_counter() - started:.0f} s"
    )
    engine.dispose()
    return sample.sessions


def _documents_before(url: str, sessions: list[dt.date]) -> None:
    """Both documents for every session but the last, as an evening finds them: the IV history it ranks
    against and the previous dealer document it compares with (computed once; reused databases keep them)."""
    from sqlalchemy import func, select

    from app.batch.dates import DateSelection
    from app.batch.options import BatchOptions
    from app.db import make_session_factory
    from app.repositories.orm import DailySnapshot
    from app.services.daily import run_daily

    factory = make_session_factory(url)
    with factory() as session:
        stored = session.execute(select(func.count(func.distinct(DailySnapshot.time)))).scalar()
    if stored is not None and stored >= len(sessions) - 1:
        return
    started = time.perf_counter()
    dates = DateSelection(start=sessions[0], end=sessions[-2])
    run_daily(factory, BatchOptions(dates=dates, heartbeat=10**9))
    print(f"  computed the documents of {len(sessions) - 1} earlier sessions in {time.perf_counter() - started:.0f} s")


def _report(label: str, figures: dict, floor_ms: float) -> dict:
    n = figures["ticker_days"]
    per = figures["wall"] / n * 1000
    server = figures["server_cpu"]
    row = {
        "shape": label, "job": figures["job"], "ticker_days": n, "wall_s": figures["wall"],
        "batch_s": figures["seconds"], "ticker_days_per_s": n / figures["wall"], "ms_per_ticker_day": per,
        "batch_ms_per_ticker_day": figures["seconds"] / n * 1000, "floor_ms": floor_ms,
        "floor_ratio": per / floor_ms, "client_cpu_ms": figures["client_cpu"] / n * 1000,
        "server_cpu_ms": None if server is None else server / n * 1000, "read_s": figures["read_s"],
        "waited_s": figures["waited_s"], "peak_rss_mb": figures["peak_rss_mb"], "load": figures["load"],
        "success": figures["success"], "failed": figures["failed"],
    }  # fmt: skip
    server_text = "n/a" if server is None else f"{row['server_cpu_ms']:.2f}"
    print(
        f"  {label:8s} {figures['job']:14s} {n:5d} td  {row['ticker_days_per_s']:6.1f} td/s  {per:6.2f} ms/td "
        f"(batch alone {row['batch_ms_per_ticker_day']:5.2f}; "
        f"whole {figures['wall']:.2f} s, batch {figures['seconds']:.2f} s)"
        f"  floor {floor_ms:5.2f} ms/td  ratio {row['floor_ratio']:5.2f}x\n"
        f"           client CPU {row['client_cpu_ms']:5.2f} ms/td  server CPU {server_text} ms/td  "
        f"read thread {figures['read_s']:.2f} s, main thread waited {figures['waited_s']:.2f} s "
        f"({figures['chunks']} chunks)  peak RSS {figures['peak_rss_mb']:4.0f} MB  load {figures['load']:.1f}  "
        f"SUCCESS {figures['success']} failed {figures['failed']}"
    )
    return row


def backfill(name: str, url: str, server: ServerCpu, tickers: int, days: int) -> list[dict]:
    print(f"[{name}] backfill: every job over {days} sessions")
    sessions = _prepare(url, tickers, days)
    floor = read_floor_ms(url, sessions)
    server = server.for_database(make_url(url).database or "")
    return [_report("backfill", run_job(job, url, sessions[0], sessions[-1], server), floor) for job in JOBS]


def evening(name: str, urls: tuple[str, str], server: ServerCpu, tickers: int, history: int) -> list[dict]:
    """One session of run-daily over a long stored history, and over a short one."""
    rows = []
    for url, stored in zip(urls, (history, EVENING_SHORT_HISTORY), strict=True):
        print(f"[{name}] evening: one session of run-daily with {stored} sessions of chains stored")
        sessions = _prepare(url, tickers, stored)
        _documents_before(url, sessions)
        day = sessions[-1]
        floor = read_floor_ms(url, [day])
        tracked = server.for_database(make_url(url).database or "")
        rows.append(_report(f"{stored}-sess", run_job("run-daily", url, day, day, tracked, repeats=3), floor))
    for key, what in (("ms_per_ticker_day", "the whole command"), ("batch_ms_per_ticker_day", "the batch alone")):
        ratio = rows[0][key] / rows[1][key]
        print(f"  one evening with {history} sessions stored costs {ratio:.2f}x the one with 5 stored ({what})")
    return rows


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--shape", choices=("backfill", "evening", "both"), default="both")
    parser.add_argument("--tickers", type=int, default=50)
    parser.add_argument("--days", type=int, default=20, help="sessions of the backfill")
    parser.add_argument("--history", type=int, default=120, help="stored sessions under the evening run")
    parser.add_argument("--db-url", help="use this database instead of throwaway ones (backfill only)")
    parser.add_argument("--server-url", help="create dedicated databases on this PostgreSQL server")
    parser.add_argument("--reuse", action="store_true", help="with --server-url: keep the databases, reuse them")
    parser.add_argument("--skip-kernels", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", choices=JOBS, help=argparse.SUPPRESS, dest="job")
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    return parser.parse_args()


def _startup_figures(args: argparse.Namespace, results: dict) -> None:
    """The kernel timings and the CLI start-up times, printed as they are measured."""
    if not args.skip_kernels:
        results["kernels"] = kernel_timings()
        print(f"kernels (ms per chain, median and fastest; load {load():.1f}): " + json.dumps(results["kernels"]))
    for argv in (["--help"], ["run-daily", "--help"]):
        figures = startup(argv)
        results[f"startup {' '.join(argv)}"] = figures
        print(
            f"`kapman {' '.join(argv)}`: {figures['wall_s']:.3f} s wall, {figures['cpu_s']:.3f} s CPU "
            f"(median of 10; load {figures['load']:.1f})"
        )


def _throwaway_runs(args: argparse.Namespace, shapes: tuple[str, ...], results: dict) -> None:
    """The backfill and evening runs on databases made for the benchmark."""
    workdir = Path(tempfile.mkdtemp(prefix="kapman-bench-"))
    if args.backend in ("sqlite", "both"):
        files = [f"sqlite:///{workdir / name}.db" for name in ("backfill", "history", "short")]
        if "backfill" in shapes:
            results["rows"] += backfill("sqlite", files[0], ServerCpu(None), args.tickers, args.days)
        if "evening" in shapes:
            results["rows"] += evening("sqlite", (files[1], files[2]), ServerCpu(None), args.tickers, args.history)
    if args.backend in ("postgresql", "both"):
        from benchmarks.servers import postgresql_databases

        with postgresql_databases(workdir, args) as (urls, cpu):
            if "backfill" in shapes:
                results["rows"] += backfill("postgresql", urls["backfill"], cpu, args.tickers, args.days)
            if "evening" in shapes:
                pair = (urls["history"], urls["short"])
                results["rows"] += evening("postgresql", pair, cpu, args.tickers, args.history)


def main() -> None:
    args = _arguments()
    if args.job:
        child(args.job, args.db_url, args.start, args.end)
        return
    results: dict = {"rows": []}
    _startup_figures(args, results)
    shapes = ("backfill", "evening") if args.shape == "both" else (args.shape,)
    if args.db_url:
        results["rows"] += backfill("given", args.db_url, ServerCpu(None), args.tickers, args.days)
    else:
        _throwaway_runs(args, shapes, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
