"""SPEC §5.2: gamma exposure and the figures derived from it, one function per formula.

GEX is in dollars per 1% move of spot. Under the `kapman` convention calls
count −1 and puts +1 (dealers short calls, long puts); `industry` flips both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from app.domain.chain import CONTRACT_MULTIPLIER, BoolArray, FloatArray, OptionChain
from app.domain.grouping import unique_strikes
from app.domain.models import Confidence, Position, Status

DGPI_SLOPE_WEIGHT = 0.01
DGPI_SLOPE_CLAMP = 0.3
DGPI_LIMIT = 100.0
FULL_MIN_ELIGIBLE = 25


@dataclass(frozen=True, slots=True)
class StrikeProfile:
    """Strike-level GEX of the eligible contracts (what a GEX chart draws), strikes ascending."""

    strikes: FloatArray
    call_gex: FloatArray
    put_gex: FloatArray

    @property
    def net_gex(self) -> FloatArray:
        return self.call_gex + self.put_gex


@dataclass(frozen=True, slots=True)
class WallFigures:
    """One strike of one option type, aggregated over expirations (unrounded)."""

    strike: float
    open_interest: float
    gex: float
    contracts: int
    distance_from_spot: float  # K − S
    moneyness: float  # |K − S| / S


def contract_sign(is_call: BoolArray, convention: str) -> FloatArray:
    """§5.2 sign convention: kapman calls −1, puts +1; industry the opposite."""
    call_sign = -1.0 if convention == "kapman" else 1.0
    return np.where(is_call, call_sign, -call_sign)


def compute_contract_gex(chain: OptionChain, spot: float, convention: str) -> FloatArray:
    """§5.2 contract GEX, dollars per 1% move: sign · |gamma| · OI · S² · 0.01 · 100."""
    # A malformed row may hold any number (its product can overflow); §5 and §12.1 never read its figure.
    with np.errstate(invalid="ignore", over="ignore"):
        return (
            contract_sign(chain.is_call, convention)
            * np.abs(chain.gamma)
            * chain.open_interest
            * spot
            * spot
            * 0.01
            * CONTRACT_MULTIPLIER
        )


def _weighted_bincount(groups: npt.NDArray[np.intp], weights: FloatArray, size: int) -> FloatArray:
    """np.bincount with weights, which returns float64 (the stubs say integers)."""
    return cast(FloatArray, np.bincount(groups, weights=weights, minlength=size))


@dataclass(frozen=True, slots=True)
class StrikeSums:
    """Figures of a chain's contracts summed per strike and option type (all expirations), strikes
    ascending; row 0 holds the puts, row 1 the calls. Each sum runs over the contracts in chain order."""

    strikes: FloatArray
    gex: FloatArray
    open_interest: FloatArray
    contracts: npt.NDArray[np.intp]

    @classmethod
    def of(
        cls, strikes: FloatArray, inverse: npt.NDArray[np.intp], is_call: BoolArray, oi: FloatArray, gex: FloatArray
    ) -> StrikeSums:
        """`strikes`, `inverse`: unique_strikes of the contracts' strikes."""
        width = strikes.shape[0]
        slot = is_call * width + inverse
        size = 2 * width
        return cls(
            strikes,
            _weighted_bincount(slot, gex, size).reshape(2, width),
            _weighted_bincount(slot, oi, size).reshape(2, width),
            np.bincount(slot, minlength=size).reshape(2, width),
        )

    def profile(self) -> StrikeProfile:
        return StrikeProfile(strikes=self.strikes, call_gex=self.gex[1], put_gex=self.gex[0])

    def walls(self, spot: float, max_moneyness: float, top_n: int) -> tuple[list[WallFigures], list[WallFigures]]:
        """compute_walls of the calls and of the puts, from these sums."""
        near = np.abs(self.strikes - spot) / spot <= max_moneyness
        return self._walls(1, near, spot, top_n), self._walls(0, near, spot, top_n)

    def _walls(self, row: int, near: BoolArray, spot: float, top_n: int) -> list[WallFigures]:
        contracts = self.contracts[row]
        kept = (near & (contracts > 0)).nonzero()[0]
        strikes, oi, gex = self.strikes[kept], self.open_interest[row][kept], self.gex[row][kept]
        return rank_walls(strikes, oi, gex, contracts[kept], spot, top_n)


def compute_gamma_flip(strikes: FloatArray, strike_gex: FloatArray) -> float | None:
    """§5.2 gamma flip (price units): where the running sum of strike GEX, strikes ascending,
    first crosses zero, linearly interpolated between the two strikes; None without a crossing."""
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
) -> list[WallFigures]:
    """§5.2 walls of one option type: strikes within max moneyness of spot, aggregated over
    expirations, ranked by open interest desc, then |K − S| asc, then strike asc; the top N."""
    near = np.abs(strike - spot) / spot <= max_moneyness
    if not np.any(near):
        return []
    strikes, inverse = unique_strikes(strike[near])
    size = strikes.shape[0]
    oi = _weighted_bincount(inverse, open_interest[near], size)
    wall_gex = _weighted_bincount(inverse, gex[near], size)
    return rank_walls(strikes, oi, wall_gex, np.bincount(inverse, minlength=size), spot, top_n)


