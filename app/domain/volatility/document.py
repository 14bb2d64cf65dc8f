"""`volatility_document`: a VolatilityResult written as the volatility_metrics_json document (SPEC §6.3)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from app.domain.bars import OhlcvBars
from app.domain.chain import FloatArray, OptionChain
from app.domain.envelope import envelope_fields, staleness_diagnostics
from app.domain.models import SnapshotContext, VolatilityMetrics, VolatilityParams, iso_utc
from app.domain.rounding import round_to
from app.domain.volatility.expected_move import ExpectedMoveFigures
from app.domain.volatility.realized import RealizedVolatilityFigures
from app.domain.volatility.result import VolatilityResult, compute_volatility

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
FRONT_MOVE_DIGITS = {
    "straddle_strike": STRIKE_DIGITS, "straddle_price": STRADDLE_PRICE_DIGITS, "straddle_pct": MOVE_DIGITS,
    "lower": MOVE_DIGITS, "upper": MOVE_DIGITS, "iv_move": MOVE_DIGITS, "iv_move_pct": MOVE_DIGITS,
}  # fmt: skip
THIRTY_DAY_MOVE_DIGITS = dict.fromkeys(("iv_move", "iv_move_pct", "lower", "upper"), MOVE_DIGITS)


def _rounded(figures: object, digits: dict[str, int]) -> dict[str, float | None]:
    """The figures named in `digits`, each rounded to its places (a non-finite one raises)."""
    values = {}
    for name, places in digits.items():
        value = getattr(figures, name)
        values[name] = None if value is None else round_to(value, places)
    return values


def _realized(figures: RealizedVolatilityFigures) -> dict[str, object]:
    return {
        **_rounded(figures, REALIZED_DIGITS),
        "bars_used": figures.bars_used,
        "session_gaps": figures.session_gaps,
        "diagnostics": list(figures.diagnostics),
    }


def _expected_move(figures: ExpectedMoveFigures, session_date: dt.date) -> dict[str, object]:
    front = figures.front
    expiry = None if front.dte is None else (session_date + dt.timedelta(days=front.dte)).isoformat()
    return {
        "front": {"expiry": expiry, "dte": front.dte, **_rounded(front, FRONT_MOVE_DIGITS)},
        "d30": _rounded(figures.d30, THIRTY_DAY_MOVE_DIGITS),
        "diagnostics": list(figures.diagnostics),
    }


def _history(history: FloatArray) -> dict[str, object]:
    if history.shape[0] == 0:
        return {"points": 0, "min": None, "max": None}
    return {"points": int(history.shape[0]), "min": round_to(history.min(), 4), "max": round_to(history.max(), 4)}


def volatility_document(
    result: VolatilityResult, context: SnapshotContext, *, failure_reason: str | None = None
) -> VolatilityMetrics:
    """The document of a result: every key present, metrics rounded as §6.2 writes them.

    A `failure_reason` makes it the ERROR document of a ticker-day that could not be computed.
    The document is validated once as a whole (no NaN or infinity gets in).
    """
    if failure_reason is not None:
        diagnostics = [f"error:{failure_reason}"]
    else:
        diagnostics = staleness_diagnostics(context, result.params.stale_after_days) + list(result.diagnostics)
    envelope = envelope_fields(context, result.params)
    document = {
        "status": result.status,
        "processing_status": result.processing_status,
        "confidence": result.confidence,
        "options_snapshot_time": iso_utc(context.options_snapshot_time),
        "metrics": _rounded(result.figures, METRIC_DIGITS),
        "realized": _realized(result.realized),
        "expected_move": _expected_move(result.expected_move, context.snapshot_date),
        "diagnostics": diagnostics,
        "metadata": {**envelope, "counts": result.counts, "history": _history(result.history)},
    }
    return VolatilityMetrics.model_validate(document)


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
