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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.chain import CONTRACT_MULTIPLIER, BoolArray, FloatArray, OptionChain, usable_iv
from app.domain.dealer.exposure import compute_contract_gex, contract_sign
from app.domain.dealer.sweep import BlackScholesTerms, SpotExposures, Sweep, sweep_levels
from app.domain.grouping import unique_strikes

UNIVERSE = "all_open_interest"
ZERO_GAMMA_METHOD = "bs_spot_sweep_pm20"
NO_ZERO_GAMMA = "no_zero_gamma_in_range"
# (dte_min, dte_max) of the six buckets; the last is open-ended
DTE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 0), (1, 7), (8, 30), (31, 60), (61, 90), (91, None))
_BUCKET_STARTS = np.array([low for low, _ in DTE_BUCKETS[1:]], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class GexBucketFigures:
    dte_min: int
    dte_max: int | None
    gex_net: float
    gex_total: float
    vanna_exposure: float
    charm_exposure: float


@dataclass(frozen=True, slots=True)
class StrikeGex:
    """One option type's §5.2 contract GEX summed per strike (all expirations), strikes ascending;
    `ranking` orders them by |GEX| descending, ties to the strike nearest spot, then the lower (the
    GEX wall comes first; §13.1 picks its strikes from the same order)."""

    strikes: FloatArray
    gex: FloatArray
    ranking: npt.NDArray[np.intp]

    @classmethod
    def ranked(cls, strikes: FloatArray, gex: FloatArray, spot: float) -> StrikeGex:
        return cls(strikes, gex, np.lexsort((strikes, np.abs(strikes - spot), -np.abs(gex))))


@dataclass(frozen=True, slots=True)
class DealerLevelsFigures:
    """§12.1 and §13.2 figures, unrounded (GEX in dollars per 1% move of spot)."""

    spots: FloatArray  # the sweep's levels s
    gamma_profile: FloatArray  # Γ(s) at those levels when swept whole, else empty
    zero_gamma: float | None
    gamma_at_spot: float | None
    call_gex: StrikeGex
    put_gex: StrikeGex
    call_gex_wall: float | None
    put_gex_wall: float | None
    buckets: tuple[GexBucketFigures, ...]
    zero_dte_share: float | None
    dex_net: float | None
    vanna_exposure: float | None
    charm_exposure: float | None
    universe_contracts: int
    contracts_used: int
    left_out_for_iv: int
    left_out_for_gamma: int
    left_out_for_delta: int


def levels_universe(chain: OptionChain) -> BoolArray:
    """§12.1 universe: not malformed, not expired (§3), open interest > 0."""
    return ~chain.malformed & ~chain.expired & (chain.open_interest > 0)


def gex_wall(per_strike: StrikeGex) -> float | None:
    """§12.1 GEX wall of one type: the strike with the largest |GEX| (all expirations summed),
    ties to the strike nearest spot, then the lower strike; None without a contract."""
    if per_strike.strikes.shape[0] == 0:
        return None
    return float(per_strike.strikes[per_strike.ranking[0]])


def bucket_of(dte_days: FloatArray) -> npt.NDArray[np.intp]:
    """Index into DTE_BUCKETS of each DTE (0–0, 1–7, 8–30, 31–60, 61–90, 91+)."""
    return np.searchsorted(_BUCKET_STARTS, dte_days, side="right")


def gex_by_dte(
    width: int,
    inverse: npt.NDArray[np.intp],
    bucket: npt.NDArray[np.intp],
    contract_gex: FloatArray,
    exposures: tuple[npt.NDArray[np.intp], FloatArray, FloatArray] | None,
) -> tuple[GexBucketFigures, ...]:
    """§12.1 net and gross GEX by DTE bucket (gross over each bucket's own strike sums) and §13.2 vanna
    and charm per bucket. `inverse` places each contract among `width` strikes; `exposures` = (bucket,
    vanna, charm) of the contracts with a usable IV."""
    size = len(DTE_BUCKETS)
    per_strike = np.bincount(bucket * width + inverse, weights=contract_gex, minlength=size * width)
    per_strike = per_strike.reshape(size, width)
    net, gross = per_strike.sum(axis=1), np.abs(per_strike).sum(axis=1)
    vanna: list[float] | FloatArray = [0.0] * size
    charm: list[float] | FloatArray = [0.0] * size
    if exposures is not None:
        modelled_bucket, vanna_of, charm_of = exposures
        vanna = np.bincount(modelled_bucket, weights=vanna_of, minlength=size).tolist()
        charm = np.bincount(modelled_bucket, weights=charm_of, minlength=size).tolist()
    return tuple(
        GexBucketFigures(low, high, *figures)
        for (low, high), *figures in zip(DTE_BUCKETS, net.tolist(), gross.tolist(), vanna, charm, strict=True)
    )


def dex_net(sign: FloatArray, delta: FloatArray, oi: FloatArray, spot: float, finite: BoolArray) -> float | None:
    """§12.1 delta exposure, dollars: Σ sign · Δ · OI · 100 · S with the provider's delta and the GEX
    sign convention (`sign`, ±1 per contract), over the contracts with a finite delta; None when none has one."""
    count = int(np.count_nonzero(finite))
    if count == 0:
        return None
    if count < finite.shape[0]:
        kept = finite.nonzero()[0]
        sign, delta, oi = sign.take(kept), delta.take(kept), oi.take(kept)
    return float((sign * delta * oi).sum() * CONTRACT_MULTIPLIER * spot)


def per_type(
    strikes: FloatArray,
    inverse: npt.NDArray[np.intp],
    gex: FloatArray,
    is_call: BoolArray,
    with_gamma: BoolArray,
    spot: float,
) -> tuple[StrikeGex, StrikeGex]:
    """Call and put GEX per strike, each over the strikes where that type has a contract with a finite
    gamma (`gex` is 0 for the others); one bincount per figure, puts and calls side by side."""
    slot = 2 * inverse + is_call
    size = 2 * strikes.shape[0]
    present = (np.bincount(slot, weights=with_gamma, minlength=size) > 0).reshape(-1, 2)
    summed = np.bincount(slot, weights=gex, minlength=size).reshape(-1, 2)
    put, call = present[:, 0], present[:, 1]
    return StrikeGex.ranked(strikes[call], summed[call, 1], spot), StrikeGex.ranked(strikes[put], summed[put, 0], spot)


def empty_buckets() -> tuple[GexBucketFigures, ...]:
    return tuple(GexBucketFigures(low, high, 0.0, 0.0, 0.0, 0.0) for low, high in DTE_BUCKETS)


def _priced_sweep(
    chain: OptionChain, keep: npt.NDArray[np.intp], strike: FloatArray, signed_oi: FloatArray, spot: float
) -> tuple[npt.NDArray[np.intp], Sweep | None]:
    """(the universe's contracts with a usable IV and time to expiry, the Γ(s) sweep over them or None
    without one). The per-contract terms live only as long as this call: the sweep keeps what it needs."""
    vol, years = chain.implied_volatility.take(keep), chain.years_to_expiry.take(keep)
    priced = (usable_iv(vol) & np.isfinite(years)).nonzero()[0]
    if priced.shape[0] == 0:
        return priced, None
    weight = signed_oi.take(priced) * CONTRACT_MULTIPLIER
    terms = BlackScholesTerms.of(strike.take(priced), vol.take(priced), years.take(priced), weight)
    return priced, Sweep(spot, sweep_levels(spot), terms)


def _black_scholes(
    chain: OptionChain, keep: npt.NDArray[np.intp], strike: FloatArray, signed_oi: FloatArray, spot: float, whole: bool
) -> tuple[npt.NDArray[np.intp], tuple[FloatArray, float | None, SpotExposures] | None]:
    """(the contracts with a usable IV and time to expiry, (Γ(s) profile, zero gamma, exposures at spot)
    or None without one). A function of its own so that the sweep's matrices are freed when it returns
    (a large chain's peak of memory stays where the allocator keeps its pages)."""
    priced, sweep = _priced_sweep(chain, keep, strike, signed_oi, spot)
    if sweep is None:
        return priced, None
    profile, zero = sweep.zero_gamma(whole_profile=whole)
    return priced, (profile, zero, sweep.at_spot)


def compute_levels(
    chain: OptionChain,
    spot: float,
    convention: str,
    *,
    whole_profile: bool = False,
    contract_gex: FloatArray | None = None,
) -> DealerLevelsFigures:
    """Every §12.1 and §13.2 figure of a ticker-day with a spot, over the chain's §12.1 universe.

    The universe's columns are taken once; no per-contract work is repeated between the measures.
    `whole_profile` asks for Γ(s) at all 161 levels (a chart draws it); otherwise the sweep stops as
    soon as the crossing nearest spot is known. `contract_gex` is the whole chain's §5.2 contract GEX
    when the caller has it already (§5 uses the same figures).
    """
    if contract_gex is None:
        contract_gex = compute_contract_gex(chain, spot, convention)
    keep = levels_universe(chain).nonzero()[0]  # indices: taking by index is cheaper than a mask
    strike, is_call, oi = chain.strike.take(keep), chain.is_call.take(keep), chain.open_interest.take(keep)
    sign = contract_sign(is_call, convention)
    priced, modelled = _black_scholes(chain, keep, strike, sign * oi, spot, whole_profile)
    used = int(priced.shape[0])
    profile, zero, at = modelled if modelled is not None else (np.empty(0), None, None)
    with_gamma = np.isfinite(chain.gamma.take(keep))
    bucket = bucket_of(chain.dte_days.take(keep))
    # a contract without a finite gamma weighs nothing in the walls and buckets
    gex = np.where(with_gamma, contract_gex.take(keep), 0.0)
    strikes, inverse = unique_strikes(strike)
    call_gex, put_gex = per_type(strikes, inverse, gex, is_call, with_gamma, spot)
    exposures = (bucket.take(priced), at.vanna, at.charm) if at is not None else None
    buckets = gex_by_dte(max(strikes.shape[0], 1), inverse, bucket, gex, exposures)
    gross = sum(b.gex_total for b in buckets)
    delta = chain.delta.take(keep)
    with_delta = np.isfinite(delta)
    return DealerLevelsFigures(
        spots=sweep_levels(spot),
        gamma_profile=profile,
        zero_gamma=zero,
        gamma_at_spot=at.gamma_at_spot if at is not None else None,
        call_gex=call_gex,
        put_gex=put_gex,
        call_gex_wall=gex_wall(call_gex),
        put_gex_wall=gex_wall(put_gex),
        buckets=buckets,
        zero_dte_share=buckets[0].gex_total / gross if gross else None,
        dex_net=dex_net(sign, delta, oi, spot, with_delta),
        vanna_exposure=float(at.vanna.sum()) if at is not None else None,
        charm_exposure=float(at.charm.sum()) if at is not None else None,
        universe_contracts=int(strike.shape[0]),
        contracts_used=used,
        left_out_for_iv=int(strike.shape[0]) - used,
        left_out_for_gamma=int(strike.shape[0]) - int(np.count_nonzero(with_gamma)),
        left_out_for_delta=int(strike.shape[0]) - int(np.count_nonzero(with_delta)),
    )
