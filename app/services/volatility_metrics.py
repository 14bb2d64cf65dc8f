"""`run_volatility_metrics`: volatility_metrics_json for every universe ticker and session (SPEC §6)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.batch.engine import run_jobs
from app.batch.interrupts import StopRequest
from app.batch.options import BatchOptions
from app.batch.summary import BatchSummary
from app.batch.volatility_job import JOB_NAME, VolatilityJob
from app.domain.models import VolatilityParams


def run_volatility_metrics(
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    params: VolatilityParams | None = None,
    *,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
    stop: StopRequest | None = None,
) -> BatchSummary:
    """Compute and upsert volatility metrics; returns the batch summary (exit_code 0, 1 or 130/143)."""
    job = VolatilityJob(params or VolatilityParams())
    run = run_jobs(JOB_NAME, [job], session_factory, options, sleep=sleep, progress=progress, stop=stop)
    return run.summaries[JOB_NAME]
