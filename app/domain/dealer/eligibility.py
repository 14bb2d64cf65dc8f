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


def wide_spreads(chain: OptionChain, max_spread_pct: float) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(wide, applicable, priced): where (ask − bid) / mid × 100 exceeds `max_spread_pct` (plus the
    decimal tolerance), where that percentage applies (both quotes present and mid > 0), and where
    both quotes are present."""
    bid, ask = chain.bid, chain.ask
    priced = np.isfinite(bid) & np.isfinite(ask)
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (bid + ask) / 2.0
        applicable = priced & (mid > 0)
        # rows where it does not apply divide by a missing or non-positive mid: masked out
        wide = applicable & ((ask - bid) / mid * 100 > max_spread_pct + SPREAD_PCT_TOLERANCE)
    return wide, applicable, priced


def compute_eligibility(chain: OptionChain, params: DealerParams) -> Eligibility:
    """Apply the seven rules of §5.1 in order; each dropped contract is counted under its first rule."""
    wide, spread_applicable, priced = wide_spreads(chain, params.max_spread_pct)
    oi = chain.open_interest
    failures = (
        chain.malformed,
        chain.expired,
        chain.dte_days > params.max_dte_days,
        ~np.isfinite(chain.gamma),
        # what reaches this rule is not malformed: its open interest is a number >= 0, so "not > 0 or below
        # the minimum" is "below the minimum" unless the minimum is 0
        (oi < params.min_open_interest) if params.min_open_interest > 0 else (oi <= 0),
        chain.volume < params.min_volume,
        wide,
    )
    alive = np.ones(len(chain), dtype=bool)
    remaining = len(chain)
    counts: dict[str, int] = {}
    spread_rule_not_applied = 0
    for name, failing in zip(ELIGIBILITY_RULES, failures, strict=True):
        if name == "wide_spread":
            spread_rule_not_applied = remaining - int(np.count_nonzero(alive & spread_applicable))
        np.greater(alive, failing, out=alive)  # on booleans: alive and not failing
        left = int(np.count_nonzero(alive))
        counts[name], remaining = remaining - left, left
    return Eligibility(
        mask=alive,
        counts=counts,
        negative_gamma_inputs=int(np.count_nonzero(alive & (chain.gamma < 0))),
        spread_rule_not_applied=spread_rule_not_applied,
        pricing_available=bool((alive & priced).any()),
    )
