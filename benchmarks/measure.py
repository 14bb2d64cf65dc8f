"""What the benchmark measures: kernels, start-up, the read floor, and one job in a child process."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from benchmarks.servers import ServerCpu

JOBS = ("vol-metrics", "dealer-metrics", "run-daily")
KERNEL_CHAINS = {1_400: (14, 50), 15_000: (50, 150)}  # contracts: (expiries, strikes per expiry and type)


def load() -> float:
    """The 1-minute load average (the machine is shared: every figure is printed with it)."""
    return os.getloadavg()[0]


# ------------------------------------------------------------------ kernels


def synthetic_chain(expiries: int, strikes: int, spot: float = 100.0, seed: int = 42):
    """A chain shaped like a real one: strikes around spot per expiry, calls and puts, smile-ish IV,
    Black–Scholes-like delta and gamma, open interest peaking at the money."""
    from app.domain.chain import OptionChain

    rng = np.random.default_rng(seed)
    dte = np.repeat(np.linspace(1, 730, expiries).round(), 2 * strikes)
    strike = np.tile(np.repeat(np.linspace(0.6 * spot, 1.4 * spot, strikes).round(1), 2), expiries)
    kind = np.tile(np.array(["C", "P"]), strikes * expiries)
    moneyness = np.log(strike / spot)
    years = dte / 365.0
    iv = 0.25 + 0.4 * moneyness**2 + rng.normal(0, 0.01, len(strike))
    d1 = (-moneyness + 0.5 * iv**2 * years) / (iv * np.sqrt(years))
    gamma = np.exp(-0.5 * d1**2) / (np.sqrt(2 * np.pi) * spot * iv * np.sqrt(years))
    call_delta = 0.5 * (1 + np.tanh(0.8 * d1))
    delta = np.where(kind == "C", call_delta, call_delta - 1)
    mid = np.maximum(spot * iv * np.sqrt(years) * 0.4 * np.exp(-0.5 * d1**2), 0.05)
    return OptionChain.from_arrays(
        strike=strike,
        option_type=kind,
        dte_days=dte,
        open_interest=np.round(5000 * np.exp(-8 * moneyness**2) * rng.uniform(0.2, 1.0, len(strike))),
        volume=np.round(rng.uniform(0, 500, len(strike))),
        bid=np.round(mid * 0.97, 2),
        ask=np.round(mid * 1.03 + 0.01, 2),
        implied_volatility=iv,
        delta=delta,
        gamma=gamma,
    )


def kernel_timings() -> dict[str, float]:
    """Median and fastest milliseconds per call of each kernel on a 1,400- and a 15,000-contract chain (the
    volatility kernel with §13.4's 121 daily bars)."""
    from app.domain.bars import OhlcvBars
    from app.domain.dealer import compute_dealer_metrics
    from app.domain.models import DealerParams, SnapshotContext, VolatilityParams
    from app.domain.volatility import compute_volatility_metrics
    from app.domain.volatility.realized import MAX_BARS

    ctx = SnapshotContext("BENCH", uuid.uuid4(), dt.datetime(2026, 1, 2, tzinfo=dt.UTC), dt.date(2026, 1, 2), "bench")
    rng = np.random.default_rng(7)
    history = rng.uniform(0.2, 0.6, 252)
    days = np.busday_offset(np.datetime64("2025-06-02"), np.arange(MAX_BARS), roll="forward")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, MAX_BARS)))
    open_ = close * np.exp(rng.normal(0, 0.005, MAX_BARS))
    spread = np.exp(np.abs(rng.normal(0, 0.01, MAX_BARS)))
    bars = OhlcvBars(days, open_, np.maximum(open_, close) * spread, np.minimum(open_, close) / spread, close, days)
    out = {}
    for contracts, (expiries, strikes) in KERNEL_CHAINS.items():
        chain = synthetic_chain(expiries, strikes)
        assert len(chain) == contracts
        calls = {
            "dealer": lambda chain=chain: compute_dealer_metrics(chain, 100.0, DealerParams(), ctx),
            "volatility": lambda chain=chain: compute_volatility_metrics(
                chain, history, VolatilityParams(), ctx, spot=100.0, history_30d=history, bars=bars
            ),
        }
        for name, call in calls.items():
            best, median = _timed_ms(call, 1000 if contracts < 5000 else 100)
            out[f"{name}_{contracts}_ms"], out[f"{name}_{contracts}_min_ms"] = median, best
        for stat in ("ms", "min_ms"):
            out[f"both_{contracts}_{stat}"] = out[f"dealer_{contracts}_{stat}"] + out[f"volatility_{contracts}_{stat}"]
    return out