def rank_walls(
    strikes: FloatArray,
    open_interest: FloatArray,
    gex: FloatArray,
    contracts: npt.NDArray[np.intp],
    spot: float,
    top_n: int,
) -> list[WallFigures]:
    """§5.2 ranking of one type's strikes (ascending, already within max moneyness and aggregated):
    open interest desc, then |K − S| asc, then strike asc; the top N."""
    distance = np.abs(strikes - spot)
    order = np.lexsort((strikes, distance, -open_interest))[:top_n]
    return _wall_figures(strikes[order], open_interest[order], gex[order], contracts[order], distance[order], spot)


def _wall_figures(
    strikes: FloatArray,
    open_interest: FloatArray,
    gex: FloatArray,
    contracts: npt.NDArray[np.intp],
    distance: FloatArray,
    spot: float,
) -> list[WallFigures]:
    """The WallFigures of ranked strikes (distance: |K − S|)."""
    return [
        WallFigures(strike=k, open_interest=oi, gex=g, contracts=n, distance_from_spot=k - spot, moneyness=d / spot)
        for k, oi, g, n, d in zip(
            strikes.tolist(), open_interest.tolist(), gex.tolist(), contracts.tolist(), distance.tolist(), strict=True
        )
    ]


def compute_gex_slope(strikes: FloatArray, strike_gex: FloatArray, spot: float, range_pct: float) -> float | None:
    """§5.2 GEX slope, dollars per 1% move per unit of price: (GEX of S ≤ K ≤ S(1+r) − GEX of
    S(1−r) ≤ K < S) / (2 r S); None when no strike lies in the window. `strikes` ascend (a profile's),
    so each band is a slice."""
    half_width = range_pct * spot
    low = int(strikes.searchsorted(spot - half_width, side="left"))
    middle = int(strikes.searchsorted(spot, side="left"))
    high = int(strikes.searchsorted(spot + half_width, side="right"))
    if high <= low:
        return None
    upper = float(strike_gex[middle:high].sum())
    lower = float(strike_gex[low:middle].sum())
    return (upper - lower) / (2.0 * half_width)


def compute_dgpi(gex_net: float, gex_slope_written: float | None, iv_rank: float | None) -> float:
    """§5.2 dealer gamma pressure index in [−100, 100]: sign · log10(|net GEX| + 1) · 10, tilted by
    the slope (as written, 4 dp) and scaled by the IV rank (0–100) when known."""
    base = 0.0 if gex_net == 0 else math.copysign(math.log10(abs(gex_net) + 1.0) * 10.0, gex_net)
    if gex_slope_written:
        base *= 1.0 + min(max(gex_slope_written * DGPI_SLOPE_WEIGHT, -DGPI_SLOPE_CLAMP), DGPI_SLOPE_CLAMP)
    if iv_rank is not None:
        base *= 0.7 + iv_rank / 333.0
    return min(max(base, -DGPI_LIMIT), DGPI_LIMIT)


def classify_position(gex_net: float | None, neutral_threshold: float) -> Position:
    """§5.2 dealer position from net GEX (dollars): neutral below the threshold in magnitude."""
    if gex_net is None:
        return "unknown"
    if abs(gex_net) < neutral_threshold:
        return "neutral"
    return "long_gamma" if gex_net > 0 else "short_gamma"


def classify_confidence(eligible_count: int, total_open_interest: float) -> Confidence:
    """§5.2 confidence from the number of eligible contracts and their total open interest."""
    if eligible_count < 5:
        return "invalid"
    if eligible_count >= 10 and total_open_interest >= 1000:
        return "high"
    if eligible_count >= 5:
        return "medium"
    return "low"  # unreachable with the §5.2 thresholds; kept so the table reads as written


def classify_status(gex_total: float, eligible_count: int, confidence: Confidence) -> tuple[Status, str]:
    """§5.3 status of a computed result, and the rule that decided it."""
    if gex_total == 0:
        return "INVALID", "zero_gex_total"
    if confidence == "invalid":
        return "INVALID", f"confidence_invalid(eligible={eligible_count}<5)"
    if eligible_count >= FULL_MIN_ELIGIBLE and confidence == "high":
        return "FULL", "eligible>=25_and_confidence_high"
    if eligible_count < FULL_MIN_ELIGIBLE:
        return "LIMITED", f"eligible({eligible_count})<25"
    return "LIMITED", f"confidence_{confidence}"
