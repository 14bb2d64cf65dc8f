"""SPEC §13.1: where spot stands against zero gamma and the flip, and the GEX strikes either side of it."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.dealer.levels import StrikeGex
from app.domain.dealer_parts import FlipStatus, LevelPosition

AT_LEVEL_BAND = 0.005  # |S / level − 1| within this is `at` the level
FLIP_BAND = 0.15  # a flip farther than this from spot is decided by far-wing strikes
TOP_STRIKES = 3


@dataclass(frozen=True, slots=True)
class RankedStrike:
    strike: float
    gex: float
    distance_pct: float  # (K − S) / S × 100


@dataclass(frozen=True, slots=True)
class DealerPositioningFigures:
    """§13.1 figures, unrounded."""

    spot_vs_zero_gamma_pct: float | None
    spot_vs_flip_pct: float | None
    position_vs_zero_gamma: LevelPosition
    position_vs_flip: LevelPosition
    flip_status: FlipStatus
    call_resistance: tuple[RankedStrike, ...]
    put_support: tuple[RankedStrike, ...]


UNKNOWN_POSITIONING = DealerPositioningFigures(None, None, "unknown", "unknown", "none", (), ())


def spot_vs_pct(spot: float, level: float | None) -> float | None:
    """(S − level) / level × 100; None without a level."""
    return None if level is None else (spot - level) / level * 100.0


def position_vs(spot: float, level: float | None) -> LevelPosition:
    """`at` within ±0.5% of the level, else `above` / `below`; `unknown` without a level."""
    if level is None:
        return "unknown"
    if abs(spot / level - 1.0) <= AT_LEVEL_BAND:
        return "at"
    return "above" if spot > level else "below"


def flip_status(spot: float, flip: float | None) -> FlipStatus:
    if flip is None:
        return "none"
    return "ok" if abs(flip / spot - 1.0) <= FLIP_BAND else "out_of_band"


def ranked_strikes(per_strike: StrikeGex, spot: float, *, above: bool) -> tuple[RankedStrike, ...]:
    """Up to three strikes on one side of spot (K ≥ S above, K ≤ S below) by |GEX| descending, ties to
    the strike nearer spot, then the lower. A strike whose GEX is zero resists nothing and is left out."""
    strikes, gex = per_strike.strikes, per_strike.gex
    side = (strikes >= spot) if above else (strikes <= spot)
    keep = side & (gex != 0)
    ranking = per_strike.ranking  # the whole type's order; this side's strikes keep theirs within it
    order = ranking[keep[ranking]][:TOP_STRIKES]
    return tuple(
        RankedStrike(k, g, (k - spot) / spot * 100.0)
        for k, g in zip(strikes[order].tolist(), gex[order].tolist(), strict=True)
    )


def compute_positioning(
    spot: float, zero_gamma: float | None, gamma_flip: float | None, call_gex: StrikeGex, put_gex: StrikeGex
) -> DealerPositioningFigures:
    """§13.1 for a ticker-day with a spot; the levels come from §12.1 (zero gamma, GEX) and §5.2 (flip)."""
    return DealerPositioningFigures(
        spot_vs_zero_gamma_pct=spot_vs_pct(spot, zero_gamma),
        spot_vs_flip_pct=spot_vs_pct(spot, gamma_flip),
        position_vs_zero_gamma=position_vs(spot, zero_gamma),
        position_vs_flip=position_vs(spot, gamma_flip),
        flip_status=flip_status(spot, gamma_flip),
        call_resistance=ranked_strikes(call_gex, spot, above=True),
        put_support=ranked_strikes(put_gex, spot, above=False),
    )
