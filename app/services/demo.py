"""`kapman demo`: a sample market, both jobs over it, the summary table and two reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import DateSelection
from app.batch.interrupts import StopRequest
from app.batch.options import BatchOptions
from app.db import engine_of
from app.migrations import upgrade_database
from app.reporting.show import ShowRow, ShowTable, build_show_table
from app.sample.market import SampleSummary, run_sample_data
from app.sample.spec import DEFAULT_WATCHLIST, DemoSpec, SampleMarket
from app.services.daily import DailySummary, run_daily

log = structlog.get_logger()


@dataclass
class DemoResult:
    exit_code: int
    table: ShowTable | None = None
    daily: DailySummary | None = None
    report_files: list[Path] | None = None
    reported_symbols: list[str] | None = None
    sample: SampleSummary | None = None
    dashboard: Path | None = None


def pick_interesting(rows: list[ShowRow], count: int = 2) -> list[str]:
    """The usable ticker with the largest |net GEX|, then the one with the highest IV rank (else the next GEX)."""
    usable = [r for r in rows if r.dealer_status in ("FULL", "LIMITED") and r.gex_net is not None]
    by_gex = sorted(usable, key=lambda r: (-abs(r.gex_net or 0.0), r.symbol))
    chosen = [by_gex[0].symbol] if by_gex else []
    by_rank = sorted((r for r in usable if r.iv_rank is not None), key=lambda r: (-(r.iv_rank or 0.0), r.symbol))
    for row in by_rank + by_gex:
        if len(chosen) >= count:
            break
        if row.symbol not in chosen:
            chosen.append(row.symbol)
    return chosen


def run_demo(
    session_factory: sessionmaker[Session],
    spec: DemoSpec | None = None,
    *,
    image_format: str = "png",
    progress: Callable[..., None] | None = None,
    stop: StopRequest | None = None,
) -> DemoResult:
    """Safe on an existing database: the sample rows are idempotent and only the sample watchlist is processed."""
    spec = spec or DemoSpec()
    tickers, days, out_dir = spec.tickers, spec.days, spec.out
    if upgrade_database(engine_of(session_factory)) != 0:
        return DemoResult(exit_code=1)
    sample = run_sample_data(session_factory, SampleMarket(tickers=tickers, days=days), progress=progress)
    options = BatchOptions(
        dates=DateSelection(start=sample.sessions[0], end=sample.sessions[-1]),
        watchlist=DEFAULT_WATCHLIST,
        heartbeat=max(50, tickers * 5),
    )
    daily = run_daily(session_factory, options, progress=progress, stop=stop)
    if daily.exit_code != 0:
        return DemoResult(exit_code=daily.exit_code, daily=daily, sample=sample)
    from app.reporting.dashboard import build_dashboard  # matplotlib: only when charts are drawn
    from app.reporting.report import build_report, write_report

    table = build_show_table(session_factory, sample.sessions[-1], watchlist=DEFAULT_WATCHLIST)
    symbols = pick_interesting(table.rows)
    files: list[Path] = []
    for symbol in symbols:
        files += write_report(build_report(session_factory, symbol, sample.sessions[-1]), out_dir, image_format)
    site = build_dashboard(
        session_factory, spec.dashboard, sample.sessions[-1], watchlist=DEFAULT_WATCHLIST, progress=progress
    )
    log.info("demo_finished", sessions=len(sample.sessions), tickers=sample.tickers, reports=[str(f) for f in files],
             dashboard=str(site.pages[0]))  # fmt: skip
    return DemoResult(exit_code=0, table=table, daily=daily, report_files=files, reported_symbols=symbols,
                      sample=sample, dashboard=site.pages[0])  # fmt: skip
