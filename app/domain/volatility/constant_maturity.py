"""SPEC §12.2: at-the-money and 25-delta volatility at constant maturities (30 and 90 days).

IVs are decimals; times are years of 365 days (§3). The contracts are those of
§6.1 with a valid IV. Everything is per expiry (a few dozen), never per contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.domain.chain import FloatArray, OptionChain

HORIZON_30D = 30 / 365
HORIZON_90D = 90 / 365
RR_TARGET_DELTA = 0.25


@dataclass(frozen=True, slots=True)
class ExpiryPoint:
    """One expiry's volatility at a point of its smile: T in years, the expiry's DTE, IV (decimal)."""

    years: float
    dte_days: float
    iv: float


def strike_ivs(strike: FloatArray, iv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """§12.2 strike IV of one expiry: the mean of the call's and the put's valid IV at each strike
    (or the one valid). Returns (strikes ascending, IVs)."""
    strikes, inverse = np.unique(strike, return_inverse=True)
    sums = np.bincount(inverse, weights=iv, minlength=strikes.shape[0])
    counts = np.bincount(inverse, minlength=strikes.shape[0])
    return strikes, sums / counts


def atm_iv(strikes: FloatArray, ivs: FloatArray, spot: float) -> float | None:
    """§12.2 ATM IV of one expiry: linear in strike between the nearest strikes at or below and at or
    above spot (a strike exactly at spot gives its own IV); None when spot is outside the strikes."""
    if strikes.shape[0] == 0 or spot < strikes[0] or spot > strikes[-1]:
        return None
    above = int(np.searchsorted(strikes, spot, side="left"))
    if strikes[above] == spot:
        return float(ivs[above])
    below = above - 1
    weight = (spot - strikes[below]) / (strikes[above] - strikes[below])
    return float(ivs[below] + weight * (ivs[above] - ivs[below]))


def _expiries(chain: OptionChain) -> list[tuple[float, float, np.ndarray]]:
    """(T, DTE, member mask) of each expiry with T > 0, in time order."""
    years = chain.years_to_expiry
    distinct = np.unique(years[np.isfinite(years) & (years > 0)])
    return [(float(t), float(chain.dte_days[years == t][0]), years == t) for t in distinct]


def atm_term_structure(chain: OptionChain, spot: float) -> list[ExpiryPoint]:
    """§12.2 ATM IV of every expiry (with T > 0) that has one: the term structure by expiry."""
    points = []
    for years, dte, members in _expiries(chain):
        strikes, ivs = strike_ivs(chain.strike[members], chain.implied_volatility[members])
        value = atm_iv(strikes, ivs, spot)
        if value is not None:
            points.append(ExpiryPoint(years, dte, value))
    return points


def total_variance_iv(points: list[ExpiryPoint], horizon_years: float) -> float | None:
    """§12.2 IV at a constant maturity H: between the expiry with the largest T ≤ H and the one with
    the smallest T ≥ H, total variance w = IV²·T linear in T, IV = √(w_H / H). An expiry exactly
    at H gives its own IV; without an expiry on both sides, None (no extrapolation)."""
    below = [p for p in points if p.years <= horizon_years]
    above = [p for p in points if p.years >= horizon_years]
    if not below or not above:
        return None
    first = max(below, key=lambda p: p.years)
    second = min(above, key=lambda p: p.years)
    if first.years == second.years:
        return first.iv
    w1, w2 = first.iv**2 * first.years, second.iv**2 * second.years
    w_h = w1 + (w2 - w1) * (horizon_years - first.years) / (second.years - first.years)
    return math.sqrt(w_h / horizon_years) if w_h > 0 else None


def delta_interpolated_iv(
    strike: FloatArray, delta: FloatArray, iv: FloatArray, spot: float, is_call: bool, target: float
) -> float | None:
    """§12.2 one type's IV at `target` delta for one expiry: out-of-the-money contracts (puts K ≤ S,
    calls K ≥ S) with a finite delta, walked away from spot in strike order; the first adjacent
    pair whose deltas bracket the target (inclusive) gives the IV, linear in delta."""
    usable = np.isfinite(delta) & ((strike >= spot) if is_call else (strike <= spot))
    order = np.argsort(strike[usable], kind="stable")
    if not is_call:
        order = order[::-1]  # puts: from the strike nearest spot downwards
    d, v = delta[usable][order], iv[usable][order]
    exact = d == target
    low, high = np.minimum(d[:-1], d[1:]), np.maximum(d[:-1], d[1:])
    brackets = np.zeros(d.shape[0], dtype=bool)
    brackets[:-1] = (low <= target) & (target <= high) & (d[:-1] != d[1:])
    hits = np.flatnonzero(exact | brackets)
    if hits.size == 0:
        return None
    i = int(hits[0])
    if exact[i]:
        return float(v[i])
    return float(v[i] + (target - d[i]) / (d[i + 1] - d[i]) * (v[i + 1] - v[i]))


def risk_reversal_points(chain: OptionChain, spot: float, is_call: bool) -> list[ExpiryPoint]:
    """The 25-delta IV of one type for every expiry that has it."""
    target = RR_TARGET_DELTA if is_call else -RR_TARGET_DELTA
    points = []
    for years, dte, members in _expiries(chain):
        of_type = members & (chain.is_call if is_call else chain.is_put)
        value = delta_interpolated_iv(
            chain.strike[of_type], chain.delta[of_type], chain.implied_volatility[of_type], spot, is_call, target
        )
        if value is not None:
            points.append(ExpiryPoint(years, dte, value))
    return points


@dataclass(frozen=True, slots=True)
class ConstantMaturity:
    """The §12.2 figures of one ticker-day, unrounded, and why any of them is missing."""

    atm_iv_30d: float | None = None
    atm_iv_90d: float | None = None
    atm_term_structure: float | None = None  # volatility points
    rr25_30d: float | None = None  # volatility points
    diagnostics: tuple[str, ...] = ()


def _gap(points: list[ExpiryPoint], horizon_years: float, days: int) -> str:
    if not points:
        return "no_expiry_with_a_value"
    if not any(p.years <= horizon_years for p in points):
        return f"no_expiry_within_{days}d"
    return f"no_expiry_beyond_{days}d"


def constant_maturity(usable: OptionChain, spot: float | None) -> ConstantMaturity:
    """§12.2 over the contracts with a valid IV; without a spot everything is null (`no_spot`)."""
    if spot is None:
        return ConstantMaturity(diagnostics=("no_spot",))
    diagnostics = []
    term = atm_term_structure(usable, spot)
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
        points = risk_reversal_points(usable, spot, is_call)
        legs[side] = total_variance_iv(points, HORIZON_30D)
        if legs[side] is None:
            diagnostics.append(f"rr25_30d:{side}_{_gap(points, HORIZON_30D, 30)}")
    rr = (legs["puts"] - legs["calls"]) * 100.0 if legs["puts"] is not None and legs["calls"] is not None else None
    return ConstantMaturity(atm[30], atm[90], structure, rr, tuple(diagnostics))
