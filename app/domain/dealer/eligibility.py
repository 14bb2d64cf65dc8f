"""SPEC §5.1: which contracts of an options snapshot enter the dealer metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.domain.chain import BoolArray, OptionChain
from app.domain.models import DealerParams

ELIGIBILITY_RULES = (
    "malformed",
    "expired",
    "dte_exceeded",
    "missing_gamma",
    "low_open_interest",
    "low_volume",
    "wide_spread",
)
# Quotes are decimals: a spread of exactly 10% of mid computes as 10.000000000000009%.
SPREAD_PCT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Eligibility:
    mask: BoolArray
    counts: dict[str, int]  # contracts dropped, by the first rule they failed
    negative_gamma_inputs: int  # eligible contracts whose provider gamma is negative (used as |gamma|)
    spread_rule_not_applied: int  # contracts that reached the spread rule without two usable quotes
    pricing_available: bool  # some eligible contract had both bid and ask

    @property
    def eligible_count(self) -> int:
        return int(np.count_nonzero(self.mask))


def spread_pct(chain: OptionChain) -> tuple[np.ndarray, BoolArray]:
    """(ask − bid) / mid × 100 per contract, and where it applies: both quotes present and mid > 0."""
    priced = np.isfinite(chain.bid) & np.isfinite(chain.ask)
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (chain.bid + chain.ask) / 2.0
        applicable = priced & (mid > 0)
        pct = np.where(applicable, (chain.ask - chain.bid) / np.where(mid > 0, mid, 1.0) * 100, 0.0)
    return pct, applicable


def compute_eligibility(chain: OptionChain, params: DealerParams) -> Eligibility:
    """Apply the seven rules of §5.1 in order; each dropped contract is counted under its first rule."""
    pct, spread_applicable = spread_pct(chain)
    failures = (
        chain.malformed,
        chain.expired,
        chain.dte_days > params.max_dte_days,
        ~np.isfinite(chain.gamma),
        ~((chain.open_interest > 0) & (chain.open_interest >= params.min_open_interest)),
        chain.volume < params.min_volume,
        spread_applicable & (pct > params.max_spread_pct + SPREAD_PCT_TOLERANCE),
    )
    alive = np.ones(len(chain), dtype=bool)
    counts: dict[str, int] = {}
    spread_rule_not_applied = 0
    for name, failing in zip(ELIGIBILITY_RULES, failures, strict=True):
        if name == "wide_spread":
            spread_rule_not_applied = int(np.count_nonzero(alive & ~spread_applicable))
        counts[name] = int(np.count_nonzero(alive & failing))
        alive &= ~failing
    priced = np.isfinite(chain.bid) & np.isfinite(chain.ask)
    return Eligibility(
        mask=alive,
        counts=counts,
        negative_gamma_inputs=int(np.count_nonzero(alive & (chain.gamma < 0))),
        spread_rule_not_applied=spread_rule_not_applied,
        pricing_available=bool(np.any(alive & priced)),
    )
