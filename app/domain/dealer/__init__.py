"""Dealer gamma positioning for one ticker on one session (SPEC §5).

`compute_dealer` gives the numbers (DealerResult); `dealer_document` writes them
as the dealer_metrics_json document; `compute_dealer_metrics` does both.
"""

from app.domain.dealer.document import compute_dealer_metrics, dealer_document, error_dealer_metrics
from app.domain.dealer.eligibility import ELIGIBILITY_RULES, Eligibility, compute_eligibility
from app.domain.dealer.exposure import (
    StrikeProfile,
    WallFigures,
    classify_confidence,
    classify_position,
    classify_status,
    compute_contract_gex,
    compute_dgpi,
    compute_gamma_flip,
    compute_gex_slope,
    compute_walls,
)
from app.domain.dealer.result import DealerResult, compute_dealer

__all__ = [
    "ELIGIBILITY_RULES",
    "DealerResult",
    "Eligibility",
    "StrikeProfile",
    "WallFigures",
    "classify_confidence",
    "classify_position",
    "classify_status",
    "compute_contract_gex",
    "compute_dealer",
    "compute_dealer_metrics",
    "compute_dgpi",
    "compute_eligibility",
    "compute_gamma_flip",
    "compute_gex_slope",
    "compute_walls",
    "dealer_document",
    "error_dealer_metrics",
]
