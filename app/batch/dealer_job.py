"""The dealer DocumentJob: how the batch engine computes, judges and logs a dealer document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from app.batch import volatility_job as volatility_metrics
from app.batch.jobs import DocumentJob, TickerDay
from app.batch.summary import Outcome
from app.domain.dealer import ELIGIBILITY_RULES, compute_dealer_metrics, error_dealer_metrics
from app.domain.models import DealerMetrics, DealerParams, SpotSource, VolatilityMetrics
from app.repositories.snapshots import DEALER_COLUMN

JOB_NAME = "dealer_metrics"
DEFAULT_HEARTBEAT = 25


def dealer_outcome(doc: BaseModel) -> Outcome:
    assert isinstance(doc, DealerMetrics)
    if doc.processing_status == "NO_OPTIONS":
        return Outcome.MISSING_OPTIONS
    if doc.processing_status == "ERROR":
        return Outcome.SOFT_FAILED
    if doc.processing_status == "SUCCESS" and doc.status != "INVALID":
        return Outcome.SUCCESS
    return Outcome.PARTIAL


def dealer_data_gaps(doc: BaseModel) -> list[str]:
    """Why a dealer document is not a clean success (SPEC §9), one short reason each."""
    assert isinstance(doc, DealerMetrics)
    gaps = []
    if doc.processing_status == "NO_OPTIONS":
        gaps.append("no_options")
    elif doc.processing_status == "MISSING_SPOT":
        gaps.append("no_spot")
    elif doc.processing_status == "NO_ELIGIBLE_OPTIONS":
        gaps.append(_nothing_eligible(doc))
    elif doc.status == "INVALID":
        gaps.append("too_few_eligible" if doc.confidence == "invalid" else doc.status_reason)
    if "stale_options_snapshot" in doc.metadata.diagnostics:
        gaps.append("stale_options_snapshot")
    return gaps


def _nothing_eligible(doc: DealerMetrics) -> str:
    """Nothing passed the rules: name the rule that removed the most contracts."""
    stats = doc.metadata.filter_stats
    removed = {rule: getattr(stats, rule) for rule in ELIGIBILITY_RULES}
    if removed["malformed"] == doc.total_options_count:
        return "all_malformed"
    return f"nothing_eligible:{max(removed, key=lambda rule: removed[rule])}"


def dealer_debug_details(doc: BaseModel) -> dict[str, Any]:
    assert isinstance(doc, DealerMetrics)
    meta = doc.metadata
    return {
        "filter_stats": meta.filter_stats.model_dump(), "eligible": doc.eligible_options_count,
        "total": doc.total_options_count, "spot": doc.spot_price, "gex_total": doc.gex_total,
        "gex_net": doc.gex_net, "gamma_flip": doc.gamma_flip, "gex_slope": doc.gex_slope,
        "dgpi": doc.dgpi, "dgpi_iv_rank": meta.dgpi_iv_rank, "diagnostics": meta.diagnostics,
    }  # fmt: skip


def _iv_rank(day: TickerDay, earlier: Mapping[str, BaseModel]) -> float | None:
    """The IV rank of the same row: this run's volatility document if it computed one, else the stored one."""
    fresh = earlier.get(volatility_metrics.JOB_NAME)
    if isinstance(fresh, VolatilityMetrics) and fresh.processing_status != "ERROR":
        return fresh.metrics.iv_rank
    return day.row.iv_rank


def dealer_job(params: DealerParams, spot_override: float | None = None) -> DocumentJob:
    def compute(day: TickerDay, earlier: Mapping[str, BaseModel]) -> DealerMetrics:
        spot: float | None = day.spot
        source: SpotSource = "ohlcv_close"
        if spot_override is not None:
            spot, source = spot_override, "override"
        return compute_dealer_metrics(
            day.chain, spot, params, day.context, spot_source=source, iv_rank=_iv_rank(day, earlier)
        )

    return DocumentJob(
        name=JOB_NAME,
        column=DEALER_COLUMN,
        params=params,
        greeks=frozenset({"gamma", "implied_volatility", "delta"}),  # IV and delta for §12.1
        needs_spot=spot_override is None,
        compute=compute,
        error_document=lambda ctx, reason: error_dealer_metrics(ctx, params, reason),
        outcome=dealer_outcome,
        data_gaps=dealer_data_gaps,
        debug_details=dealer_debug_details,
        default_heartbeat=DEFAULT_HEARTBEAT,
        log_params={**params.model_dump(), "spot_override": spot_override},
    )
