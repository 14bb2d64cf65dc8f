"""The volatility DocumentJob: how the batch engine computes, judges and logs a volatility document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from app.batch.jobs import DocumentJob, HistoryPoint, TickerDay
from app.batch.summary import Outcome
from app.domain.models import VolatilityMetrics, VolatilityParams, VolCounts
from app.domain.volatility import CORE_METRICS, compute_volatility_metrics, error_volatility_metrics
from app.repositories.snapshots import VOLATILITY_COLUMN

JOB_NAME = "volatility_metrics"
DEFAULT_HEARTBEAT = 50

_OUTCOMES = {
    "SUCCESS": Outcome.SUCCESS,
    "PARTIAL": Outcome.PARTIAL,
    "NO_OPTIONS": Outcome.MISSING_OPTIONS,
    "ERROR": Outcome.SOFT_FAILED,
}


def volatility_outcome(doc: BaseModel) -> Outcome:
    assert isinstance(doc, VolatilityMetrics)
    return _OUTCOMES[doc.processing_status]


def volatility_data_gaps(doc: BaseModel) -> list[str]:
    """Why a volatility document is not a clean success (SPEC §9), one short reason each."""
    assert isinstance(doc, VolatilityMetrics)
    gaps = []
    if doc.processing_status == "NO_OPTIONS":
        gaps.append("no_options")
    missing = {d.partition(":")[0]: d for d in doc.diagnostics if d.partition(":")[0] in CORE_METRICS}
    if "average_iv" in missing:
        gaps.append(_no_iv(doc.metadata.counts))
    for name, diagnostic in missing.items():
        if name == "average_iv" or (name == "iv_rank" and "average_iv" in missing):
            continue  # a rank without an IV to rank says nothing more
        gaps.append("short_history" if diagnostic.startswith("iv_rank:insufficient_history") else diagnostic)
    if "stale_options_snapshot" in doc.diagnostics:
        gaps.append("stale_options_snapshot")
    return gaps


def _no_iv(counts: VolCounts) -> str:
    if counts.total_contracts and counts.malformed == counts.total_contracts:
        return "all_malformed"
    if counts.selected_contracts == 0:
        return "all_expired_or_malformed"
    if counts.iv_out_of_range == counts.selected_contracts:
        return "iv_out_of_range"
    return "no_valid_iv"


def volatility_debug_details(doc: BaseModel) -> dict[str, Any]:
    assert isinstance(doc, VolatilityMetrics)
    return {
        "counts": doc.metadata.counts.model_dump(),
        "history": doc.metadata.history.model_dump(),
        "metrics": doc.metrics.model_dump(),
        "diagnostics": doc.diagnostics,
    }


def volatility_job(params: VolatilityParams) -> DocumentJob:
    def compute(day: TickerDay, _earlier: Mapping[str, BaseModel]) -> VolatilityMetrics:
        return compute_volatility_metrics(
            day.chain, day.history.average_iv, params, day.context, spot=day.spot, history_30d=day.history.atm_iv_30d
        )

    def history_point(doc: BaseModel) -> HistoryPoint:
        assert isinstance(doc, VolatilityMetrics)
        return HistoryPoint(doc.metrics.average_iv, doc.metrics.atm_iv_30d)

    return DocumentJob(
        name=JOB_NAME,
        column=VOLATILITY_COLUMN,
        params=params,
        greeks=frozenset({"implied_volatility", "delta"}),
        needs_spot=True,  # §12.2: at-the-money is relative to the session's close
        compute=compute,
        error_document=lambda ctx, reason: error_volatility_metrics(ctx, params, reason),
        outcome=volatility_outcome,
        data_gaps=volatility_data_gaps,
        debug_details=volatility_debug_details,
        default_heartbeat=DEFAULT_HEARTBEAT,
        history_lookback=params.lookback,
        history_point=history_point,
        log_params=params.model_dump(),
    )
