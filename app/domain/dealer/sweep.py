"""SPEC §12.1 Γ(s) sweep and the §13.2 per-contract terms at spot, from one set of Black–Scholes terms.

Γ(s) = Σ sign · γ_BS(s, K, T, σ) · OI · s² · 0.01 · 100 on 161 levels s = S · (0.80 + 0.0025 i).
Only the crossing nearest spot is written, so the sweep evaluates windows widening around spot
and stops at the first that holds the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.chain import FloatArray

GRID_START, GRID_STEP, GRID_LEVELS = 0.80, 0.0025, 161
# levels either side of spot swept in turn (±4%, ±12%, ±20%): most chains cross zero near spot
WINDOWS = (16, 48, GRID_LEVELS // 2)
_GRID = GRID_START + GRID_STEP * np.arange(GRID_LEVELS, dtype=np.float64)
# Contracts per block of the contracts × levels matrix: small enough that the BLAS product stays on
# one thread (a 4,000-row product went multi-threaded and took 17 ms at the 90th percentile on a busy
# machine) and that the block stays in cache.
_BLOCK = 512
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0


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
    def of(cls, strike: FloatArray, vol: FloatArray, years: FloatArray, weight: FloatArray) -> BlackScholesTerms:
        vol_root_t = vol * np.sqrt(years)
        return cls(np.log(strike), vol, years, vol_root_t, 1.0 / vol_root_t, weight)


def sweep_levels(spot: float) -> FloatArray:
    """§12.1 grid: s = S · (0.80 + 0.0025 · i), i = 0 … 160."""
    return spot * _GRID


class Sweep:
    """Γ(s) on any levels of the grid, from exponent coefficients computed once per chain.

    With ℓ = ln(s/S), d1 = ℓ/σ√T + m for a per-contract m, so −d1²/2 = αℓ² + βℓ + γ: one
    (contracts × 3)·(3 × levels) product gives every exponent, and the exponential is then the
    only other pass over the matrix (most of the cost). Centring on spot keeps the three terms
    small, so the product loses no more than ~1e-12 of φ on any level. Levels are summed with
    einsum's own loop, so a run gives the same bytes every time.
    """

    def __init__(self, spot: float, spots: FloatArray, terms: BlackScholesTerms) -> None:
        self.spot, self.spots = spot, spots
        log_spot = math.log(spot)
        basis = np.empty((3, spots.shape[0]))  # rows ℓ², ℓ, 1
        shifted = np.subtract(np.log(spots), log_spot, out=basis[1])
        np.multiply(shifted, shifted, out=basis[0])
        basis[2] = 1.0
        self._basis = basis
        inverse = terms.inverse
        # d1 at spot (ℓ = 0) is the per-contract m above, and −d1²/2 at spot the constant term
        d1 = inverse * (log_spot - terms.log_strikes) + 0.5 * terms.vol_root_t
        at_spot = -0.5 * d1 * d1
        # sign · OI · 100 · 0.01 / (σ√T): Γ(s) = s · Σ this · φ(d1), the s² of GEX over the s of γ_BS
        weight = terms.weight * 0.01 * inverse
        # the §13.2 terms at spot first, while d1 is at hand: their temporaries are gone before the
        # contracts × 3 matrix is made (a smaller peak of memory)
        self.at_spot = spot_exposures(spot, terms, d1, at_spot, weight)
        self._coefficient = np.multiply(weight, _INV_SQRT_2PI, out=weight)
        exponents = np.empty((inverse.shape[0], 3))  # written column by column: no stack of temporaries
        np.multiply(-0.5 * inverse, inverse, out=exponents[:, 0])
        np.multiply(-inverse, d1, out=exponents[:, 1])
        exponents[:, 2] = at_spot
        self._exponents = exponents

    def gamma_at(self, levels: npt.NDArray[np.intp]) -> FloatArray:
        """Γ(s), dollars per 1% move, at these levels of the grid (contracts × levels in blocks)."""
        basis = self._basis[:, levels]
        count = self._coefficient.shape[0]
        rows = min(_BLOCK, count)
        buffer = np.empty((rows, basis.shape[1]))  # one block, reused
        total = np.zeros(basis.shape[1])
        for start in range(0, count, rows):
            block = slice(start, start + rows)
            density = buffer[: min(rows, count - start)]
            np.matmul(self._exponents[block], basis, out=density)  # −d1²/2 at every level
            np.exp(density, out=density)  # now φ(d1) · √(2π)
            total += np.einsum("i,ij->j", self._coefficient[block], density)
        return total * self.spots[levels]

    def zero_gamma(self, *, whole_profile: bool = False) -> tuple[FloatArray, float | None]:
        """(Γ at all 161 levels, or empty when not swept whole; §12.1 zero gamma or None).

        Windows widening around spot are swept in turn, each adding only its new levels. The
        crossing nearest spot within a window is the answer once it is nearer than the window's
        edges (any crossing outside lies beyond them); each level is computed at most once.
        """
        spots, spot, middle = self.spots, self.spot, GRID_LEVELS // 2
        profile = np.empty(GRID_LEVELS)
        done = 0  # levels either side of spot already swept
        for width, fresh in zip(WINDOWS, _WINDOW_LEVELS, strict=True):
            profile[fresh] = self.gamma_at(fresh)
            done = width
            window = slice(middle - width, middle + width + 1)
            zero = zero_gamma_crossing(spots[window], profile[window], spot)
            reach = min(spot - spots[window.start], spots[window.stop - 1] - spot)
            if width == middle or (zero is not None and abs(zero - spot) < reach):
                break
        if whole_profile and done < middle:
            rest = _outside(done)
            profile[rest] = self.gamma_at(rest)
            done = middle
        return (profile if done == middle else np.empty(0)), zero


def _levels_between(below: tuple[int, int], above: tuple[int, int]) -> npt.NDArray[np.intp]:
    """Grid indices of two half-open ranges (np.r_ without its parsing)."""
    return np.concatenate((np.arange(*below, dtype=np.intp), np.arange(*above, dtype=np.intp)))


def _outside(done: int) -> npt.NDArray[np.intp]:
    """The grid levels more than `done` levels from spot."""
    middle = GRID_LEVELS // 2
    return _levels_between((0, middle - done), (middle + done + 1, GRID_LEVELS))


def _window_levels() -> tuple[npt.NDArray[np.intp], ...]:
    """The levels each window of WINDOWS adds to the ones before it (the same for every sweep)."""
    middle, done, added = GRID_LEVELS // 2, 0, []
    for width in WINDOWS:
        added.append(_levels_between((middle - width, middle - done), (middle + done + (done > 0), middle + width + 1)))
        done = width
    return tuple(added)


_WINDOW_LEVELS = _window_levels()


@dataclass(frozen=True, slots=True)
class SpotExposures:
    """Per-contract §13.2 terms at spot, already signed and weighted (dollars), and Γ(S)."""

    gamma_at_spot: float
    vanna: FloatArray  # sign · vanna · OI · 100 · S · 0.01
    charm: FloatArray  # sign · charm / 365 · OI · 100 · S


def spot_exposures(
    spot: float, terms: BlackScholesTerms, d1: FloatArray, exponent: FloatArray, gamma_weight: FloatArray
) -> SpotExposures:
    """§12.1 Γ(S) and §13.2 vanna/charm of each contract at spot: vanna = −φ(d1)·d2/σ, charm = φ(d1)·d2/(2T).
    `exponent` is −d1²/2 and `gamma_weight` sign · OI · 100 · 0.01 / (σ√T), as the sweep has them."""
    density = np.exp(exponent)
    density *= _INV_SQRT_2PI
    # einsum, not np.dot: BLAS splits a dot of some 10,000 terms across threads, which costs milliseconds
    # on a busy machine and makes the sum's rounding depend on the thread count
    gamma = spot * float(np.einsum("i,i->", gamma_weight, density))
    weighted = terms.weight * density
    weighted *= d1 - terms.vol_root_t  # sign · OI · 100 · φ(d1) · d2
    vanna = np.negative(weighted)
    vanna /= terms.vol
    vanna *= spot * 0.01
    charm = np.divide(weighted, 2.0 * terms.years, out=weighted)
    charm *= spot / DAYS_PER_YEAR
    return SpotExposures(gamma_at_spot=gamma, vanna=vanna, charm=charm)


def zero_gamma_crossing(spots: FloatArray, gamma: FloatArray, spot: float) -> float | None:
    """§12.1 zero gamma: of the crossings between adjacent levels a, b where Γ(a)·Γ(b) < 0 (or
    Γ(b) = 0 ≠ Γ(a)), at a + (b − a)·|Γ(a)| / |Γ(b) − Γ(a)|, the one nearest spot (the lower on a tie)."""
    a, b = gamma[:-1], gamma[1:]
    crossing = (a * b < 0) | ((b == 0) & (a != 0))
    hits = crossing.nonzero()[0]
    if hits.size == 0:
        return None
    if hits.size == 1:  # the usual case: the same arithmetic on plain floats
        i = int(hits[0])
        low, high, before, after = float(spots[i]), float(spots[i + 1]), float(a[i]), float(b[i])
        return low + (high - low) * abs(before) / abs(after - before)
    lo, hi = spots[hits], spots[hits + 1]
    at = lo + (hi - lo) * np.abs(a[hits]) / np.abs(b[hits] - a[hits])
    order = np.lexsort((at, np.abs(at - spot)))  # nearest, then the lower
    return float(at[order[0]])
