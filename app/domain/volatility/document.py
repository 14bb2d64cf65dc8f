"""`volatility_document`: a VolatilityResult written as the volatility_metrics_json document (SPEC §6.3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import numpy as np

from app.domain.bars import OhlcvBars
from app.domain.chain import FloatArray, OptionChain
from app.domain.envelope import envelope_fields, staleness_diagnostics
from app.domain.models import (
    SnapshotContext,
    VolatilityMetrics,
    VolatilityParams,
    VolHistory,
    VolMetadata,
    VolMetrics,
    iso_utc,
)
from app.domain.rounding import round_or_none
from app.domain.volatility.expected_move import ExpectedMoveFigures
from app.domain.volatility.realized import RealizedVolatilityFigures
from app.domain.volatility.result import VolatilityResult, VolMetricsFigures, compute_volatility
from app.domain.volatility_parts import ExpectedMove, FrontExpectedMove, RealizedVolatility, ThirtyDayExpectedMove

# Decimal places each metric is written with (SPEC §6.2).
METRIC_DIGITS = {
    "average_iv": 4, "avg_call_iv": 4, "avg_put_iv": 4, "iv_stddev": 4, "iv_skew": 2, "iv_skew_call_put": 2,
    "put_call_ratio_oi": 4, "put_call_volume_ratio": 4, "oi_ratio": 4, "front_month_iv": 4, "back_month_iv": 4,
    "iv_term_structure": 2, "iv_term_structure_slope": 4, "iv_rank": 2, "iv_percentile": 2,
    "atm_iv_30d": 4, "atm_iv_90d": 4, "atm_term_structure": 2, "rr25_30d": 2, "iv30_rank": 2, "iv30_percentile": 2,
}  # fmt: skip


# §13.4 and §13.5 (2 dp where the SPEC states none).
REALIZED_DIGITS = {
    "hv_10": 4, "hv_20": 4, "hv_60": 4, "hv_120": 4, "parkinson_20": 4, "garman_klass_20": 4, "yang_zhang_20": 4,
    "iv_hv_ratio": 4, "vrp_30d": 2, "hv20_hv60_ratio": 4,
}  # fmt: skip
STRIKE_DIGITS = 4  # a strike is written as stored (numeric(12,4)), never moved by rounding
STRADDLE_PRICE_DIGITS = 4
MOVE_DIGITS = 2


def _realized(figures: RealizedVolatilityFigures) -> RealizedVolatility:
    values = {name: round_or_none(getattr(figures, name), digits) for name, digits in REALIZED_DIGITS.items()}
    return RealizedVolatility(
        **values,
        bars_used=figures.bars_used,
        session_gaps=figures.session_gaps,
        diagnostics=list(figures.diagnostics),
    )


def _expected_move(figures: ExpectedMoveFigures, session_date: dt.date) -> ExpectedMove:
    front, d30 = figures.front, figures.d30
    expiry = None if front.dte is None else (session_date + dt.timedelta(days=front.dte)).isoformat()
    return ExpectedMove(
        front=FrontExpectedMove(
            expiry=expiry,
            dte=front.dte,
            straddle_strike=round_or_none(front.straddle_strike, STRIKE_DIGITS),
            straddle_price=round_or_none(front.straddle_price, STRADDLE_PRICE_DIGITS),
            **{
                name: round_or_none(getattr(front, name), MOVE_DIGITS)
                for name in ("straddle_pct", "lower", "upper", "iv_move", "iv_move_pct")
            },
        ),
        d30=ThirtyDayExpectedMove(
            **{
                name: round_or_none(getattr(d30, name), MOVE_DIGITS)
                for name in ("iv_move", "iv_move_pct", "lower", "upper")
            }
        ),
        diagnostics=list(figures.diagnostics),
    )


def _metrics(figures: VolMetricsFigures) -> VolMetrics:
    return VolMetrics(
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
        realized=_realized(result.realized),
        expected_move=_expected_move(result.expected_move, context.snapshot_date),
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
    bars: OhlcvBars | None = None,
) -> VolatilityMetrics:
    """Volatility metrics document for one ticker-day: `compute_volatility`, then `volatility_document`."""
    result = compute_volatility(
        chain, history, params, spot=spot, history_30d=history_30d, bars=bars, session_date=ctx.snapshot_date
    )
    return volatility_document(result, ctx)


def error_volatility_metrics(ctx: SnapshotContext, params: VolatilityParams, failure_reason: str) -> VolatilityMetrics:
    """The document of a ticker-day whose computation or loading failed."""
    failed = VolatilityResult(params, "ERROR", np.empty(0))
    return volatility_document(failed, ctx, failure_reason=failure_reason)
