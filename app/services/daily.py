"""`run_daily`: the pipeline entry — volatility and dealer metrics of each ticker-day from one read,
written in one transaction (SPEC §7, §11)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dealer_job import DealerJob
from app.batch.engine import run_jobs
from app.batch.interrupts import StopRequest
from app.batch.jobs import DocumentJob, JobName
from app.batch.options import BatchOptions
from app.batch.summary import BatchSummary
from app.batch.volatility_job import VolatilityJob
from app.domain.models import DealerParams, VolatilityParams

log = structlog.get_logger()

JOB_NAME = "run_daily"


class DailySummary(BaseModel):
    volatility: BatchSummary
    dealer: BatchSummary
    exit_code: int
    total_seconds: float


_COUNTS = ("processed", "success", "partial", "missing_options", "soft_failed", "errors", "kept_previous")


def _counts(summary: BatchSummary) -> dict[str, int]:
    return {name: getattr(summary, name) for name in _COUNTS}


def run_daily(
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    *,
    dealer_params: DealerParams | None = None,
    volatility_params: VolatilityParams | None = None,
    spot_override: float | None = None,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
    stop: StopRequest | None = None,
) -> DailySummary:
    """Volatility first, so each dealer document's DGPI uses the same day's IV rank."""
    jobs: list[DocumentJob[Any]] = [
        VolatilityJob(volatility_params or VolatilityParams()),
        DealerJob(dealer_params or DealerParams(), spot_override),
    ]
    run = run_jobs(JOB_NAME, jobs, session_factory, options, sleep=sleep, progress=progress, stop=stop)
    volatility = run.summaries[JobName.VOLATILITY]
    dealer = run.summaries[JobName.DEALER]
    summary = DailySummary(
        volatility=volatility, dealer=dealer, exit_code=run.exit_code, total_seconds=run.total_seconds
    )
    log.info(
        "daily_run_finished",
        dates=volatility.dates,
        tickers=volatility.tickers,
        volatility=_counts(volatility),
        dealer=_counts(dealer),
        data_gaps={"volatility": volatility.data_gaps, "dealer": dealer.data_gaps},
        unknown_symbols=volatility.unknown_symbols,
        exit_code=summary.exit_code,
        failure=run.failure,
        total_seconds=summary.total_seconds,
    )
    return summary
