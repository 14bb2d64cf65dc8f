"""SPEC §12.2: at-the-money and 25-delta volatility at constant maturities (30 and 90 days).

IVs are decimals; times are years of 365 days (§3). The contracts are those of
§6.1 with a valid IV. Every expiry is computed at once: no Python loop per expiry or contract.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from app.domain.volatility.expiry_groups import (
    Expiries,
    ExpiryColumns,
    ExpiryCurve,
    ExpiryGroups,
    IntArray,
    expiries_of,
    group_by_expiry,
)

__all__ = [
    "HORIZON_30D",
    "HORIZON_90D",
    "RR_TARGET_DELTA",
    "ConstantMaturity",
    "Expiries",
    "ExpiryCurve",
    "atm_term_structure",
    "constant_maturity",
    "expiries_of",
    "risk_reversal_curve",
    "total_variance_iv",
]

HORIZON_30D = 30 / 365
HORIZON_90D = 90 / 365
RR_TARGET_DELTA = 0.25


def atm_term_structure(chain: ExpiryColumns, spot: float, groups: ExpiryGroups | None = None) -> ExpiryCurve:
    """§12.2 ATM IV of every expiry (with T > 0) that has one: the term structure by expiry.

    Strike IV is the mean of the call's and the put's valid IV at a strike (or the one valid); ATM IV
    is linear in strike between the nearest strikes at or below and at or above spot (a strike
    exactly at spot gives its own IV); an expiry whose strikes do not reach spot on both sides has
    none. All expiries at once over the contracts grouped by expiry, no loop per expiry.
    """
    g = group_by_expiry(chain) if groups is None else groups
    strike, starts = g.strike, g.starts
    if strike.shape[0] == 0:
        return g.curve(np.empty(0, dtype=np.intp), np.empty(0))
    # per expiry, the position of its first strike at or above spot (strikes ascend within an expiry)
    above = starts[:-1] + np.add.reduceat(strike < spot, starts[:-1], dtype=np.intp)
    reaches = above < starts[1:]
    # (expiry, strike) pairs: runs of equal strikes within an expiry; their IV the mean in chain order
    new_pair = np.empty(strike.shape[0], dtype=bool)
    new_pair[0] = False  # the first pair is pair 0
    np.not_equal(strike[1:], strike[:-1], out=new_pair[1:])
    new_pair[starts[1:-1]] = True
    pair = np.add.accumulate(new_pair, dtype=np.intp)
    pair_iv = np.bincount(pair, weights=g.iv) / np.bincount(pair)
    expiry = reaches.nonzero()[0]
    above = above[expiry]
    exact = strike[above] == spot
    has_below = above > starts[expiry]
    keep = exact | has_below
    expiry, above, exact = expiry[keep], above[keep], exact[keep]
    below = np.maximum(above - 1, 0)  # the last strike below spot (unused where exact and none)
    iv_above, iv_below = pair_iv[pair[above]], pair_iv[pair[below]]
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = (spot - strike[below]) / (strike[above] - strike[below])
        between = iv_below + weight * (iv_above - iv_below)
    return g.curve(expiry, np.where(exact, iv_above, between))


def total_variance_iv(curve: ExpiryCurve, horizon_years: float) -> float | None:
    """§12.2 IV at a constant maturity H: between the expiry with the largest T ≤ H and the one with
    the smallest T ≥ H, total variance w = IV²·T linear in T, IV = √(w_H / H). An expiry exactly
    at H gives its own IV; without an expiry on both sides, None (no extrapolation)."""
    years, ivs = curve.years.tolist(), curve.iv.tolist()
    if all(a < b for a, b in itertools.pairwise(years)):  # a curve's expiries ascend: bisections
        first = bisect_right(years, horizon_years) - 1
        second = bisect_left(years, horizon_years)
        if first < 0 or second == len(years):
            return None
    else:
        below = [i for i, t in enumerate(years) if t <= horizon_years]
        above = [i for i, t in enumerate(years) if t >= horizon_years]
        if not below or not above:
            return None
        first = max(below, key=years.__getitem__)  # the first of equal maxima, as np.argmax
        second = min(above, key=years.__getitem__)
    t1, t2, iv1, iv2 = years[first], years[second], ivs[first], ivs[second]
    if t1 == t2:
        return iv1
    w1, w2 = iv1**2 * t1, iv2**2 * t2
    w_h = w1 + (w2 - w1) * (horizon_years - t1) / (t2 - t1)
    return math.sqrt(w_h / horizon_years) if w_h > 0 else None


def risk_reversal_curve(
    chain: ExpiryColumns, spot: float, is_call: bool, groups: ExpiryGroups | None = None
) -> ExpiryCurve:
    """§12.2 one type's 25-delta IV for every expiry that has it (see `risk_reversal_curves`)."""
    calls, puts = risk_reversal_curves(group_by_expiry(chain) if groups is None else groups, spot)
    return calls if is_call else puts


