"""`volatility_document`: a VolatilityResult written as the volatility_metrics_json document (SPEC §6.3)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from app.domain.chain import FloatArray, OptionChain
from app.domain.envelope import envelope_fields, staleness_diagnostics
from app.domain.models import (
    SnapshotContext,
    VolatilityMetrics,
    VolatilityParams,
    VolHistory,
    VolMetadata,
    VolMetricValues,
    iso_utc,
)
from app.domain.rounding import round_or_none
from app.domain.volatility.result import VolatilityFigures, VolatilityResult, compute_volatility

# Decimal places each metric is written with (SPEC §6.2).
METRIC_DIGITS = {
    "average_iv": 4, "avg_call_iv": 4, "avg_put_iv": 4, "iv_stddev": 4, "iv_skew": 2, "iv_skew_call_put": 2,
    "put_call_ratio_oi": 4, "put_call_volume_ratio": 4, "oi_ratio": 4, "front_month_iv": 4, "back_month_iv": 4,
    "iv_term_structure": 2, "iv_term_structure_slope": 4, "iv_rank": 2, "iv_percentile": 2,
    "atm_iv_30d": 4, "atm_iv_90d": 4, "atm_term_structure": 2, "rr25_30d": 2, "iv30_rank": 2, "iv30_percentile": 2,
}  # fmt: skip


def _metrics(figures: VolatilityFigures) -> VolMetricValues:
    return VolMetricValues(
        **{f.name: round_or_none(getattr(figures, f.name), METRIC_DIGITS[f.name]) for f in fields(figures)}
    )


def _history(history: FloatArray) -> VolHistory:
    if history.shape[0] == 0:
        return VolHistory(points=0, min=None, max=None)
    return VolHistory(
        points=int(history.shape[0]), min=round_or_none(history.min(), 4), max=round_or_none(history.max(), 4)
    )


def volatility_document(
    result: VolatilityResult, context: SnapshotContext, *, failure_reason: str | None = None
) -> VolatilityMetrics:
    """The document of a result: every key present, metrics rounded as §6.2 writes them.

    A `failure_reason` makes it the ERROR document of a ticker-day that could not be computed.
    """
    if failure_reason is not None:
        diagnostics = [f"error:{failure_reason}"]
    else:
        diagnostics = staleness_diagnostics(context, result.params.stale_after_days) + list(result.diagnostics)
    envelope = envelope_fields(context, result.params)
    return VolatilityMetrics(
        status=result.status,
        processing_status=result.processing_status,
        confidence=result.confidence,
        options_snapshot_time=iso_utc(context.options_snapshot_time),
        metrics=_metrics(result.figures),
        diagnostics=diagnostics,
        metadata=VolMetadata(**envelope, counts=result.counts, history=_history(result.history)),
    )


def compute_volatility_metrics(
    chain: OptionChain | None,
    history: FloatArray,
    params: VolatilityParams,
    ctx: SnapshotContext,
    *,
    spot: float | None = None,
    history_30d: FloatArray | None = None,
) -> VolatilityMetrics:
    """Volatility metrics document for one ticker-day: `compute_volatility`, then `volatility_document`."""
    result = compute_volatility(chain, history, params, spot=spot, history_30d=history_30d)
    return volatility_document(result, ctx)


def error_volatility_metrics(ctx: SnapshotContext, params: VolatilityParams, failure_reason: str) -> VolatilityMetrics:
    """The document of a ticker-day whose computation or loading failed."""
    failed = VolatilityResult(params, "ERROR", np.empty(0))
    return volatility_document(failed, ctx, failure_reason=failure_reason)
