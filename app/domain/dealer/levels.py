"""SPEC §12.1: the market levels public GEX tools publish, over the §5.1-eligible contracts.

Γ(s) is the dealers' total gamma exposure if spot were s, recomputed with
Black–Scholes (r = q = 0) at each contract's own IV and time to expiry:
Γ(s) = Σ sign · γ_BS(s, K, T, σ) · OI · s² · 0.01 · 100, in dollars per 1% move,
on 161 levels from 80% to 120% of spot. Zero gamma is where it changes sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.domain.chain import CONTRACT_MULTIPLIER, FloatArray, OptionChain, usable_iv
from app.domain.dealer.exposure import contract_sign

GRID_START, GRID_STEP, GRID_LEVELS = 0.80, 0.0025, 161
ZERO_GAMMA_METHOD = "bs_spot_sweep_pm20"
NO_ZERO_GAMMA = "no_zero_gamma_in_range"
DTE_BUCKETS = ((0, 0), (1, 7), (8, 30), (31, 60), (61, None))  # the last runs to --max-dte-days
_BLOCK = 4096  # contracts per block of the contracts × levels matrix (bounds its memory)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class DteBucket:
    dte_min: int
    dte_max: int
    gex_net: float
    gex_total: float


@dataclass(frozen=True, slots=True)
class Levels:
    """§12.1 figures, unrounded (dollar figures per 1% move of spot)."""

    spots: FloatArray  # the sweep's levels s
    gamma_profile: FloatArray  # Γ(s) at those levels (empty without usable IVs)
    zero_gamma: float | None
    gamma_at_spot: float | None
    call_gex_wall: float | None
    put_gex_wall: float | None
    buckets: tuple[DteBucket, ...]
    dex_net: float | None
    contracts_used: int
    left_out_for_iv: int
    left_out_for_delta: int


def sweep_levels(spot: float) -> FloatArray:
    """§12.1 grid: s = S · (0.80 + 0.0025 · i), i = 0 … 160."""
    return spot * (GRID_START + GRID_STEP * np.arange(GRID_LEVELS, dtype=np.float64))


def gamma_exposure_at(spots: FloatArray, chain: OptionChain, convention: str) -> FloatArray:
    """Γ(s) for each s of `spots` (dollars per 1% move), over contracts × levels in blocks.

    Γ(s) = s · Σ sign · OI · 100 · 0.01 · φ(d1) / (σ√T): the s² of GEX over the s of γ_BS.
    Computed in place (the exponential itself is a fifth of the cost; temporaries were the
    rest) and summed with einsum's own loop, not BLAS, so a run gives the same bytes every time.
    """
    vol_root_t = chain.implied_volatility * np.sqrt(chain.years_to_expiry)
    inverse = 1.0 / vol_root_t
    coefficient = (
        contract_sign(chain.is_call, convention) * chain.open_interest * CONTRACT_MULTIPLIER * 0.01 * inverse
    ) * _INV_SQRT_2PI
    log_spots, log_strikes = np.log(spots), np.log(chain.strike)
    total = np.zeros(spots.shape[0])
    for start in range(0, len(chain), _BLOCK):
        block = slice(start, start + _BLOCK)
        d1 = np.subtract.outer(log_strikes[block], log_spots)  # ln K − ln s
        d1 *= -inverse[block, None]
        d1 += 0.5 * vol_root_t[block, None]
        np.square(d1, out=d1)
        d1 *= -0.5
        np.exp(d1, out=d1)  # now φ(d1) · √(2π)
        total += np.einsum("i,ij->j", coefficient[block], d1)
    return total * spots


def zero_gamma_crossing(spots: FloatArray, gamma: FloatArray, spot: float) -> float | None:
    """§12.1 zero gamma: of the crossings between adjacent levels a, b where Γ(a)·Γ(b) < 0 (or
    Γ(b) = 0 ≠ Γ(a)), at a + (b − a)·|Γ(a)| / |Γ(b) − Γ(a)|, the one nearest spot (the lower on a tie)."""
    a, b = gamma[:-1], gamma[1:]
    crossing = (a * b < 0) | ((b == 0) & (a != 0))
    hits = np.flatnonzero(crossing)
    if hits.size == 0:
        return None
    lo, hi = spots[hits], spots[hits + 1]
    at = lo + (hi - lo) * np.abs(a[hits]) / np.abs(b[hits] - a[hits])
    order = np.lexsort((at, np.abs(at - spot)))  # nearest, then the lower
    return float(at[order[0]])


def gex_wall(strike: FloatArray, contract_gex: FloatArray, spot: float) -> float | None:
    """§12.1 GEX wall of one type's contracts: the strike with the largest |GEX| (all expirations
    summed), ties to the strike nearest spot, then the lower strike; None without a contract."""
    if strike.shape[0] == 0:
        return None
    strikes, inverse = np.unique(strike, return_inverse=True)
    per_strike = np.bincount(inverse, weights=contract_gex, minlength=strikes.shape[0])
    order = np.lexsort((strikes, np.abs(strikes - spot), -np.abs(per_strike)))
    return float(strikes[order[0]])


def gex_by_dte(chain: OptionChain, contract_gex: FloatArray, max_dte: int) -> tuple[DteBucket, ...]:
    """§12.1 net and gross GEX (gross over each bucket's own strike sums, as gex_total) by DTE bucket."""
    buckets = []
    for low, high in DTE_BUCKETS:
        top = max_dte if high is None else high
        members = (chain.dte_days >= low) & (chain.dte_days <= top)
        strikes, inverse = np.unique(chain.strike[members], return_inverse=True)
        per_strike = np.bincount(inverse, weights=contract_gex[members], minlength=strikes.shape[0])
        buckets.append(DteBucket(low, top, float(per_strike.sum()), float(np.abs(per_strike).sum())))
    return tuple(buckets)


def dex_net(chain: OptionChain, spot: float, convention: str) -> tuple[float | None, int]:
    """§12.1 delta exposure, dollars: Σ sign · Δ · OI · 100 · S with the provider's delta and the GEX
    sign convention; (None, left out) when no contract has a finite delta."""
    finite = np.isfinite(chain.delta)
    left_out = int(np.count_nonzero(~finite))
    if not np.any(finite):
        return None, left_out
    signed = contract_sign(chain.is_call[finite], convention) * chain.delta[finite] * chain.open_interest[finite]
    return float(signed.sum() * CONTRACT_MULTIPLIER * spot), left_out


def compute_levels(
    eligible: OptionChain, contract_gex: FloatArray, spot: float, convention: str, max_dte: int
) -> Levels:
    """Every §12.1 figure of a computed dealer result."""
    priced = usable_iv(eligible.implied_volatility) & np.isfinite(eligible.years_to_expiry)
    modelled = eligible.take(priced)
    spots = sweep_levels(spot)
    profile_gex: FloatArray = np.empty(0)
    zero: float | None = None
    at_spot: float | None = None
    if len(modelled):
        # Γ(S) rides along as one more level: the per-contract terms are computed once
        swept = gamma_exposure_at(np.append(spots, spot), modelled, convention)
        profile_gex, at_spot = swept[:-1], float(swept[-1])
        zero = zero_gamma_crossing(spots, profile_gex, spot)
    dex, no_delta = dex_net(eligible, spot, convention)
    return Levels(
        spots=spots,
        gamma_profile=profile_gex,
        zero_gamma=zero,
        gamma_at_spot=at_spot,
        call_gex_wall=gex_wall(eligible.strike[eligible.is_call], contract_gex[eligible.is_call], spot),
        put_gex_wall=gex_wall(eligible.strike[eligible.is_put], contract_gex[eligible.is_put], spot),
        buckets=gex_by_dte(eligible, contract_gex, max_dte),
        dex_net=dex,
        contracts_used=len(modelled),
        left_out_for_iv=len(eligible) - len(modelled),
        left_out_for_delta=no_delta,
    )
