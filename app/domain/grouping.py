"""Sort-free grouping over a chain's canonical order (strike, then type, then DTE).

A chain's strikes are ascending and its expiries are a few dozen small integers, so the
distinct values and the orders the kernels need come from a presence table or one stable
radix pass instead of a comparison sort. Each helper returns exactly what np.unique or the
stable sort it replaces would (same arrays, same tie order) and falls back to it when its
premise does not hold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]

# A presence table is used while it stays within this many slots per value (else np.unique sorts).
_TABLE_SLACK = 8
_TABLE_MIN = 1 << 15
_INT16_MAX = np.iinfo(np.int16).max


def unique_strikes(strike: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], IntArray]:
    """np.unique(strike, return_inverse=True), without its sort when the strikes are already ascending
    (a chain's canonical order, kept by every subset of it): the same arrays, a fraction of the time."""
    if strike.shape[0] and np.all(strike[1:] >= strike[:-1]):
        first = np.empty(strike.shape[0], dtype=bool)
        first[0] = True
        np.not_equal(strike[1:], strike[:-1], out=first[1:])
        return strike[first], np.cumsum(first) - 1
    strikes, inverse = np.unique(strike, return_inverse=True)
    return strikes, inverse


def dense_unique(keys: IntArray, upper: int) -> tuple[IntArray, IntArray]:
    """np.unique(keys, return_inverse=True) of integers in [0, upper), through a presence table."""
    if keys.shape[0] == 0 or upper > max(_TABLE_MIN, _TABLE_SLACK * keys.shape[0]):
        distinct, inverse = np.unique(keys, return_inverse=True)
        return distinct, inverse
    present = np.zeros(upper, dtype=bool)
    present[keys] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[keys]


def small_ints(values: npt.NDArray[np.float64]) -> IntArray | None:
    """`values` as integers when all are whole numbers in [0, 32767] (a DTE in days), else None."""
    if values.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    if not np.all(np.isfinite(values)):
        return None
    as_int = values.astype(np.intp)
    if as_int.min() < 0 or as_int.max() > _INT16_MAX or not np.array_equal(as_int, values):
        return None
    return as_int


def stable_order(groups: IntArray) -> IntArray:
    """np.argsort(groups, kind="stable") of small non-negative integers (a radix sort on int16)."""
    if groups.shape[0] and groups.min() >= 0 and groups.max() <= _INT16_MAX:
        return np.argsort(groups.astype(np.int16), kind="stable")
    return np.argsort(groups, kind="stable")


def is_ascending(values: npt.NDArray) -> bool:
    return bool(np.all(values[1:] >= values[:-1]))
