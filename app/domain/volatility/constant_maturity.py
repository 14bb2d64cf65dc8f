"""SPEC §12.2: at-the-money and 25-delta volatility at constant maturities (30 and 90 days).

IVs are decimals; times are years of 365 days (§3). The contracts are those of
§6.1 with a valid IV. Every expiry is computed at once: no Python loop per expiry or contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.chain import FloatArray, OptionChain
from app.domain.grouping import dense_unique, is_ascending, small_ints, stable_order, unique_first, unique_strikes

HORIZON_30D = 30 / 365
HORIZON_90D = 90 / 365
RR_TARGET_DELTA = 0.25


@dataclass(frozen=True, slots=True)
class ExpiryCurve:
    """One value per expiry (e.g. its ATM IV), ascending in T: T in years, the expiry's DTE, IV (decimal)."""

    years: FloatArray
    dte_days: FloatArray
    iv: FloatArray

    def __len__(self) -> int:
        return int(self.years.shape[0])


@dataclass(frozen=True, slots=True)
class Expiries:
    """Each contract's expiry (index into `years`, −1 when T is unknown or not > 0), in time order."""

    of_contract: npt.NDArray[np.intp]
    years: FloatArray
    dte_days: FloatArray

    def curve(self, expiry: npt.NDArray[np.intp], iv: FloatArray) -> ExpiryCurve:
        """The values `iv` of the expiries `expiry` (ascending indices)."""
        return ExpiryCurve(self.years[expiry], self.dte_days[expiry], np.asarray(iv, dtype=np.float64))


def expiries_of(chain: OptionChain) -> Expiries:
    """The expiries of a chain with T > 0, ascending, and each contract's (−1: none)."""
    years = chain.years_to_expiry
    live = np.flatnonzero(np.isfinite(years) & (years > 0))
    by_dte = _expiries_by_dte(years[live], chain.dte_days[live])
    if by_dte is None:
        distinct, first, inverse = np.unique(years[live], return_index=True, return_inverse=True)
        by_dte = distinct, chain.dte_days[live][first], inverse
    of_contract = np.full(len(chain), -1, dtype=np.intp)
    of_contract[live] = by_dte[2]
    return Expiries(of_contract, by_dte[0], by_dte[1])


def _expiries_by_dte(years: FloatArray, dte: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]] | None:
    """What np.unique(years) gives (distinct T, the DTE of each, each contract's index), found from the
    whole-day DTEs without a sort; None unless T is one strictly increasing function of DTE."""
    days = small_ints(dte)
    if days is None or days.shape[0] == 0:
        return None
    distinct_days, inverse = dense_unique(days, int(days.max()) + 1)
    distinct = np.empty(distinct_days.shape[0])
    distinct[inverse] = years
    if not (np.all(distinct[1:] > distinct[:-1]) and np.array_equal(distinct[inverse], years)):
        return None
    return distinct, distinct_days.astype(np.float64), inverse


