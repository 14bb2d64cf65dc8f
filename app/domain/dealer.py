"""Dealer gamma positioning for one ticker on one session (SPEC §5).

GEX is in dollars per 1% move of spot: sign * |gamma| * OI * S^2 * 0.01 * 100.
Under the `kapman` convention calls count −1 and puts +1 (dealers short calls,
long puts); `industry` flips both signs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.domain.chain import CONTRACT_MULTIPLIER, BoolArray, FloatArray, OptionChain, malformed_mask
from app.domain.models import (
    Confidence,
    DealerFilterStats,
    DealerMetadata,
    DealerMetrics,
    DealerParams,
    SnapshotContext,
    Wall,
    iso_utc,
)
from app.domain.rounding import round_or_none

ELIGIBILITY_RULES = (
    "malformed",
    "expired",
    "dte_exceeded",
    "missing_gamma",
    "low_open_interest",
    "low_volume",
    "wide_spread",
)
FULL_MIN_ELIGIBLE = 25
DGPI_SLOPE_WEIGHT = 0.01
DGPI_SLOPE_CLAMP = 0.3
DGPI_LIMIT = 100.0
# Quotes are decimals: a spread of exactly 10% of mid computes as 10.000000000000009%.
SPREAD_PCT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Eligibility:
    mask: BoolArray
    counts: dict[str, int]
    negative_gamma_inputs: int
    spread_rule_not_applied: int
    pricing_available: bool


@dataclass(frozen=True, slots=True)
class StrikeProfile:
    """Strike-level GEX of the eligible contracts (what a GEX chart draws)."""

    strikes: FloatArray
    call_gex: FloatArray
    put_gex: FloatArray

    @property
    def net_gex(self) -> FloatArray:
        return self.call_gex + self.put_gex


def compute_eligibility(chain: OptionChain, params: DealerParams) -> Eligibility:
    """Apply the seven rules of §5.1 in order; each dropped contract is counted under its first rule."""
    has_bid = np.isfinite(chain.bid)
    has_ask = np.isfinite(chain.ask)
    priced = has_bid & has_ask
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (chain.bid + chain.ask) / 2.0
        spread_applicable = priced & (mid > 0)
        spread_pct = np.where(spread_applicable, (chain.ask - chain.bid) / np.where(mid > 0, mid, 1.0) * 100, 0.0)
    failures = (
        malformed_mask(chain),
        chain.dte_days < 0,
        chain.dte_days > params.max_dte_days,
        ~np.isfinite(chain.gamma),
        ~((chain.open_interest > 0) & (chain.open_interest >= params.min_open_interest)),
        chain.volume < params.min_volume,
        spread_applicable & (spread_pct > params.max_spread_pct + SPREAD_PCT_TOLERANCE),
    )
    alive = np.ones(len(chain), dtype=bool)
    counts: dict[str, int] = {}
    spread_rule_not_applied = 0
    for name, failing in zip(ELIGIBILITY_RULES, failures, strict=True):
        if name == "wide_spread":
            spread_rule_not_applied = int(np.count_nonzero(alive & ~spread_applicable))
        counts[name] = int(np.count_nonzero(alive & failing))
        alive &= ~failing
    return Eligibility(
        mask=alive,
        counts=counts,
        negative_gamma_inputs=int(np.count_nonzero(alive & (chain.gamma < 0))),
        spread_rule_not_applied=spread_rule_not_applied,
        pricing_available=bool(np.any(alive & priced)),
    )


def contract_sign(is_call: BoolArray, convention: str) -> FloatArray:
    call_sign = -1.0 if convention == "kapman" else 1.0
    return np.where(is_call, call_sign, -call_sign)


def compute_contract_gex(chain: OptionChain, spot: float, convention: str) -> FloatArray:
    """Dollar GEX per 1% move for each contract; gamma is taken as a magnitude."""
    return (
        contract_sign(chain.is_call, convention)
        * np.abs(chain.gamma)
        * chain.open_interest
        * spot
        * spot
        * 0.01
        * CONTRACT_MULTIPLIER
    )


def compute_strike_profile(chain: OptionChain, gex: FloatArray) -> StrikeProfile:
    """Sum contract GEX per strike (all expirations), split by type, strikes ascending."""
    strikes, inverse = np.unique(chain.strike, return_inverse=True)
    size = strikes.shape[0]
    call_gex = np.bincount(inverse, weights=np.where(chain.is_call, gex, 0.0), minlength=size)
    put_gex = np.bincount(inverse, weights=np.where(chain.is_call, 0.0, gex), minlength=size)
    return StrikeProfile(strikes=strikes, call_gex=call_gex, put_gex=put_gex)


def compute_gex_profile(eligible: OptionChain, spot: float, convention: str) -> tuple[FloatArray, StrikeProfile]:
    """Contract GEX of the eligible contracts and its strike profile: the document's sums and a chart's bars."""
    gex = compute_contract_gex(eligible, spot, convention)
    return gex, compute_strike_profile(eligible, gex)


def compute_gamma_flip(strikes: FloatArray, strike_gex: FloatArray) -> float | None:
    """Strike where the running sum of strike GEX first crosses zero, linearly interpolated."""
    if strikes.shape[0] < 2:
        return None
    running = np.cumsum(strike_gex)
    before, after = running[:-1], running[1:]
    crossing = ((before < 0) & (after >= 0)) | ((before > 0) & (after <= 0))
    hits = np.flatnonzero(crossing)
    if hits.size == 0:
        return None
    k = int(hits[0]) + 1
    c_prev, c_k = running[k - 1], running[k]
    return float(strikes[k - 1] + abs(c_prev) / abs(c_k - c_prev) * (strikes[k] - strikes[k - 1]))


def compute_walls(
    strike: FloatArray,
    open_interest: FloatArray,
    gex: FloatArray,
    spot: float,
    max_moneyness: float,
    top_n: int,
) -> list[Wall]:
    """Strikes of one option type ranked by open interest within max moneyness of spot."""
    near = np.abs(strike - spot) / spot <= max_moneyness
    if not np.any(near):
        return []
    strikes, inverse = np.unique(strike[near], return_inverse=True)
    size = strikes.shape[0]
    oi = np.bincount(inverse, weights=open_interest[near], minlength=size)
    wall_gex = np.bincount(inverse, weights=gex[near], minlength=size)
    contracts = np.bincount(inverse, minlength=size)
    distance = np.abs(strikes - spot)
    order = np.lexsort((strikes, distance, -oi))[:top_n]
    return [
        Wall(
            strike=round_or_none(strikes[i], 4),
            open_interest=round(oi[i]),
            gex=round_or_none(wall_gex[i], 2),
            contracts=int(contracts[i]),
            distance_from_spot=round_or_none(strikes[i] - spot, 4),
            moneyness=round_or_none(distance[i] / spot, 6),
        )
        for i in order
    ]


def compute_gex_slope(strikes: FloatArray, strike_gex: FloatArray, spot: float, range_pct: float) -> float | None:
    """(GEX in [S, S(1+r)] − GEX in [S(1−r), S)) / (2 r S); None when the window is empty."""
    half_width = range_pct * spot
    lower_band = (strikes >= spot - half_width) & (strikes < spot)
    upper_band = (strikes >= spot) & (strikes <= spot + half_width)
    if not np.any(lower_band | upper_band):
        return None
    upper = float(strike_gex[upper_band].sum())
    lower = float(strike_gex[lower_band].sum())
    return (upper - lower) / (2.0 * half_width)


def compute_dgpi(gex_net: float, gex_slope_written: float | None, iv_rank: float | None) -> float:
    """Dealer gamma pressure index in [−100, 100]: log-scaled net GEX, tilted by slope and IV rank."""
    base = 0.0 if gex_net == 0 else math.copysign(math.log10(abs(gex_net) + 1.0) * 10.0, gex_net)
    if gex_slope_written:
        base *= 1.0 + min(max(gex_slope_written * DGPI_SLOPE_WEIGHT, -DGPI_SLOPE_CLAMP), DGPI_SLOPE_CLAMP)
    if iv_rank is not None:
        base *= 0.7 + iv_rank / 333.0
    return min(max(base, -DGPI_LIMIT), DGPI_LIMIT)


def classify_position(gex_net: float | None, neutral_threshold: float) -> str:
    if gex_net is None:
        return "unknown"
    if abs(gex_net) < neutral_threshold:
        return "neutral"
    return "long_gamma" if gex_net > 0 else "short_gamma"


def classify_confidence(eligible_count: int, total_open_interest: float) -> Confidence:
    if eligible_count < 5:
        return "invalid"
    if eligible_count >= 10 and total_open_interest >= 1000:
        return "high"
    if eligible_count >= 5:
        return "medium"
    return "low"  # unreachable with the §5.2 thresholds; kept so the table reads as written


def _metadata(
    ctx: SnapshotContext,
    params: DealerParams,
    *,
    eligibility: Eligibility | None,
    strikes_count: int,
    total_open_interest: float,
    iv_rank: float | None,
    diagnostics: list[str],
) -> DealerMetadata:
    counts = eligibility.counts if eligibility else {}
    return DealerMetadata(
        symbol=ctx.symbol,
        ticker_id=str(ctx.ticker_id),
        snapshot_time=iso_utc(ctx.snapshot_time),
        snapshot_date=ctx.snapshot_date.isoformat(),
        model_version=ctx.model_version,
        sign_convention=params.sign_convention,
        params=params.model_dump(),
        overrides=list(ctx.overrides),
        filter_stats=DealerFilterStats(
            **counts,
            negative_gamma_inputs=eligibility.negative_gamma_inputs if eligibility else 0,
            spread_rule_not_applied=eligibility.spread_rule_not_applied if eligibility else 0,
        ),
        pricing_available=eligibility.pricing_available if eligibility else False,
        options_snapshot_age_days=ctx.options_snapshot_age_days,
        strikes_count=strikes_count,
        total_open_interest=round(total_open_interest),
        dgpi_iv_rank=iv_rank,
        diagnostics=diagnostics,
    )


def _invalid(
    ctx: SnapshotContext,
    params: DealerParams,
    *,
    processing_status: str,
    reason: str,
    chain_size: int,
    spot: float | None,
    spot_source: str | None,
    eligibility: Eligibility | None = None,
    total_open_interest: float = 0.0,
    strikes_count: int = 0,
    iv_rank: float | None = None,
    diagnostics: list[str] | None = None,
    failure_reason: str | None = None,
) -> DealerMetrics:
    return DealerMetrics(
        status="INVALID",
        status_reason=reason,
        processing_status=processing_status,
        failure_reason=failure_reason,
        confidence="invalid",
        position="unknown",
        spot_price=spot,
        spot_price_source=spot_source if spot is not None else None,
        options_snapshot_time=iso_utc(ctx.options_snapshot_time),
        eligible_options_count=int(np.count_nonzero(eligibility.mask)) if eligibility else 0,
        total_options_count=chain_size,
        gex_total=None,
        gex_net=None,
        gamma_flip=None,
        gex_slope=None,
        dgpi=None,
        call_walls=[],
        put_walls=[],
        primary_call_wall=None,
        primary_put_wall=None,
        metadata=_metadata(
            ctx,
            params,
            eligibility=eligibility,
            strikes_count=strikes_count,
            total_open_interest=total_open_interest,
            iv_rank=iv_rank,
            diagnostics=diagnostics or [reason],
        ),
    )


def error_dealer_metrics(
    ctx: SnapshotContext, params: DealerParams, failure_reason: str, chain_size: int = 0
) -> DealerMetrics:
    """The document of a ticker-day whose computation or loading failed."""
    return _invalid(
        ctx,
        params,
        processing_status="ERROR",
        reason="computation_error",
        chain_size=chain_size,
        spot=None,
        spot_source=None,
        failure_reason=failure_reason,
        diagnostics=["computation_error"],
    )


def _usable_spot(spot: float | None) -> float | None:
    if spot is None or not math.isfinite(spot) or spot <= 0:
        return None
    return float(spot)


def compute_dealer_metrics(
    chain: OptionChain | None,
    spot: float | None,
    params: DealerParams,
    ctx: SnapshotContext,
    *,
    spot_source: str | None = "ohlcv_close",
    iv_rank: float | None = None,
) -> DealerMetrics:
    """Dealer metrics document for one ticker-day.

    `chain` is None when there is no options snapshot at or before the cut-off.
    Degenerate inputs give an INVALID document with a reason, never NaN.
    """
    diagnostics: list[str] = []
    if ctx.options_snapshot_age_days is not None and ctx.options_snapshot_age_days > params.stale_after_days:
        diagnostics.append("stale_options_snapshot")
    usable_spot = _usable_spot(spot)
    written_spot = round_or_none(usable_spot, 4)
    if chain is None or len(chain) == 0:
        reason = "no_options_snapshot" if chain is None else "empty_options_snapshot"
        return _invalid(
            ctx,
            params,
            processing_status="NO_OPTIONS",
            reason=reason,
            chain_size=0,
            spot=written_spot,
            spot_source=spot_source,
            iv_rank=iv_rank,
            diagnostics=[*diagnostics, reason],
        )

    eligibility = compute_eligibility(chain, params)
    eligible = chain.take(eligibility.mask)
    n_eligible = len(eligible)
    total_oi = float(eligible.open_interest.sum())
    strikes_count = int(np.unique(eligible.strike).shape[0])
    common = dict(
        chain_size=len(chain),
        eligibility=eligibility,
        total_open_interest=total_oi,
        strikes_count=strikes_count,
        iv_rank=iv_rank,
    )

    if usable_spot is None:
        return _invalid(
            ctx,
            params,
            processing_status="MISSING_SPOT",
            reason="missing_spot",
            spot=None,
            spot_source=None,
            diagnostics=[*diagnostics, "missing_spot"],
            **common,
        )
    if n_eligible == 0:
        return _invalid(
            ctx,
            params,
            processing_status="NO_ELIGIBLE_OPTIONS",
            reason="no_eligible_options",
            spot=written_spot,
            spot_source=spot_source,
            diagnostics=[*diagnostics, "no_eligible_options"],
            **common,
        )

    gex, profile = compute_gex_profile(eligible, usable_spot, params.sign_convention)
    strike_gex = profile.net_gex
    gex_total = float(np.abs(strike_gex).sum())
    gex_net = float(strike_gex.sum())
    flip = compute_gamma_flip(profile.strikes, strike_gex)
    slope = compute_gex_slope(profile.strikes, strike_gex, usable_spot, params.gex_slope_range_pct)
    if slope is None:
        slope = 0.0
        diagnostics.append("no_strikes_in_slope_window")
    slope_written = round_or_none(slope, 4)
    dgpi = compute_dgpi(gex_net, slope_written, iv_rank)

    if flip is None:
        diagnostics.append("no_gamma_flip")
    if usable_spot < profile.strikes[0] or usable_spot > profile.strikes[-1]:
        diagnostics.append("spot_outside_strike_range")
    if eligibility.negative_gamma_inputs:
        diagnostics.append("negative_gamma_inputs")
    if not eligibility.pricing_available:
        diagnostics.append("pricing_unavailable")

    walls = {}
    for name, is_type in (("call", eligible.is_call), ("put", eligible.is_put)):
        walls[name] = compute_walls(
            eligible.strike[is_type],
            eligible.open_interest[is_type],
            gex[is_type],
            usable_spot,
            params.max_moneyness,
            params.walls_top_n,
        )
        if not walls[name]:
            diagnostics.append(f"no_{name}_walls_within_moneyness")

    confidence = classify_confidence(n_eligible, total_oi)
    if gex_total == 0:
        status, reason = "INVALID", "zero_gex_total"
    elif confidence == "invalid":
        status, reason = "INVALID", f"confidence_invalid(eligible={n_eligible}<5)"
    elif n_eligible >= FULL_MIN_ELIGIBLE and confidence == "high":
        status, reason = "FULL", "eligible>=25_and_confidence_high"
    elif n_eligible < FULL_MIN_ELIGIBLE:
        status, reason = "LIMITED", f"eligible({n_eligible})<25"
    else:
        status, reason = "LIMITED", f"confidence_{confidence}"

    return DealerMetrics(
        status=status,
        status_reason=reason,
        processing_status="SUCCESS",
        failure_reason=None,
        confidence=confidence,
        position=classify_position(gex_net, params.neutral_gex_threshold),
        spot_price=written_spot,
        spot_price_source=spot_source,
        options_snapshot_time=iso_utc(ctx.options_snapshot_time),
        eligible_options_count=n_eligible,
        total_options_count=len(chain),
        gex_total=round_or_none(gex_total, 2),
        gex_net=round_or_none(gex_net, 2),
        gamma_flip=round_or_none(flip, 2),
        gex_slope=slope_written,
        dgpi=round_or_none(dgpi, 2),
        call_walls=walls["call"],
        put_walls=walls["put"],
        primary_call_wall=walls["call"][0] if walls["call"] else None,
        primary_put_wall=walls["put"][0] if walls["put"] else None,
        metadata=_metadata(
            ctx,
            params,
            eligibility=eligibility,
            strikes_count=strikes_count,
            total_open_interest=total_oi,
            iv_rank=iv_rank,
            diagnostics=diagnostics,
        ),
    )
