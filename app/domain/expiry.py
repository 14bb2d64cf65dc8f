"""When contracts of an options snapshot expire, relative to the snapshot (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from app.domain.grouping import dense_unique, small_ints

NEW_YORK = ZoneInfo("America/New_York")
MARKET_CLOSE = dt.time(16, 0)
SECONDS_PER_YEAR = 365 * 24 * 3600.0
MIN_YEARS_TO_EXPIRY = 15 * 60 / SECONDS_PER_YEAR  # 15 minutes (§3)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ChainClock:
    """The session a chain is read for, and when its options snapshot was taken (None: unknown)."""

    session_date: dt.date
    snapshot_time: dt.datetime | None = None

    @property
    def after_close(self) -> bool:
        """§3: the snapshot was taken at or after 16:00 New York on the session: its 0DTE contracts settled."""
        if self.snapshot_time is None:
            return False
        return self.snapshot_time >= dt.datetime.combine(self.session_date, MARKET_CLOSE, tzinfo=NEW_YORK)


def expired_mask(dte_days: npt.NDArray[np.float64], after_close: bool | npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """§3 expired: DTE < 0, or DTE = 0 in a snapshot taken at or after the close."""
    with np.errstate(invalid="ignore"):
        return (dte_days < 0) | ((dte_days == 0) & after_close)


@lru_cache(maxsize=4096)
def close_utc(day: dt.date) -> dt.datetime:
    """16:00 New York on `day`, in UTC (a batch asks for the same few dozen expirations per chain)."""
    return dt.datetime.combine(day, MARKET_CLOSE, tzinfo=NEW_YORK).astimezone(dt.UTC)


def years_to_expiry(dte_days: npt.NDArray[np.float64], clock: ChainClock) -> npt.NDArray[np.float64]:
    """§3 time to expiry, in years of 365 days: from the snapshot time to 16:00 New York on the
    expiration date (the session date + DTE), floored at 15 minutes; NaN where DTE is unknown.

    Without a snapshot time the snapshot is taken to be at the session's close. Computed per
    distinct expiration (a few dozen), so daylight-saving changes in between are exact.
    """
    return years_to_expiry_by_snapshot(dte_days, np.zeros(dte_days.shape, dtype=np.intp), [clock])


def years_to_expiry_by_snapshot(
    dte_days: npt.NDArray[np.float64], snapshot: npt.NDArray[np.intp], clocks: list[ChainClock]
) -> npt.NDArray[np.float64]:
    """`years_to_expiry` of rows from several snapshots of one session, row i under `clocks[snapshot[i]]`.

    From exact microseconds: a difference of two datetimes in whole microseconds over 10⁶ is what
    timedelta.total_seconds() gives, so one subtraction per row replaces one datetime per expiration
    and snapshot.
    """
    out = np.full(dte_days.shape, np.nan)
    known = np.isfinite(dte_days)
    if not np.any(known):
        return out
    sessions = {clock.session_date for clock in clocks}
    if len(sessions) != 1:
        raise ValueError("the snapshots of one session only")
    session = sessions.pop()
    distinct, inverse = _distinct_days(dte_days[known])
    closes = np.array([_microseconds(close_utc(session + dt.timedelta(days=int(d)))) for d in distinct])
    starts = np.array([_microseconds(clock.snapshot_time or close_utc(session)) for clock in clocks], dtype=np.int64)
    elapsed = closes[inverse] - starts[snapshot[known]]
    out[known] = np.maximum(elapsed / 1e6 / SECONDS_PER_YEAR, MIN_YEARS_TO_EXPIRY)
    return out


def _distinct_days(dte: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """np.unique(dte, return_inverse=True); by a presence table when DTE is in whole days (a date
    difference, as the reads give it): a sort of every contract of a chunk costs more than the rest."""
    low = float(dte.min())
    days = small_ints(dte - low)
    if days is None:
        distinct, inverse = np.unique(dte, return_inverse=True)
        return distinct, inverse
    offsets, inverse = dense_unique(days, int(days.max()) + 1)
    return (offsets + low).astype(np.float64), inverse


def _microseconds(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND
