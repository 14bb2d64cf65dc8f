"""SPEC §12.1 and §13.2: the market levels public GEX tools publish, over all open interest.

The universe is every contract of the options snapshot that is not expired, not
malformed and has open interest, whatever the liquidity thresholds of §5.1 say:
dealers hold every open contract. Γ(s) is the dealers' total gamma exposure if spot
were s, recomputed with Black–Scholes (r = q = 0) at each contract's own IV and
time to expiry: Γ(s) = Σ sign · γ_BS(s, K, T, σ) · OI · s² · 0.01 · 100, in dollars
per 1% move, on 161 levels from 80% to 120% of spot. Zero gamma is where it changes
sign. Vanna and charm exposures use the same per-contract terms at spot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.chain import CONTRACT_MULTIPLIER, BoolArray, FloatArray, OptionChain, usable_iv
from app.domain.dealer.exposure import compute_contract_gex, contract_sign

UNIVERSE = "all_open_interest"
GRID_START, GRID_STEP, GRID_LEVELS = 0.80, 0.0025, 161
ZERO_GAMMA_METHOD = "bs_spot_sweep_pm20"
NO_ZERO_GAMMA = "no_zero_gamma_in_range"
# (dte_min, dte_max) of the six buckets; the last is open-ended
DTE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 0), (1, 7), (8, 30), (31, 60), (61, 90), (91, None))
_BUCKET_STARTS = np.array([low for low, _ in DTE_BUCKETS[1:]], dtype=np.float64)
_BLOCK = 4096  # contracts per block of the contracts × levels matrix (bounds its memory)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, slots=True)
class DteBucket:
    dte_min: int
    dte_max: int | None
    gex_net: float
    gex_total: float
    vanna_exposure: float
    charm_exposure: float


@dataclass(frozen=True, slots=True)
class StrikeGex:
    """One option type's §5.2 contract GEX summed per strike (all expirations), strikes ascending."""

    strikes: FloatArray
    gex: FloatArray

    @classmethod
    def of(cls, strike: FloatArray, contract_gex: FloatArray) -> StrikeGex:
        strikes, inverse = np.unique(strike, return_inverse=True)
        per_strike = np.bincount(inverse, weights=contract_gex, minlength=strikes.shape[0]).astype(np.float64)
        return cls(strikes, per_strike)


@dataclass(frozen=True, slots=True)
class Levels:
    """§12.1 and §13.2 figures, unrounded (GEX in dollars per 1% move of spot)."""

    spots: FloatArray  # the sweep's levels s
    gamma_profile: FloatArray  # Γ(s) at those levels (empty without usable IVs)
    zero_gamma: float | None
    gamma_at_spot: float | None
    call_gex: StrikeGex
    put_gex: StrikeGex
    call_gex_wall: float | None
    put_gex_wall: float | None
    buckets: tuple[DteBucket, ...]
    zero_dte_share: float | None
    dex_net: float | None
    vanna_exposure: float | None
    charm_exposure: float | None
    universe_contracts: int
    contracts_used: int
    left_out_for_iv: int
    left_out_for_gamma: int
    left_out_for_delta: int


@dataclass(frozen=True, slots=True)
class BlackScholesTerms:
    """Per-contract terms every Black–Scholes measure shares, computed once per chain."""

    log_strikes: FloatArray
    vol: FloatArray
    years: FloatArray
    vol_root_t: FloatArray  # σ√T
    inverse: FloatArray  # 1 / σ√T
    weight: FloatArray  # sign · OI · 100

    @classmethod
    def of(cls, chain: OptionChain, convention: str) -> BlackScholesTerms:
        vol_root_t = chain.implied_volatility * np.sqrt(chain.years_to_expiry)
        return cls(
            log_strikes=np.log(chain.strike),
            vol=chain.implied_volatility,
            years=chain.years_to_expiry,
            vol_root_t=vol_root_t,
            inverse=1.0 / vol_root_t,
            weight=contract_sign(chain.is_call, convention) * chain.open_interest * CONTRACT_MULTIPLIER,
        )


def levels_universe(chain: OptionChain) -> BoolArray:
    """§12.1 universe: not malformed, not expired (§3), open interest > 0."""
    return ~chain.malformed & ~chain.expired & (chain.open_interest > 0)


def sweep_levels(spot: float) -> FloatArray:
    """§12.1 grid: s = S · (0.80 + 0.0025 · i), i = 0 … 160."""
    return spot * (GRID_START + GRID_STEP * np.arange(GRID_LEVELS, dtype=np.float64))


def gamma_exposure_at(spots: FloatArray, terms: BlackScholesTerms) -> FloatArray:
    """Γ(s) for each s of `spots` (dollars per 1% move), over contracts × levels in blocks.

    Γ(s) = s · Σ sign · OI · 100 · 0.01 · φ(d1) / (σ√T): the s² of GEX over the s of γ_BS.
    Computed in place (the exponential itself is a fifth of the cost; temporaries were the
    rest) and summed with einsum's own loop, not BLAS, so a run gives the same bytes every time.
    """
    coefficient = terms.weight * 0.01 * terms.inverse * _INV_SQRT_2PI
    log_spots = np.log(spots)
    total = np.zeros(spots.shape[0])
    for start in range(0, terms.weight.shape[0], _BLOCK):
        block = slice(start, start + _BLOCK)
        d1 = np.subtract.outer(terms.log_strikes[block], log_spots)  # ln K − ln s
        d1 *= -terms.inverse[block, None]
        d1 += 0.5 * terms.vol_root_t[block, None]
        np.square(d1, out=d1)
        d1 *= -0.5
        np.exp(d1, out=d1)  # now φ(d1) · √(2π)
        total += np.einsum("i,ij->j", coefficient[block], d1)
    return total * spots


@dataclass(frozen=True, slots=True)
class SpotExposures:
    """Per-contract §13.2 terms at spot, already signed and weighted (dollars), and Γ(S)."""

    gamma_at_spot: float
    vanna: FloatArray  # sign · vanna · OI · 100 · S · 0.01
    charm: FloatArray  # sign · charm / 365 · OI · 100 · S


def spot_exposures(spot: float, terms: BlackScholesTerms) -> SpotExposures:
    """§12.1 Γ(S) and §13.2 vanna/charm of each contract at spot: vanna = −φ(d1)·d2/σ, charm = φ(d1)·d2/(2T)."""
    d1 = (math.log(spot) - terms.log_strikes) * terms.inverse + 0.5 * terms.vol_root_t
    d2 = d1 - terms.vol_root_t
    density = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    weighted = terms.weight * density * d2  # sign · OI · 100 · φ(d1) · d2
    gamma = spot * float(np.dot(terms.weight * 0.01 * terms.inverse, density))
    return SpotExposures(
        gamma_at_spot=gamma,
        vanna=-weighted / terms.vol * (spot * 0.01),
        charm=weighted / (2.0 * terms.years) * (spot / DAYS_PER_YEAR),
    )


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


def gex_wall(per_strike: StrikeGex, spot: float) -> float | None:
    """§12.1 GEX wall of one type: the strike with the largest |GEX| (all expirations summed),
    ties to the strike nearest spot, then the lower strike; None without a contract."""
    if per_strike.strikes.shape[0] == 0:
        return None
    strikes = per_strike.strikes
    order = np.lexsort((strikes, np.abs(strikes - spot), -np.abs(per_strike.gex)))
    return float(strikes[order[0]])


def bucket_of(dte_days: FloatArray) -> npt.NDArray[np.intp]:
    """Index into DTE_BUCKETS of each DTE (0–0, 1–7, 8–30, 31–60, 61–90, 91+)."""
    return np.searchsorted(_BUCKET_STARTS, dte_days, side="right")


def gex_by_dte(
    strike: FloatArray,
    bucket: npt.NDArray[np.intp],
    contract_gex: FloatArray,
    exposures: tuple[npt.NDArray[np.intp], FloatArray, FloatArray] | None,
) -> tuple[DteBucket, ...]:
    """§12.1 net and gross GEX by DTE bucket (gross over each bucket's own strike sums) and §13.2 vanna
    and charm per bucket; `exposures` = (bucket, vanna, charm) of the contracts with a usable IV."""
    size = len(DTE_BUCKETS)
    strikes, inverse = np.unique(strike, return_inverse=True)
    width = max(strikes.shape[0], 1)
    per_strike = np.bincount(bucket * width + inverse, weights=contract_gex, minlength=size * width)
    per_strike = per_strike.reshape(size, width)
    net, gross = per_strike.sum(axis=1), np.abs(per_strike).sum(axis=1)
    vanna = charm = np.zeros(size)
    if exposures is not None:
        modelled_bucket, vanna_of, charm_of = exposures
        # bincount with weights returns float64; the cast only tells the type checker so.
        vanna = np.bincount(modelled_bucket, weights=vanna_of, minlength=size).astype(np.float64)
        charm = np.bincount(modelled_bucket, weights=charm_of, minlength=size).astype(np.float64)
    return tuple(
        DteBucket(low, high, float(net[i]), float(gross[i]), float(vanna[i]), float(charm[i]))
        for i, (low, high) in enumerate(DTE_BUCKETS)
    )


def dex_net(chain: OptionChain, spot: float, convention: str) -> tuple[float | None, int]:
    """§12.1 delta exposure, dollars: Σ sign · Δ · OI · 100 · S with the provider's delta and the GEX
    sign convention; (None, left out) when no contract has a finite delta."""
    finite = np.isfinite(chain.delta)
    left_out = int(np.count_nonzero(~finite))
    if not np.any(finite):
        return None, left_out
    signed = contract_sign(chain.is_call[finite], convention) * chain.delta[finite] * chain.open_interest[finite]
    return float(signed.sum() * CONTRACT_MULTIPLIER * spot), left_out


def empty_buckets() -> tuple[DteBucket, ...]:
    return tuple(DteBucket(low, high, 0.0, 0.0, 0.0, 0.0) for low, high in DTE_BUCKETS)


def compute_levels(chain: OptionChain, spot: float, convention: str) -> Levels:
    """Every §12.1 and §13.2 figure of a ticker-day with a spot, over the chain's §12.1 universe."""
    universe = chain.take(levels_universe(chain))
    priced = usable_iv(universe.implied_volatility) & np.isfinite(universe.years_to_expiry)
    modelled = universe.take(priced)
    spots = sweep_levels(spot)
    bucket = bucket_of(universe.dte_days)
    profile_gex: FloatArray = np.empty(0)
    zero: float | None = None
    at_spot: float | None = None
    vanna: float | None = None
    charm: float | None = None
    exposures = None
    if len(modelled):
        terms = BlackScholesTerms.of(modelled, convention)
        profile_gex = gamma_exposure_at(spots, terms)
        zero = zero_gamma_crossing(spots, profile_gex, spot)
        at = spot_exposures(spot, terms)
        at_spot, vanna, charm = at.gamma_at_spot, float(at.vanna.sum()), float(at.charm.sum())
        exposures = (bucket[priced], at.vanna, at.charm)
    with_gamma = np.isfinite(universe.gamma)
    gex = compute_contract_gex(universe.take(with_gamma), spot, convention)
    calls, puts = universe.is_call[with_gamma], universe.is_put[with_gamma]
    strike = universe.strike[with_gamma]
    call_gex, put_gex = StrikeGex.of(strike[calls], gex[calls]), StrikeGex.of(strike[puts], gex[puts])
    buckets = gex_by_dte(strike, bucket[with_gamma], gex, exposures)
    gross = sum(b.gex_total for b in buckets)
    dex, no_delta = dex_net(universe, spot, convention)
    return Levels(
        spots=spots,
        gamma_profile=profile_gex,
        zero_gamma=zero,
        gamma_at_spot=at_spot,
        call_gex=call_gex,
        put_gex=put_gex,
        call_gex_wall=gex_wall(call_gex, spot),
        put_gex_wall=gex_wall(put_gex, spot),
        buckets=buckets,
        zero_dte_share=buckets[0].gex_total / gross if gross else None,
        dex_net=dex,
        vanna_exposure=vanna,
        charm_exposure=charm,
        universe_contracts=len(universe),
        contracts_used=len(modelled),
        left_out_for_iv=len(universe) - len(modelled),
        left_out_for_gamma=int(np.count_nonzero(~with_gamma)),
        left_out_for_delta=no_delta,
    )
