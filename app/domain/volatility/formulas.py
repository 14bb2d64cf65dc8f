"""SPEC §6.2: the volatility metrics, one function per formula.

IVs are decimals (0.42 = 42%). Skews and term structure are in volatility
points (× 100). Ratios are plain numbers.
"""

from __future__ import annotations

import math

import numpy as np

from app.domain.chain import FloatArray
from app.domain.models import VolConfidence

SKEW_TARGET_DELTA = 0.25
SKEW_DELTA_TOLERANCE = 0.15
# Deltas are provider decimals; without slack |0.40 − 0.25| = 0.15000000000000002 would miss the tolerance.
_TOLERANCE_SLACK = 1e-9
# Two deltas equally far from ±0.25 differ in float arithmetic by ~1e-17 (0.26 − 0.25 vs 0.25 − 0.24).
_TIE_SLACK = 1e-12
FRONT_DTE, FRONT_HALF_WINDOW = 30, 15
BACK_DTE, BACK_HALF_WINDOW = 90, 30
HIGH_CONFIDENCE_MIN_IV = 40
MEDIUM_CONFIDENCE_MIN_IV = 20
HIGH_CONFIDENCE_MIN_WINDOW = 5


def oi_weighted_iv(iv: FloatArray, open_interest: FloatArray) -> float | None:
    """§6.2 average_iv (decimal): Σ iv·OI / Σ OI; the simple mean when no contract has open interest."""
    if iv.shape[0] == 0:
        return None
    total_oi = float(open_interest.sum())
    if total_oi > 0:
        return float((iv * open_interest).sum() / total_oi)
    return float(iv.mean())


def population_std(values: FloatArray) -> float:
    """values.std() (ddof 0) with numpy's own steps: the pairwise mean, the squared deviations' pairwise
    sum over n, its square root (the same float, without the generic reduction's overhead)."""
    n = values.shape[0]
    deviations = values - values.sum() / n
    return math.sqrt(float((deviations * deviations).sum()) / n)


def mean_or_none(values: FloatArray) -> float | None:
    # values.mean()'s own steps (the pairwise sum over n), without its generic reduction's overhead
    return float(values.sum()) / values.shape[0] if values.shape[0] else None


def ratio_or_none(numerator: float, denominator: float) -> float | None:
    """§6.2 ratios: undefined (None) when the denominator is 0."""
    return numerator / denominator if denominator != 0 else None


def skew_leg_iv(
    iv: FloatArray,
    delta: FloatArray,
    target_delta: float,
    percentile: float,
    dte_days: FloatArray | None = None,
) -> tuple[float | None, bool]:
    """§6.2 iv_skew leg: the IV (decimal) of one type's ~25-delta contract (contracts in strike order).

    Returns (iv, used_fallback). The contract whose delta is nearest the target wins if within
    0.15 of it. Ties (providers round delta to 4 dp) go to the DTE nearest 30, then the lower
    DTE, then the lower strike. Without such a contract, the one at the strike percentile.
    """
    n = iv.shape[0]
    if n == 0:
        return None, False
    distance = np.abs(delta - target_delta)
    best = float(np.fmin.reduce(distance))  # the nearest, NaN ignored (NaN when no delta is finite)
    if best <= SKEW_DELTA_TOLERANCE + _TOLERANCE_SLACK:
        tied = (distance <= best + _TIE_SLACK).nonzero()[0]
        if dte_days is not None and tied.size > 1:
            dte = dte_days[tied]
            # lexsort keys run last-to-first: |DTE − 30|, then DTE, then strike (position)
            tied = tied[np.lexsort((tied, dte, np.abs(dte - FRONT_DTE)))]
        return float(iv[tied[0]]), False
    index = min(n - 1, math.floor(percentile * n)) if n >= 3 else n // 2
    return float(iv[index]), True


def front_and_back_windows(dte_days: FloatArray) -> tuple[np.ndarray, np.ndarray]:
    """§6.2 term-structure windows: |DTE − 30| ≤ 15 (front) and |DTE − 90| ≤ 30 (back), calendar days."""
    return np.abs(dte_days - FRONT_DTE) <= FRONT_HALF_WINDOW, np.abs(dte_days - BACK_DTE) <= BACK_HALF_WINDOW


def term_structure_points(front_iv: float | None, back_iv: float | None) -> float | None:
    """§6.2 iv_term_structure (volatility points): (back-month IV − front-month IV) × 100."""
    if front_iv is None or back_iv is None:
        return None
    return (back_iv - front_iv) * 100.0


def term_structure_slope(term: float | None) -> float | None:
    """§6.2 iv_term_structure_slope (points per day): the term structure over the 60 days between windows."""
    return term / (BACK_DTE - FRONT_DTE) if term is not None else None


def compute_iv_rank(current_iv: float | None, history: FloatArray, min_history: int) -> tuple[float | None, str | None]:
    """§6.2 IV rank (0–100): (IV − min H) / (max H − min H) × 100, clamped; (None, reason) when undefined."""
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
    """§6.2 IV percentile (0–100): share of H at or below the current IV (same history rule as the rank)."""
    if current_iv is None or history.shape[0] < min_history:
        return None
    return float(np.count_nonzero(history <= current_iv)) / history.shape[0] * 100.0


def classify_vol_confidence(success: bool, with_iv: int, front: int, back: int) -> VolConfidence:
    """§6.3 confidence: high with ≥ 40 valid-IV contracts and ≥ 5 in each window; medium with ≥ 20."""
    if not success:
        return "low"
    if with_iv >= HIGH_CONFIDENCE_MIN_IV and min(front, back) >= HIGH_CONFIDENCE_MIN_WINDOW:
        return "high"
    if with_iv >= MEDIUM_CONFIDENCE_MIN_IV:
        return "medium"
    return "low"
