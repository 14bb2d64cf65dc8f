"""`compute_dealer`: the numbers of SPEC §5 for one ticker-day, unrounded (no document yet)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from app.domain.chain import FloatArray, OptionChain
from app.domain.dealer.changes import DealerChangesFigures, compute_changes
from app.domain.dealer.eligibility import Eligibility, compute_eligibility
from app.domain.dealer.exposure import (
    StrikeProfile,
    StrikeSums,
    WallFigures,
    classify_confidence,
    classify_position,
    classify_status,
    compute_contract_gex,
    compute_dgpi,
    compute_gamma_flip,
    compute_gex_slope,
)
from app.domain.dealer.levels import NO_ZERO_GAMMA, DealerLevelsFigures, compute_levels
from app.domain.dealer.positioning import UNKNOWN_POSITIONING, DealerPositioningFigures, compute_positioning
from app.domain.envelope import missing_chain_reason
from app.domain.grouping import unique_strikes
from app.domain.models import Confidence, DealerParams, DealerProcessingStatus, Position, Status
from app.domain.previous import DealerSnapshot, PreviousDealer
from app.domain.rounding import round_or_none

NO_USABLE_IV = "no_usable_iv_for_levels"
NO_CHANGES = DealerChangesFigures()


@dataclass(frozen=True, slots=True)
class DealerResult:
    """Everything §5 computes for one ticker-day. Dollar figures are per 1% move of spot.

    `processing_status` is SUCCESS when the figures exist; otherwise `reason` says why not
    (no_options_snapshot, empty_options_snapshot, missing_spot, no_eligible_options) and the
    figures are None. The eligibility is reported whenever a chain was read.
    """

    params: DealerParams
    processing_status: DealerProcessingStatus
    reason: str
    chain_size: int
    spot: float | None
    iv_rank: float | None
    eligibility: Eligibility | None = None
    contract_gex: FloatArray | None = None  # of the eligible contracts, in chain order
    profile: StrikeProfile | None = None
    total_open_interest: float = 0.0
    strikes_count: int = 0
    gex_total: float | None = None
    gex_net: float | None = None
    gamma_flip: float | None = None
    gex_slope: float | None = None  # as written (4 dp): DGPI uses this value
    dgpi: float | None = None
    call_walls: tuple[WallFigures, ...] = ()
    put_walls: tuple[WallFigures, ...] = ()
    confidence: Confidence = "invalid"
    status: Status = "INVALID"
    position: Position = "unknown"
    diagnostics: tuple[str, ...] = ()
    levels: DealerLevelsFigures | None = None  # §12.1/§13.2, whenever a chain and a spot exist
    positioning: DealerPositioningFigures = UNKNOWN_POSITIONING  # §13.1
    changes: DealerChangesFigures = NO_CHANGES  # §13.3

    @property
    def eligible_count(self) -> int:
        return self.eligibility.eligible_count if self.eligibility is not None else 0


def usable_spot(spot: float | None) -> float | None:
    """A spot that can price exposure: finite and positive (anything else is a missing spot)."""
    if spot is None or not math.isfinite(spot) or spot <= 0:
        return None
    return float(spot)


def compute_dealer(
    chain: OptionChain | None,
    spot: float | None,
    params: DealerParams,
    *,
    iv_rank: float | None = None,
    previous: PreviousDealer | None = None,
    whole_profile: bool = False,
) -> DealerResult:
    """SPEC §5, §12.1 and §13.1–13.3 for one ticker-day. `chain` is None when there is no options
    snapshot at or before the cut-off; `previous` is the ticker's previous dealer document (None:
    there is none); `whole_profile` keeps Γ(s) at every level for a chart. Degenerate inputs give a
    result without figures and a reason, never NaN."""
    spot = usable_spot(spot)
    # §5.2 contract GEX of the whole chain, once: §5 reads the eligible contracts', §12.1 the universe's
    contract_gex = None
    if chain is not None and missing_chain_reason(chain) is None and spot is not None:
        contract_gex = compute_contract_gex(chain, spot, params.sign_convention)
    result = compute_seed(chain, spot, params, iv_rank=iv_rank, contract_gex=contract_gex)
    diagnostics = result.diagnostics
    levels: DealerLevelsFigures | None = None
    positioning = UNKNOWN_POSITIONING
    if chain is not None and spot is not None and contract_gex is not None:
        # §12.1 is over all open interest, whatever the §5.1 thresholds left of the chain
        levels = compute_levels(
            chain, spot, params.sign_convention, whole_profile=whole_profile, contract_gex=contract_gex
        )
        if levels.contracts_used == 0:
            diagnostics += (NO_USABLE_IV,)
        elif levels.zero_gamma is None:
            diagnostics += (NO_ZERO_GAMMA,)
        positioning = compute_positioning(spot, levels.zero_gamma, result.gamma_flip, levels.call_gex, levels.put_gex)
    current = DealerSnapshot(
        spot=result.spot,
        gex_net=result.gex_net,
        gamma_at_spot=levels.gamma_at_spot if levels else None,
        zero_gamma=levels.zero_gamma if levels else None,
        call_gex_wall=levels.call_gex_wall if levels else None,
        put_gex_wall=levels.put_gex_wall if levels else None,
        position=result.position,
    )
    return replace(
        result,
        levels=levels,
        positioning=positioning,
        changes=compute_changes(current, previous),
        diagnostics=diagnostics,
    )


def compute_seed(
    chain: OptionChain | None,
    spot: float | None,
    params: DealerParams,
    *,
    iv_rank: float | None = None,
    contract_gex: FloatArray | None = None,
) -> DealerResult:
    """The seed's figures of §5 alone (no levels, positioning or changes). `contract_gex` is the whole
    chain's §5.2 contract GEX when the caller has it already."""
    spot = usable_spot(spot)
    missing = missing_chain_reason(chain)
    if chain is None or missing is not None:
        return DealerResult(params, "NO_OPTIONS", str(missing), 0, spot, iv_rank, diagnostics=(str(missing),))

    eligibility = compute_eligibility(chain, params)
    eligible = eligibility.mask.nonzero()[0]  # indices: taking by index is cheaper than by mask
    strike = chain.strike.take(eligible)
    open_interest = chain.open_interest.take(eligible)
    strikes, inverse = unique_strikes(strike)  # the strike grouping, once for every §5.2 figure
    base = DealerResult(
        params=params,
        processing_status="MISSING_SPOT",
        reason="missing_spot",
        chain_size=len(chain),
        spot=None,
        iv_rank=iv_rank,
        eligibility=eligibility,
        total_open_interest=float(open_interest.sum()),
        strikes_count=int(strikes.shape[0]),
        diagnostics=("missing_spot",),
    )
    if spot is None:
        return base
    if eligible.shape[0] == 0:
        return replace(
            base,
            processing_status="NO_ELIGIBLE_OPTIONS",
            reason="no_eligible_options",
            spot=spot,
            diagnostics=("no_eligible_options",),
        )
    if contract_gex is None:
        contract_gex = compute_contract_gex(chain, spot, params.sign_convention)
    gex = contract_gex.take(eligible)
    sums = StrikeSums.of(strikes, inverse, chain.is_call.take(eligible), open_interest, gex)
    return _seed_figures(base, sums, gex, spot, iv_rank)