def _timed_ms(call, repeats: int) -> tuple[float, float]:
    """(fastest, median) milliseconds per call after a warm-up: on a shared machine the fastest is the
    kernel's own cost and the median adds what other work took from it."""
    for _ in range(20):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return min(samples) * 1000, statistics.median(samples) * 1000


# ------------------------------------------------------------------ start-up


def startup(argv: list[str], runs: int = 10) -> dict[str, float]:
    """Median wall and CPU seconds of `kapman ARGV` over `runs` fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli.main", *argv], check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "load": load()}


# ------------------------------------------------------------------ processes


def peak_rss_mb() -> float:
    """This process's own high-water mark (ru_maxrss survives exec, so a child would report its parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ReadOverlap:
    """Seconds the chunk reader's thread spent reading, and the main thread spent waiting for it."""

    def __init__(self) -> None:
        self.read = 0.0
        self.waited = 0.0
        self.chunks = 0

    def install(self) -> None:
        from app.batch.chunks import ChunkReader

        read_chunk, next_item = ChunkReader._read_chunk, ChunkReader._next_item
        overlap = self

        def timed_read(reader, *args, **kwargs):
            started = time.perf_counter()
            try:
                return read_chunk(reader, *args, **kwargs)
            finally:
                overlap.read += time.perf_counter() - started
                overlap.chunks += 1

        def timed_wait(reader):
            started = time.perf_counter()
            try:
                return next_item(reader)
            finally:
                if threading.current_thread() is threading.main_thread():
                    overlap.waited += time.perf_counter() - started

        ChunkReader._read_chunk = timed_read  # type: ignore[method-assign]
        ChunkReader._next_item = timed_wait  # type: ignore[method-assign]


def child(job: str, url: str, start: str, end: str) -> None:
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
    overlap = ReadOverlap()
    overlap.install()
    factory = make_session_factory(url)
    options = BatchOptions(
        dates=DateSelection(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end)), heartbeat=10**9
    )
    started = time.perf_counter()
    if job == "run-daily":
        daily = run_daily(factory, options)
        summaries = [daily.volatility, daily.dealer]
    else:
        run = run_volatility_metrics if job == "vol-metrics" else run_dealer_metrics
        summaries = [run(factory, options)]
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "job": job, "ticker_days": summaries[0].processed, "seconds": seconds,
        "client_cpu": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak_rss_mb(),
        "read_s": overlap.read, "waited_s": overlap.waited, "chunks": overlap.chunks,
        "success": [s.success for s in summaries], "failed": [s.soft_failed for s in summaries],
    }  # fmt: skip
    print(json.dumps(figures))
    gc.freeze()  # as `kapman` does when a command ends (cli.main.main)


def run_job(job: str, url: str, start: dt.date, end: dt.date, server: ServerCpu, repeats: int = 1) -> dict:
    """The job in a child process (the median of `repeats` runs by wall time); `wall` includes the
    process start, as a user sees it, and `seconds` is the batch alone."""
    runs = []
    for _ in range(repeats):
        load_before = load()
        with server.tracking() as tracked:
            wall = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "benchmarks.run_benchmark", "--child", job, "--db-url", url,
                 "--start", start.isoformat(), "--end", end.isoformat()],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            wall = time.perf_counter() - wall
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        figures["wall"] = wall
        figures["server_cpu"] = tracked.seconds
        figures["load"] = max(load_before, load())
        runs.append(figures)
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def read_floor_ms(url: str, days: list[dt.date], repeats: int = 3) -> float:
    """Per ticker-day, the best of `repeats`: a binary COPY of every column of the same options
    snapshots' rows (SQLite: a plain SELECT), nothing decoded or computed."""
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
        for _ in range(repeats):
            started = time.perf_counter()
            for times in snapshots:
                tids = list(times)
                if postgres:
                    query = (
                        "COPY (SELECT oc.* FROM unnest(%(ids)s::uuid[], %(t)s::timestamptz[]) s(tid, t) "
                        "CROSS JOIN LATERAL (SELECT * FROM options_chains c WHERE c.ticker_id = s.tid "
                        "AND c.time = s.t OFFSET 0) oc) TO STDOUT (FORMAT BINARY)"
                    )
                    with raw.cursor() as cursor, cursor.copy(query, {"ids": tids, "t": list(times.values())}) as copy:
                        for _block in copy:
                            pass
                else:
                    for tid in tids:
                        session.execute(select(table).where(table.c.ticker_id == tid, table.c.time == times[tid])).all()
            best = min(best, time.perf_counter() - started)
    factory.kw["bind"].dispose()
    return best / (len(ids) * len(days)) * 1000  # per ticker-day of the universe, as the jobs count them
