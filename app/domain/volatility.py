"""Volatility metrics for one ticker on one session (SPEC §6).

IVs are decimals (0.42 = 42%). Skew, call/put skew and term structure are in
volatility points (× 100). History H holds earlier sessions' average_iv as written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.domain.chain import BoolArray, FloatArray, OptionChain, malformed_mask
from app.domain.models import (
    SnapshotContext,
    VolatilityMetrics,
    VolatilityParams,
    VolCounts,
    VolHistory,
    VolMetadata,
    VolMetricValues,
    iso_utc,
)
from app.domain.rounding import round_or_none

MAX_VALID_IV = 5.0
SKEW_TARGET_DELTA = 0.25
SKEW_DELTA_TOLERANCE = 0.15
# Deltas are provider decimals; without slack |0.40 − 0.25| = 0.15000000000000002 would miss the tolerance.
_TOLERANCE_SLACK = 1e-9
FRONT_DTE, FRONT_HALF_WINDOW = 30, 15
BACK_DTE, BACK_HALF_WINDOW = 90, 30
CORE_METRICS = ("average_iv", "iv_rank", "put_call_ratio_oi", "oi_ratio", "iv_skew", "iv_term_structure")
HIGH_CONFIDENCE_MIN_IV = 40
MEDIUM_CONFIDENCE_MIN_IV = 20
HIGH_CONFIDENCE_MIN_WINDOW = 5


@dataclass(frozen=True, slots=True)
class VolSelection:
    """Masks over the chain: contracts used for ratios, and those with a usable IV."""

    selected: BoolArray
    iv_valid: BoolArray
    malformed: int
    expired: int
    iv_out_of_range: int


def select_contracts(chain: OptionChain) -> VolSelection:
    malformed = malformed_mask(chain)
    expired = ~malformed & (chain.dte_days < 0)
    selected = ~malformed & ~expired
    iv = chain.implied_volatility
    with np.errstate(invalid="ignore"):
        iv_ok = np.isfinite(iv) & (iv > 0) & (iv <= MAX_VALID_IV)
    return VolSelection(
        selected=selected,
        iv_valid=selected & iv_ok,
        malformed=int(np.count_nonzero(malformed)),
        expired=int(np.count_nonzero(expired)),
        iv_out_of_range=int(np.count_nonzero(selected & ~iv_ok)),
    )


def oi_weighted_iv(iv: FloatArray, open_interest: FloatArray) -> float | None:
    """Σ iv·OI / Σ OI; the simple mean when no contract has open interest."""
    if iv.shape[0] == 0:
        return None
    total_oi = float(open_interest.sum())
    if total_oi > 0:
        return float((iv * open_interest).sum() / total_oi)
    return float(iv.mean())


def mean_or_none(values: FloatArray) -> float | None:
    return float(values.mean()) if values.shape[0] else None


def ratio_or_none(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator != 0 else None


def skew_leg_iv(iv: FloatArray, delta: FloatArray, target_delta: float, percentile: float) -> tuple[float | None, bool]:
    """IV of the ~25-delta contract of one type (contracts in strike order).

    Returns (iv, used_fallback). The contract whose delta is nearest the target
    wins if within tolerance; otherwise the strike-percentile contract.
    """
    n = iv.shape[0]
    if n == 0:
        return None, False
    distance = np.abs(delta - target_delta)
    if np.any(np.isfinite(distance)):
        nearest = int(np.nanargmin(distance))
        if distance[nearest] <= SKEW_DELTA_TOLERANCE + _TOLERANCE_SLACK:
            return float(iv[nearest]), False
    if n >= 3:
        index = math.floor(percentile * n)
        index = min(n - 1, index)
    else:
        index = n // 2
    return float(iv[index]), True


def compute_iv_rank(current_iv: float | None, history: FloatArray, min_history: int) -> tuple[float | None, str | None]:
    """(IV − min H) / (max H − min H) × 100, clamped; (None, reason) when undefined."""
    if current_iv is None:
        return None, "no_average_iv"
    if history.shape[0] < min_history:
        return None, f"insufficient_history({history.shape[0]}<{min_history})"
    low, high = float(history.min()), float(history.max())
    if high == low:
        return None, "flat_history"
    rank = (current_iv - low) / (high - low) * 100.0
    return min(max(rank, 0.0), 100.0), None


def compute_iv_percentile(current_iv: float | None, history: FloatArray, min_history: int) -> float | None:
    """Share of H at or below the current IV, in percent (needs the same history as the rank)."""
    if current_iv is None or history.shape[0] < min_history:
        return None
    return float(np.count_nonzero(history <= current_iv)) / history.shape[0] * 100.0


def _history_summary(history: FloatArray) -> VolHistory:
    if history.shape[0] == 0:
        return VolHistory(points=0, min=None, max=None)
    return VolHistory(
        points=int(history.shape[0]), min=round_or_none(history.min(), 4), max=round_or_none(history.max(), 4)
    )


def _empty_counts(total: int = 0) -> VolCounts:
    return VolCounts(
        total_contracts=total,
        selected_contracts=0,
        with_iv_contracts=0,
        call_contracts=0,
        put_contracts=0,
        front_month_contracts=0,
        back_month_contracts=0,
        total_volume=0,
        total_open_interest=0,
        iv_out_of_range=0,
        malformed=0,
        expired=0,
    )


def _null_metrics() -> VolMetricValues:
    return VolMetricValues(**{name: None for name in VolMetricValues.model_fields})


def _document(ctx, params, *, status, processing_status, confidence, metrics, diagnostics, counts, history):
    return VolatilityMetrics(
        status=status,
        processing_status=processing_status,
        confidence=confidence,
        options_snapshot_time=iso_utc(ctx.options_snapshot_time),
        metrics=metrics,
        diagnostics=diagnostics,
        metadata=VolMetadata(
            symbol=ctx.symbol,
            ticker_id=str(ctx.ticker_id),
            snapshot_time=iso_utc(ctx.snapshot_time),
            snapshot_date=ctx.snapshot_date.isoformat(),
            model_version=ctx.model_version,
            params=params.model_dump(),
            overrides=list(ctx.overrides),
            options_snapshot_age_days=ctx.options_snapshot_age_days,
            counts=counts,
            history=_history_summary(history),
        ),
    )


def error_volatility_metrics(ctx: SnapshotContext, params: VolatilityParams, failure_reason: str) -> VolatilityMetrics:
    """The document of a ticker-day whose computation or loading failed."""
    return _document(
        ctx,
        params,
        status="INVALID",
        processing_status="ERROR",
        confidence="low",
        metrics=_null_metrics(),
        diagnostics=[f"error:{failure_reason}"],
        counts=_empty_counts(),
        history=np.empty(0),
    )


def compute_volatility_metrics(
    chain: OptionChain | None,
    history: FloatArray,
    params: VolatilityParams,
    ctx: SnapshotContext,
) -> VolatilityMetrics:
    """Volatility metrics document for one ticker-day.

    `history` holds the ticker's earlier average_iv values (most recent `lookback`
    rows, nulls removed). `chain` is None when there is no options snapshot.
    """
    history = np.asarray(history, dtype=np.float64)
    history = history[np.isfinite(history)]
    diagnostics: list[str] = []
    if ctx.options_snapshot_age_days is not None and ctx.options_snapshot_age_days > params.stale_after_days:
        diagnostics.append("stale_options_snapshot")
    if chain is None or len(chain) == 0:
        diagnostics.append("no_options_snapshot" if chain is None else "empty_options_snapshot")
        return _document(
            ctx,
            params,
            status="INVALID",
            processing_status="NO_OPTIONS",
            confidence="low",
            metrics=_null_metrics(),
            diagnostics=diagnostics,
            counts=_empty_counts(),
            history=history,
        )

    sel = select_contracts(chain)
    iv_chain = chain.take(sel.iv_valid)
    ratio_chain = chain.take(sel.selected)
    iv = iv_chain.implied_volatility
    calls, puts = iv_chain.is_call, iv_chain.is_put

    average_iv = oi_weighted_iv(iv, iv_chain.open_interest)
    avg_call_iv = oi_weighted_iv(iv[calls], iv_chain.open_interest[calls])
    avg_put_iv = oi_weighted_iv(iv[puts], iv_chain.open_interest[puts])
    iv_stddev = float(iv.std()) if iv.shape[0] else None

    call_leg, call_fallback = skew_leg_iv(iv[calls], iv_chain.delta[calls], SKEW_TARGET_DELTA, 0.75)
    put_leg, put_fallback = skew_leg_iv(iv[puts], iv_chain.delta[puts], -SKEW_TARGET_DELTA, 0.25)
    iv_skew = (put_leg - call_leg) * 100.0 if call_leg is not None and put_leg is not None else None
    for leg, used in (("calls", call_fallback), ("puts", put_fallback)):
        if used:
            diagnostics.append(f"iv_skew:strike_percentile_fallback({leg})")

    avg_call_written = round_or_none(avg_call_iv, 4)
    avg_put_written = round_or_none(avg_put_iv, 4)
    skew_call_put = (
        (avg_put_written - avg_call_written) * 100.0
        if avg_call_written is not None and avg_put_written is not None
        else None
    )

    oi_all, vol_all = ratio_chain.open_interest, ratio_chain.volume
    call_oi = float(oi_all[ratio_chain.is_call].sum())
    put_oi = float(oi_all[ratio_chain.is_put].sum())
    call_volume = float(vol_all[ratio_chain.is_call].sum())
    put_volume = float(vol_all[ratio_chain.is_put].sum())
    total_oi, total_volume = call_oi + put_oi, call_volume + put_volume

    dte = iv_chain.dte_days
    front = np.abs(dte - FRONT_DTE) <= FRONT_HALF_WINDOW
    back = np.abs(dte - BACK_DTE) <= BACK_HALF_WINDOW
    front_iv = mean_or_none(iv[front])
    back_iv = mean_or_none(iv[back])
    term = (back_iv - front_iv) * 100.0 if front_iv is not None and back_iv is not None else None

    average_written = round_or_none(average_iv, 4)
    iv_rank, rank_gap = compute_iv_rank(average_written, history, params.min_history)
    metrics = VolMetricValues(
        average_iv=average_written,
        avg_call_iv=avg_call_written,
        avg_put_iv=avg_put_written,
        iv_stddev=round_or_none(iv_stddev, 4),
        iv_skew=round_or_none(iv_skew, 2),
        iv_skew_call_put=round_or_none(skew_call_put, 2),
        put_call_ratio_oi=round_or_none(ratio_or_none(put_oi, call_oi), 4),
        put_call_volume_ratio=round_or_none(ratio_or_none(put_volume, call_volume), 4),
        oi_ratio=round_or_none(ratio_or_none(total_volume, total_oi), 4),
        front_month_iv=round_or_none(front_iv, 4),
        back_month_iv=round_or_none(back_iv, 4),
        iv_term_structure=round_or_none(term, 2),
        iv_term_structure_slope=round_or_none(term / (BACK_DTE - FRONT_DTE) if term is not None else None, 4),
        iv_rank=round_or_none(iv_rank, 2),
        iv_percentile=round_or_none(compute_iv_percentile(average_written, history, params.min_history), 2),
    )

    null_reasons = {
        "average_iv": "no_valid_iv_contracts",
        "iv_rank": rank_gap,
        "put_call_ratio_oi": "no_call_open_interest",
        "oi_ratio": "no_open_interest",
        "iv_skew": "no_valid_iv_calls" if call_leg is None else "no_valid_iv_puts",
        "iv_term_structure": "no_front_month_contracts" if front_iv is None else "no_back_month_contracts",
    }
    missing = [name for name in CORE_METRICS if getattr(metrics, name) is None]
    diagnostics.extend(f"{name}:{null_reasons[name]}" for name in missing)
    if (
        iv_rank is not None
        and average_written is not None
        and history.shape[0]
        and not (history.min() <= average_written <= history.max())
    ):
        diagnostics.append("iv_rank:clamped_outside_history_range")

    processing_status = "PARTIAL" if missing else "SUCCESS"
    n_iv = int(iv.shape[0])
    n_front, n_back = int(np.count_nonzero(front)), int(np.count_nonzero(back))
    if processing_status != "SUCCESS":
        confidence = "low"
    elif n_iv >= HIGH_CONFIDENCE_MIN_IV and min(n_front, n_back) >= HIGH_CONFIDENCE_MIN_WINDOW:
        confidence = "high"
    elif n_iv >= MEDIUM_CONFIDENCE_MIN_IV:
        confidence = "medium"
    else:
        confidence = "low"
    if metrics.average_iv is None:
        status = "INVALID"
    elif processing_status == "SUCCESS" and confidence == "high":
        status = "FULL"
    else:
        status = "LIMITED"

    counts = VolCounts(
        total_contracts=len(chain),
        selected_contracts=len(ratio_chain),
        with_iv_contracts=n_iv,
        call_contracts=int(np.count_nonzero(ratio_chain.is_call)),
        put_contracts=int(np.count_nonzero(ratio_chain.is_put)),
        front_month_contracts=n_front,
        back_month_contracts=n_back,
        total_volume=round(total_volume),
        total_open_interest=round(total_oi),
        iv_out_of_range=sel.iv_out_of_range,
        malformed=sel.malformed,
        expired=sel.expired,
    )
    return _document(
        ctx,
        params,
        status=status,
        processing_status=processing_status,
        confidence=confidence,
        metrics=metrics,
        diagnostics=diagnostics,
        counts=counts,
        history=history,
    )


def smile_and_term_structure(chain: OptionChain) -> dict[str, np.ndarray]:
    """The IVs a volatility chart draws: valid-IV contracts with their strike, DTE and type."""
    sel = select_contracts(chain)
    valid = chain.take(sel.iv_valid)
    return {
        "strike": valid.strike,
        "dte_days": valid.dte_days,
        "iv": valid.implied_volatility,
        "is_call": valid.is_call,
        "open_interest": valid.open_interest,
    }
