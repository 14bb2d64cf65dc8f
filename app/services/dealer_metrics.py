"""`run_dealer_metrics`: dealer_metrics_json for every universe ticker and session (SPEC §5)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.batch.dealer_job import JOB_NAME, DealerJob
from app.batch.engine import run_jobs
from app.batch.interrupts import StopRequest
from app.batch.options import BatchOptions
from app.batch.summary import BatchSummary
from app.domain.models import DealerParams


def run_dealer_metrics(
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    params: DealerParams | None = None,
    *,
    spot_override: float | None = None,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
    stop: StopRequest | None = None,
) -> BatchSummary:
    """Compute and upsert dealer metrics; returns the batch summary (exit_code 0, 1 or 130/143)."""
    job = DealerJob(params or DealerParams(), spot_override)
    run = run_jobs(JOB_NAME, [job], session_factory, options, sleep=sleep, progress=progress, stop=stop)
    return run.summaries[JOB_NAME]
