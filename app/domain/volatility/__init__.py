"""Volatility metrics for one ticker on one session (SPEC §6).

`compute_volatility` gives the numbers (VolatilityResult); `volatility_document`
writes them as the volatility_metrics_json document; `compute_volatility_metrics`
does both.
"""

from app.domain.volatility.document import compute_volatility_metrics, error_volatility_metrics, volatility_document
from app.domain.volatility.formulas import (
    compute_iv_percentile,
    compute_iv_rank,
    mean_or_none,
    oi_weighted_iv,
    ratio_or_none,
    skew_leg_iv,
)
from app.domain.volatility.result import CORE_METRICS, VolatilityResult, VolMetricsFigures, compute_volatility
from app.domain.volatility.selection import MAX_VALID_IV, VolSelection, select_contracts, usable_iv_contracts

__all__ = [
    "CORE_METRICS",
    "MAX_VALID_IV",
    "VolMetricsFigures",
    "VolSelection",
    "VolatilityResult",
    "compute_iv_percentile",
    "compute_iv_rank",
    "compute_volatility",
    "compute_volatility_metrics",
    "error_volatility_metrics",
    "mean_or_none",
    "oi_weighted_iv",
    "ratio_or_none",
    "select_contracts",
    "skew_leg_iv",
    "usable_iv_contracts",
    "volatility_document",
]
