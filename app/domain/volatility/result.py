"""`compute_volatility`: the numbers of SPEC §6 for one ticker-day (no document yet)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from app.domain.bars import OhlcvBars
from app.domain.chain import BoolArray, FloatArray, OptionChain
from app.domain.envelope import missing_chain_reason
from app.domain.models import Status, VolatilityParams, VolConfidence, VolCounts, VolProcessingStatus
from app.domain.rounding import round_or_none
from app.domain.volatility.constant_maturity import ConstantMaturity, constant_maturity
from app.domain.volatility.expected_move import ExpectedMoveFigures, compute_expected_move
from app.domain.volatility.formulas import (
    SKEW_TARGET_DELTA,
    classify_vol_confidence,
    compute_iv_percentile,
    compute_iv_rank,
    front_and_back_windows,
    mean_or_none,
    oi_weighted_iv,
    population_std,
    ratio_or_none,
    skew_leg_iv,
    term_structure_points,
    term_structure_slope,
)
from app.domain.volatility.realized import RealizedVolatilityFigures, compute_realized
from app.domain.volatility.selection import UsableContracts, select_contracts

CORE_METRICS = ("average_iv", "iv_rank", "put_call_ratio_oi", "oi_ratio", "iv_skew", "iv_term_structure")
_NO_COUNTS = VolCounts(
    total_contracts=0,
    selected_contracts=0,
    with_iv_contracts=0,
    call_contracts=0,
    put_contracts=0,
    front_month_contracts=0,
    back_month_contracts=0,
    total_volume=0,
    total_open_interest=0,
    iv_out_of_range=0,
    malformed=0,
    expired=0,
)


@dataclass(frozen=True, slots=True)
class VolMetricsFigures:
    """The §6.2 and §12.2 metrics, unrounded. Where the SPEC says a metric uses another "as written",
    it was computed from that rounded value (iv_rank, iv_percentile, iv_skew_call_put, iv30_*)."""

    average_iv: float | None = None
    avg_call_iv: float | None = None
    avg_put_iv: float | None = None
    iv_stddev: float | None = None
    iv_skew: float | None = None
    iv_skew_call_put: float | None = None
    put_call_ratio_oi: float | None = None
    put_call_volume_ratio: float | None = None
    oi_ratio: float | None = None
    front_month_iv: float | None = None
    back_month_iv: float | None = None
    iv_term_structure: float | None = None
    iv_term_structure_slope: float | None = None
    iv_rank: float | None = None
    iv_percentile: float | None = None
    atm_iv_30d: float | None = None
    atm_iv_90d: float | None = None
    atm_term_structure: float | None = None
    rr25_30d: float | None = None
    iv30_rank: float | None = None  # from atm_iv_30d as written, like iv_rank from average_iv
    iv30_percentile: float | None = None


@dataclass(frozen=True, slots=True)
class VolatilityResult:
    params: VolatilityParams
    processing_status: VolProcessingStatus
    history: FloatArray  # the finite history values ranked against
    figures: VolMetricsFigures = field(default_factory=VolMetricsFigures)
    counts: VolCounts = _NO_COUNTS
    confidence: VolConfidence = "low"
    status: Status = "INVALID"
    diagnostics: tuple[str, ...] = ()
    realized: RealizedVolatilityFigures = field(default_factory=RealizedVolatilityFigures)  # §13.4
    expected_move: ExpectedMoveFigures = field(default_factory=ExpectedMoveFigures)  # §13.5


def _skew_leg(iv: FloatArray, delta: FloatArray, dte: FloatArray, side: str) -> tuple[float | None, str | None]:
    target, percentile = (SKEW_TARGET_DELTA, 0.75) if side == "calls" else (-SKEW_TARGET_DELTA, 0.25)
    value, fallback = skew_leg_iv(iv, delta, target, percentile, dte)
    return value, f"iv_skew:strike_percentile_fallback({side})" if fallback else None


def _finite(values: FloatArray | None) -> FloatArray:
    values = np.asarray(values if values is not None else (), dtype=np.float64)
    return values[np.isfinite(values)]


def compute_volatility(
    chain: OptionChain | None,
    history: FloatArray,
    params: VolatilityParams,
    *,
    spot: float | None = None,
    history_30d: FloatArray | None = None,
    bars: OhlcvBars | None = None,
    session_date: dt.date | None = None,
) -> VolatilityResult:
    """SPEC §6, §12.2, §13.4 and §13.5 for one ticker-day. `history` and `history_30d` hold the ticker's
    earlier average_iv and atm_iv_30d values (most recent `lookback` rows, nulls removed); `spot` is the
    session's close (§12.2, §13.5); `bars` the ticker's last stored bars dated ≤ `session_date` (§13.4).
    `chain` is None when there is no options snapshot."""
    history = _finite(history)
    history_30d = _finite(history_30d)
    spot = spot if spot is not None and math.isfinite(spot) and spot > 0 else None
    missing = missing_chain_reason(chain)
    if chain is None or missing is not None:
        realized = _realized(bars, session_date, None)
        moves = compute_expected_move(None, spot, None, None)
        return VolatilityResult(
            params, "NO_OPTIONS", history, diagnostics=(str(missing),), realized=realized, expected_move=moves
        )

    sel = select_contracts(chain)
    usable = UsableContracts.of(chain, sel.iv_valid)
    selected_calls, selected_puts = sel.selected & chain.is_call, sel.selected & chain.is_put
    type_sums = _type_sums(chain, selected_calls, selected_puts)
    figures, notes = _figures(usable, type_sums, history, history_30d, params, spot)
    levels = notes.levels
    missing_metrics = [name for name in CORE_METRICS if getattr(figures, name) is None]
    realized = _realized(bars, session_date, levels.atm_iv_30d)
    moves = compute_expected_move(chain, spot, levels.atm_curve, levels.atm_iv_30d, selected=sel.selected)
    processing_status: VolProcessingStatus = "PARTIAL" if missing_metrics else "SUCCESS"
    with_iv = len(usable)
    confidence = classify_vol_confidence(processing_status == "SUCCESS", with_iv, notes.front_count, notes.back_count)
    average_written = round_or_none(figures.average_iv, 4)
    status: Status = "INVALID" if average_written is None else "FULL" if confidence == "high" else "LIMITED"
    counts = VolCounts(
        total_contracts=len(chain),
        selected_contracts=int(np.count_nonzero(sel.selected)),
        with_iv_contracts=with_iv,
        call_contracts=int(np.count_nonzero(selected_calls)),
        put_contracts=int(np.count_nonzero(selected_puts)),
        front_month_contracts=notes.front_count,
        back_month_contracts=notes.back_count,
        total_volume=round(notes.total_volume),
        total_open_interest=round(notes.total_oi),
        iv_out_of_range=sel.iv_out_of_range,
        malformed=sel.malformed,
        expired=sel.expired,
    )
    diagnostics = _diagnostics(figures, notes, missing_metrics, history)
    return VolatilityResult(
        params, processing_status, history, figures, counts, confidence, status, diagnostics, realized, moves
    )


@dataclass(frozen=True, slots=True)
class _Notes:
    """What `_figures` learnt on the way that the counts and diagnostics need."""

    levels: ConstantMaturity
    skew_notes: tuple[str, ...]
    call_leg: float | None
    front_iv: float | None
    rank_gap: str | None
    iv30_gap: str | None
    front_count: int
    back_count: int
    total_oi: float
    total_volume: float


def _figures(
    usable: UsableContracts,
    type_sums: tuple[float, float, float, float],
    history: FloatArray,
    history_30d: FloatArray,
    params: VolatilityParams,
    spot: float | None,
) -> tuple[VolMetricsFigures, _Notes]:
    """§6.2 and §12.2 figures from the §6.1 contracts with a usable IV, and `type_sums` of all of them."""
    iv, oi, dte = usable.implied_volatility, usable.open_interest, usable.dte_days
    calls, puts = usable.is_call.nonzero()[0], usable.is_put.nonzero()[0]
    call_iv, put_iv = iv.take(calls), iv.take(puts)
    average_iv = oi_weighted_iv(iv, oi)
    avg_call_written = round_or_none(oi_weighted_iv(call_iv, oi.take(calls)), 4)
    avg_put_written = round_or_none(oi_weighted_iv(put_iv, oi.take(puts)), 4)
    call_leg, call_note = _skew_leg(call_iv, usable.delta.take(calls), dte.take(calls), "calls")
    put_leg, put_note = _skew_leg(put_iv, usable.delta.take(puts), dte.take(puts), "puts")
    call_oi, put_oi, call_volume, put_volume = type_sums
    front, back = front_and_back_windows(dte)
    front_iv, back_iv = mean_or_none(iv[front]), mean_or_none(iv[back])
    term = term_structure_points(front_iv, back_iv)
    average_written = round_or_none(average_iv, 4)
    iv_rank, rank_gap = compute_iv_rank(average_written, history, params.min_history)
    levels = constant_maturity(usable, spot)
    iv30_written = round_or_none(levels.atm_iv_30d, 4)
    iv30_rank, iv30_gap = compute_iv_rank(iv30_written, history_30d, params.min_history)
    figures = VolMetricsFigures(
        average_iv=average_iv,
        avg_call_iv=avg_call_written,
        avg_put_iv=avg_put_written,
        iv_stddev=population_std(iv) if iv.shape[0] else None,
        iv_skew=(put_leg - call_leg) * 100.0 if call_leg is not None and put_leg is not None else None,
        iv_skew_call_put=(
            (avg_put_written - avg_call_written) * 100.0
            if avg_call_written is not None and avg_put_written is not None
            else None
        ),
        put_call_ratio_oi=ratio_or_none(put_oi, call_oi),
        put_call_volume_ratio=ratio_or_none(put_volume, call_volume),
        oi_ratio=ratio_or_none(call_volume + put_volume, call_oi + put_oi),
        front_month_iv=front_iv,
        back_month_iv=back_iv,
        iv_term_structure=term,
        iv_term_structure_slope=term_structure_slope(term),
        iv_rank=iv_rank,
        iv_percentile=compute_iv_percentile(average_written, history, params.min_history),
        atm_iv_30d=levels.atm_iv_30d,
        atm_iv_90d=levels.atm_iv_90d,
        atm_term_structure=levels.atm_term_structure,
        rr25_30d=levels.rr25_30d,
        iv30_rank=iv30_rank,
        iv30_percentile=compute_iv_percentile(iv30_written, history_30d, params.min_history),
    )
    skew_notes = tuple(note for note in (call_note, put_note) if note)
    front_count, back_count = int(np.count_nonzero(front)), int(np.count_nonzero(back))
    total_oi, total_volume = call_oi + put_oi, call_volume + put_volume
    notes = _Notes(
        levels, skew_notes, call_leg, front_iv, rank_gap, iv30_gap, front_count, back_count, total_oi, total_volume
    )
    return figures, notes


def _type_sums(chain: OptionChain, calls: BoolArray, puts: BoolArray) -> tuple[float, float, float, float]:
    """Open interest of the calls and the puts, then their volume (§6.2's ratios)."""
    oi, volume = chain.open_interest, chain.volume
    return float(oi[calls].sum()), float(oi[puts].sum()), float(volume[calls].sum()), float(volume[puts].sum())


def _diagnostics(
    figures: VolMetricsFigures, notes: _Notes, missing_metrics: list[str], history: FloatArray
) -> tuple[str, ...]:
    """§6 diagnostics in the document's order: skew fallbacks, null core metrics, then §12.2's."""
    null_reasons = {
        "average_iv": "no_valid_iv_contracts",
        "iv_rank": notes.rank_gap,
        "put_call_ratio_oi": "no_call_open_interest",
        "oi_ratio": "no_open_interest",
        "iv_skew": "no_valid_iv_calls" if notes.call_leg is None else "no_valid_iv_puts",
        "iv_term_structure": "no_front_month_contracts" if notes.front_iv is None else "no_back_month_contracts",
    }
    diagnostics = list(notes.skew_notes)
    diagnostics += [f"{name}:{null_reasons[name]}" for name in missing_metrics]
    average_written = round_or_none(figures.average_iv, 4)
    if (
        figures.iv_rank is not None
        and average_written is not None
        and not (history.min() <= average_written <= history.max())
    ):
        diagnostics.append("iv_rank:clamped_outside_history_range")
    # §12.2 keys never change processing_status; a null one says why
    diagnostics += notes.levels.diagnostics
    if figures.iv30_rank is None and round_or_none(figures.atm_iv_30d, 4) is not None:
        diagnostics.append(f"iv30_rank:{notes.iv30_gap}")
    return tuple(diagnostics)


def _realized(
    bars: OhlcvBars | None, session_date: dt.date | None, atm_iv_30d: float | None
) -> RealizedVolatilityFigures:
    """§13.4 whatever the options snapshot holds (no bars read: none)."""
    return compute_realized(bars if bars is not None else OhlcvBars.empty(), session_date, atm_iv_30d)