def _seed_figures(
    base: DealerResult, sums: StrikeSums, gex: FloatArray, spot: float, iv_rank: float | None
) -> DealerResult:
    """§5.2–5.3 figures of a chain with a spot and at least one eligible contract."""
    params, eligibility, total_oi = base.params, base.eligibility, base.total_open_interest
    assert eligibility is not None  # set by compute_seed whenever a chain was read
    profile = sums.profile()
    strike_gex = profile.net_gex
    gex_total = float(np.abs(strike_gex).sum())
    gex_net = float(strike_gex.sum())
    flip = compute_gamma_flip(profile.strikes, strike_gex)
    slope = compute_gex_slope(profile.strikes, strike_gex, spot, params.gex_slope_range_pct)
    slope_written = round_or_none(0.0 if slope is None else slope, 4)
    call_walls, put_walls = sums.walls(spot, params.max_moneyness, params.walls_top_n)
    diagnostics = _seed_diagnostics(
        slope is None, flip is None, spot, profile.strikes, eligibility, call_walls, put_walls
    )
    count = gex.shape[0]
    confidence = classify_confidence(count, total_oi)
    status, status_reason = classify_status(gex_total, count, confidence)
    return DealerResult(
        params=params,
        processing_status="SUCCESS",
        reason=status_reason,
        chain_size=base.chain_size,
        spot=spot,
        iv_rank=iv_rank,
        eligibility=eligibility,
        contract_gex=gex,
        profile=profile,
        total_open_interest=total_oi,
        strikes_count=base.strikes_count,
        gex_total=gex_total,
        gex_net=gex_net,
        gamma_flip=flip,
        gex_slope=slope_written,
        dgpi=compute_dgpi(gex_net, slope_written, iv_rank),
        call_walls=tuple(call_walls),
        put_walls=tuple(put_walls),
        confidence=confidence,
        status=status,
        position=classify_position(gex_net, params.neutral_gex_threshold),
        diagnostics=diagnostics,
    )


def _seed_diagnostics(
    no_slope: bool,
    no_flip: bool,
    spot: float,
    strikes: FloatArray,
    eligibility: Eligibility,
    call_walls: list[WallFigures],
    put_walls: list[WallFigures],
) -> tuple[str, ...]:
    """§5 diagnostics of a computed result, in the document's order."""
    diagnostics = ["no_strikes_in_slope_window"] if no_slope else []
    if no_flip:
        diagnostics.append("no_gamma_flip")
    if spot < strikes[0] or spot > strikes[-1]:
        diagnostics.append("spot_outside_strike_range")
    if eligibility.negative_gamma_inputs:
        diagnostics.append("negative_gamma_inputs")
    if not eligibility.pricing_available:
        diagnostics.append("pricing_unavailable")
    if not call_walls:
        diagnostics.append("no_call_walls_within_moneyness")
    if not put_walls:
        diagnostics.append("no_put_walls_within_moneyness")
    return tuple(diagnostics)
