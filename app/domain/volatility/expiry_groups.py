"""A chain's contracts grouped by expiry once, for every per-expiry figure of SPEC §12.2.

The ATM term structure and both 25-delta legs walk the same contracts expiry by expiry; one
stable pass by expiry (a radix sort on whole-day DTEs) orders them for all three, and the
columns they read are gathered once in that order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.domain.chain import BoolArray, FloatArray
from app.domain.grouping import dense_unique, small_ints, stable_order

IntArray = npt.NDArray[np.intp]
_INT16_MAX = np.iinfo(np.int16).max


class ExpiryColumns(Protocol):
    """The columns of a chain (or of its usable contracts) the §12.2 figures read."""

    @property
    def strike(self) -> FloatArray: ...
    @property
    def is_call(self) -> BoolArray: ...
    @property
    def is_put(self) -> BoolArray: ...
    @property
    def dte_days(self) -> FloatArray: ...
    @property
    def years_to_expiry(self) -> FloatArray: ...
    @property
    def implied_volatility(self) -> FloatArray: ...
    @property
    def delta(self) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class ExpiryCurve:
    """One value per expiry (e.g. its ATM IV), ascending in T: T in years, the expiry's DTE, IV (decimal)."""

    years: FloatArray
    dte_days: FloatArray
    iv: FloatArray

    def __len__(self) -> int:
        return int(self.years.shape[0])


@dataclass(frozen=True, slots=True)
class Expiries:
    """Each contract's expiry (index into `years`, −1 when T is unknown or not > 0), in time order."""

    of_contract: IntArray
    years: FloatArray
    dte_days: FloatArray

    def curve(self, expiry: IntArray, iv: FloatArray) -> ExpiryCurve:
        """The values `iv` of the expiries `expiry` (ascending indices)."""
        return ExpiryCurve(self.years[expiry], self.dte_days[expiry], np.asarray(iv, dtype=np.float64))


def expiries_of(chain: ExpiryColumns) -> Expiries:
    """The expiries of a chain with T > 0, ascending, and each contract's (−1: none)."""
    years = chain.years_to_expiry
    live = np.flatnonzero(np.isfinite(years) & (years > 0))
    by_dte = _expiries_by_dte(years[live], chain.dte_days[live])
    if by_dte is None:
        distinct, first, inverse = np.unique(years[live], return_index=True, return_inverse=True)
        by_dte = distinct, chain.dte_days[live][first], inverse
    of_contract = np.full(years.shape[0], -1, dtype=np.intp)
    of_contract[live] = by_dte[2]
    return Expiries(of_contract, by_dte[0], by_dte[1])


def _expiries_by_dte(years: FloatArray, dte: FloatArray) -> tuple[FloatArray, FloatArray, IntArray] | None:
    """What np.unique(years) gives (distinct T, the DTE of each, each contract's index), found from the
    whole-day DTEs without a sort; None unless T is one strictly increasing function of DTE."""
    days = small_ints(dte)
    if days is None or days.shape[0] == 0:
        return None
    distinct_days, inverse = dense_unique(days, int(days.max()) + 1)
    distinct = np.empty(distinct_days.shape[0])
    distinct[inverse] = years
    if not (np.all(distinct[1:] > distinct[:-1]) and np.array_equal(distinct[inverse], years)):
        return None
    return distinct, distinct_days.astype(np.float64), inverse


@dataclass(frozen=True, slots=True)
class ExpiryGroups:
    """The contracts with an expiry (T > 0), by expiry (ascending T), then strike, then chain order.

    `years`/`dte_days` hold one value per expiry; `starts` the first position of each expiry, then
    the end; the other arrays one value per position, `expiry` being its index into `years`.
    """

    years: FloatArray
    dte_days: FloatArray
    starts: IntArray
    expiry: IntArray
    strike: FloatArray
    iv: FloatArray
    delta: FloatArray
    is_call: BoolArray
    is_put: BoolArray

    def curve(self, expiry: IntArray, iv: FloatArray) -> ExpiryCurve:
        """The values `iv` of the expiries `expiry` (ascending indices)."""
        return ExpiryCurve(self.years[expiry], self.dte_days[expiry], np.asarray(iv, dtype=np.float64))


def group_by_expiry(chain: ExpiryColumns) -> ExpiryGroups:
    """The contracts of `chain` with T > 0 grouped by expiry (see ExpiryGroups)."""
    ascending = bool((chain.strike[1:] >= chain.strike[:-1]).all())
    grouped = _by_whole_days(chain) if ascending else None
    if grouped is None:
        expiries = expiries_of(chain)
        live = np.flatnonzero(expiries.of_contract >= 0)
        of_live = expiries.of_contract[live]
        # strikes ascending in chain order: a stable pass by expiry keeps them so
        by_expiry = stable_order(of_live) if ascending else np.lexsort((live, chain.strike[live], of_live))
        order = live[by_expiry]
        expiry = expiries.of_contract[order]
        bounds = np.searchsorted(expiry, np.arange(expiries.years.shape[0] + 1))
        grouped = order, expiry, bounds, expiries.years, expiries.dte_days
    order, expiry, starts, years, dte_days = grouped
    return ExpiryGroups(
        years,
        dte_days,
        starts,
        expiry,
        chain.strike.take(order),
        chain.implied_volatility.take(order),
        chain.delta.take(order),
        chain.is_call.take(order),
        chain.is_put.take(order),
    )


def _by_whole_days(
    chain: ExpiryColumns,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray] | None:
    """(order, expiry of each position, starts, years, DTEs) by one radix pass over the DTEs' whole days,
    when every contract has T > 0 and the contracts of a day share one T, ascending with the days (a
    chain read for a session); None otherwise. The order is then np.unique(T)'s, stable."""
    dte = chain.dte_days
    if dte.shape[0] == 0 or not (dte.min() >= 0 and dte.max() <= _INT16_MAX):  # NaN fails both
        return None
    order = np.argsort(dte.astype(np.int16), kind="stable")  # a radix sort on whole days
    days = dte.take(order).astype(np.int16)
    changes = days[1:] != days[:-1]
    expiry = np.empty(dte.shape[0], dtype=np.intp)
    expiry[0] = 0
    np.add.accumulate(changes, out=expiry[1:], dtype=np.intp)
    starts = np.concatenate(([0], changes.nonzero()[0] + 1, [dte.shape[0]]))
    all_years = chain.years_to_expiry.take(order)
    first = starts[:-1]
    years = all_years.take(first)
    if not (years[0] > 0 and math.isfinite(years[-1]) and (years[1:] > years[:-1]).all()):
        return None
    if not (years.take(expiry) == all_years).all():  # one T per day
        return None
    return order, expiry, starts, years, dte.take(order.take(first))