def atm_term_structure(chain: OptionChain, spot: float, expiries: Expiries | None = None) -> ExpiryCurve:
    """§12.2 ATM IV of every expiry (with T > 0) that has one: the term structure by expiry.

    Strike IV is the mean of the call's and the put's valid IV at a strike (or the one valid); ATM IV
    is linear in strike between the nearest strikes at or below and at or above spot (a strike
    exactly at spot gives its own IV); an expiry whose strikes do not reach spot on both sides has
    none. All expiries at once: one sort over (expiry, strike), no loop per expiry.
    """
    expiries = expiries_of(chain) if expiries is None else expiries
    live = expiries.of_contract >= 0
    if not np.any(live):
        return expiries.curve(np.empty(0, dtype=np.intp), np.empty(0))
    strikes, strike_rank = unique_strikes(chain.strike[live])
    width = strikes.shape[0]
    pairs, inverse = dense_unique(expiries.of_contract[live] * width + strike_rank, expiries.years.shape[0] * width)
    pair_iv = np.bincount(inverse, weights=chain.implied_volatility[live]) / np.bincount(inverse)
    pair_expiry, pair_strike = pairs // width, strikes[pairs % width]
    expiry = np.arange(expiries.years.shape[0])
    # per expiry, its first (expiry, strike) pair with a strike at or above spot
    above = np.searchsorted(pairs, expiry * width + np.searchsorted(strikes, spot, side="left"), side="left")
    reaches = (above < pairs.shape[0]) & (pair_expiry[np.minimum(above, pairs.shape[0] - 1)] == expiry)
    expiry, above = expiry[reaches], above[reaches]
    exact = pair_strike[above] == spot
    below = above - 1
    has_below = (below >= 0) & (pair_expiry[np.maximum(below, 0)] == expiry)
    keep = exact | has_below
    expiry, above, below, exact = expiry[keep], above[keep], np.maximum(below[keep], 0), exact[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = (spot - pair_strike[below]) / (pair_strike[above] - pair_strike[below])
        between = pair_iv[below] + weight * (pair_iv[above] - pair_iv[below])
    return expiries.curve(expiry, np.where(exact, pair_iv[above], between))


def total_variance_iv(curve: ExpiryCurve, horizon_years: float) -> float | None:
    """§12.2 IV at a constant maturity H: between the expiry with the largest T ≤ H and the one with
    the smallest T ≥ H, total variance w = IV²·T linear in T, IV = √(w_H / H). An expiry exactly
    at H gives its own IV; without an expiry on both sides, None (no extrapolation)."""
    years = curve.years
    if years.shape[0] and np.all(years[1:] > years[:-1]):  # a curve's expiries ascend: two bisections
        first = int(np.searchsorted(years, horizon_years, side="right")) - 1
        second = int(np.searchsorted(years, horizon_years, side="left"))
        if first < 0 or second == years.shape[0]:
            return None
    else:
        below = np.flatnonzero(years <= horizon_years)
        above = np.flatnonzero(years >= horizon_years)
        if below.size == 0 or above.size == 0:
            return None
        first = int(below[np.argmax(years[below])])
        second = int(above[np.argmin(years[above])])
    t1, t2, iv1, iv2 = (float(x) for x in (years[first], years[second], curve.iv[first], curve.iv[second]))
    if t1 == t2:
        return iv1
    w1, w2 = iv1**2 * t1, iv2**2 * t2
    w_h = w1 + (w2 - w1) * (horizon_years - t1) / (t2 - t1)
    return math.sqrt(w_h / horizon_years) if w_h > 0 else None


def risk_reversal_curve(
    chain: OptionChain, spot: float, is_call: bool, expiries: Expiries | None = None
) -> ExpiryCurve:
    """§12.2 one type's 25-delta IV for every expiry that has it.

    Per expiry, the out-of-the-money contracts (puts K ≤ S, calls K ≥ S) with a finite delta are
    walked away from spot in strike order; the first adjacent pair whose deltas bracket the target
    (inclusive) gives the IV, linear in delta, and a contract exactly at the target its own IV.
    All expiries at once: one sort by (expiry, walk order), pairs never span two expiries.
    """
    target = RR_TARGET_DELTA if is_call else -RR_TARGET_DELTA
    expiries = expiries_of(chain) if expiries is None else expiries
    otm = (chain.strike >= spot) if is_call else (chain.strike <= spot)
    of_type = chain.is_call if is_call else chain.is_put
    index = np.flatnonzero((expiries.of_contract >= 0) & of_type & otm & np.isfinite(chain.delta))
    expiry, strike = expiries.of_contract[index], chain.strike[index]
    index, expiry = _walk_order(index, strike, expiry, is_call)
    d, v = chain.delta[index], chain.implied_volatility[index]
    exact = d == target
    brackets = np.zeros(d.shape[0], dtype=bool)
    low, high = np.minimum(d[:-1], d[1:]), np.maximum(d[:-1], d[1:])
    brackets[:-1] = (expiry[:-1] == expiry[1:]) & (low <= target) & (target <= high) & (d[:-1] != d[1:])
    hits = np.flatnonzero(exact | brackets)
    found, first = unique_first(expiry[hits])
    i = hits[first]
    j = np.minimum(i + 1, d.shape[0] - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = v[i] + (target - d[i]) / (d[j] - d[i]) * (v[j] - v[i])
    return expiries.curve(found, np.where(exact[i], v[i], between))


def _walk_order(
    index: npt.NDArray[np.intp], strike: FloatArray, expiry: npt.NDArray[np.intp], is_call: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(index, expiry) by expiry, then calls upwards from spot and puts downwards (equal strikes:
    calls in chain order, puts latest first). Strikes already ascend in chain order, so one stable
    pass by expiry does it (over the reversed contracts for puts)."""
    if not is_ascending(strike):
        order = np.lexsort((index, strike, expiry)) if is_call else np.lexsort((-index, -strike, expiry))
        return index[order], expiry[order]
    if not is_call:
        index, expiry = index[::-1], expiry[::-1]
    order = stable_order(expiry)
    return index[order], expiry[order]


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


def constant_maturity(usable: OptionChain, spot: float | None) -> ConstantMaturity:
    """§12.2 over the contracts with a valid IV; without a spot everything is null (`no_spot`)."""
    if spot is None:
        return ConstantMaturity(diagnostics=("no_spot",))
    diagnostics = []
    expiries = expiries_of(usable)
    term = atm_term_structure(usable, spot, expiries)
    atm = {}
    for days, horizon in ((30, HORIZON_30D), (90, HORIZON_90D)):
        atm[days] = total_variance_iv(term, horizon)
        if atm[days] is None:
            diagnostics.append(f"atm_iv_{days}d:{_gap(term, horizon, days)}")
    structure = (atm[90] - atm[30]) * 100.0 if atm[30] is not None and atm[90] is not None else None
    if structure is None:
        diagnostics.append("atm_term_structure:needs_atm_iv_30d_and_90d")
    legs = {}
    for side, is_call in (("calls", True), ("puts", False)):
        curve = risk_reversal_curve(usable, spot, is_call, expiries)
        legs[side] = total_variance_iv(curve, HORIZON_30D)
        if legs[side] is None:
            diagnostics.append(f"rr25_30d:{side}_{_gap(curve, HORIZON_30D, 30)}")
    rr = (legs["puts"] - legs["calls"]) * 100.0 if legs["puts"] is not None and legs["calls"] is not None else None
    return ConstantMaturity(atm[30], atm[90], structure, rr, tuple(diagnostics), term)
