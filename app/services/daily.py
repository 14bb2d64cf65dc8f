"""`run_daily`: the pipeline entry — volatility metrics, then dealer metrics, same dates and universe."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import replace

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.domain.models import DealerParams, VolatilityParams
from app.services.batch import BatchOptions, BatchSummary
from app.services.dealer_metrics import run_dealer_metrics
from app.services.volatility_metrics import run_volatility_metrics

log = structlog.get_logger()


class DailySummary(BaseModel):
    volatility: BatchSummary
    dealer: BatchSummary
    exit_code: int
    total_seconds: float


_COUNTS = ("processed", "success", "partial", "missing_options", "soft_failed", "errors", "write_failed")


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
) -> DailySummary:
    """Volatility first, so each dealer document's DGPI can use the same row's IV rank."""
    started = clock.monotonic()
    options = options or BatchOptions()
    volatility = run_volatility_metrics(session_factory, options, volatility_params, sleep=sleep, progress=progress)
    if volatility.failure and volatility.tickers == 0:
        dealer = volatility.model_copy(update={"job": "dealer_metrics", "failure": "skipped: " + volatility.failure})
    else:
        dealer = run_dealer_metrics(
            session_factory,
            replace(options),
            dealer_params,
            spot_override=spot_override,
            sleep=sleep,
            progress=progress,
        )
    summary = DailySummary(
        volatility=volatility,
        dealer=dealer,
        exit_code=max(volatility.exit_code, dealer.exit_code),
        total_seconds=round(clock.monotonic() - started, 3),
    )
    log.info(
        "daily_run_finished",
        dates=volatility.dates,
        tickers=volatility.tickers,
        volatility=_counts(volatility),
        dealer=_counts(dealer),
        unknown_symbols=volatility.unknown_symbols,
        exit_code=summary.exit_code,
        total_seconds=summary.total_seconds,
    )
    return summary