def risk_reversal_curves(groups: ExpiryGroups, spot: float) -> tuple[ExpiryCurve, ExpiryCurve]:
    """§12.2 the calls' and the puts' 25-delta IV for every expiry that has it.

    Per expiry, the out-of-the-money contracts (puts K ≤ S, calls K ≥ S) with a finite delta are
    walked away from spot in strike order; the first adjacent pair whose deltas bracket the target
    (inclusive) gives the IV, linear in delta, and a contract exactly at the target its own IV.
    Both walks at once: the calls by expiry, then the puts (their deltas negated, so both targets are
    +0.25: negation is exact, the interpolated IV the same float); pairs never span two walks or expiries.
    """
    g, expiries = groups, groups.years.shape[0]
    finite = np.isfinite(g.delta)
    calls = (g.is_call & (g.strike >= spot) & finite).nonzero()[0]
    # puts walk down: equal strikes latest first; their expiries come out descending
    puts = (g.is_put & (g.strike <= spot) & finite).nonzero()[0][::-1]
    walk, n_calls = np.concatenate((calls, puts)), calls.shape[0]
    d, v, walk_expiry = g.delta[walk], g.iv[walk], g.expiry[walk]
    np.negative(d[n_calls:], out=d[n_calls:])
    walk_expiry[n_calls:] += expiries  # a put's walk is its own
    target = RR_TARGET_DELTA
    exact = d == target
    brackets = np.zeros(d.shape[0], dtype=bool)
    low, high = np.minimum(d[:-1], d[1:]), np.maximum(d[:-1], d[1:])
    brackets[:-1] = (walk_expiry[:-1] == walk_expiry[1:]) & (low <= target) & (target <= high) & (d[:-1] != d[1:])
    hits = (exact | brackets).nonzero()[0]
    found, i = _first_per_walk(walk_expiry[hits], hits)
    j = np.minimum(i + 1, d.shape[0] - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = v[i] + (target - d[i]) / (d[j] - d[i]) * (v[j] - v[i])
    iv = np.where(exact[i], v[i], between)
    k = int(np.count_nonzero(found < expiries))  # the calls' expiries come first, ascending
    return g.curve(found[:k], iv[:k]), g.curve(found[k:][::-1] - expiries, iv[k:][::-1])


def _first_per_walk(walk_expiry: IntArray, at: IntArray) -> tuple[IntArray, IntArray]:
    """Each run of equal `walk_expiry` (in order) and the `at` of its first entry."""
    if walk_expiry.shape[0] == 0:
        return walk_expiry, at
    first = np.empty(walk_expiry.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(walk_expiry[1:], walk_expiry[:-1], out=first[1:])
    return walk_expiry[first], at[first]


@dataclass(frozen=True, slots=True)
class ConstantMaturity:
    """The §12.2 figures of one ticker-day, unrounded, and why any of them is missing."""

    atm_iv_30d: float | None = None
    atm_iv_90d: float | None = None
    atm_term_structure: float | None = None  # volatility points
    rr25_30d: float | None = None  # volatility points
    diagnostics: tuple[str, ...] = ()
    atm_curve: ExpiryCurve | None = None  # the ATM IV of each expiry (what a term-structure chart draws)


def _gap(curve: ExpiryCurve, horizon_years: float, days: int) -> str:
    if len(curve) == 0:
        return "no_expiry_with_a_value"
    if not np.any(curve.years <= horizon_years):
        return f"no_expiry_within_{days}d"
    return f"no_expiry_beyond_{days}d"


def constant_maturity(usable: ExpiryColumns, spot: float | None) -> ConstantMaturity:
    """§12.2 over the contracts with a valid IV; without a spot everything is null (`no_spot`)."""
    if spot is None:
        return ConstantMaturity(diagnostics=("no_spot",))
    diagnostics = []
    groups = group_by_expiry(usable)
    term = atm_term_structure(usable, spot, groups)
    atm = {}
    for days, horizon in ((30, HORIZON_30D), (90, HORIZON_90D)):
        atm[days] = total_variance_iv(term, horizon)
        if atm[days] is None:
            diagnostics.append(f"atm_iv_{days}d:{_gap(term, horizon, days)}")
    structure = (atm[90] - atm[30]) * 100.0 if atm[30] is not None and atm[90] is not None else None
    if structure is None:
        diagnostics.append("atm_term_structure:needs_atm_iv_30d_and_90d")
    legs = {}
    for side, curve in zip(("calls", "puts"), risk_reversal_curves(groups, spot), strict=True):
        legs[side] = total_variance_iv(curve, HORIZON_30D)
        if legs[side] is None:
            diagnostics.append(f"rr25_30d:{side}_{_gap(curve, HORIZON_30D, 30)}")
    rr = (legs["puts"] - legs["calls"]) * 100.0 if legs["puts"] is not None and legs["calls"] is not None else None
    return ConstantMaturity(atm[30], atm[90], structure, rr, tuple(diagnostics), term)
