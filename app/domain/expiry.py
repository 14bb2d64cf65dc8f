"""When contracts of an options snapshot expire, relative to the snapshot (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

NEW_YORK = ZoneInfo("America/New_York")
MARKET_CLOSE = dt.time(16, 0)
SECONDS_PER_YEAR = 365 * 24 * 3600.0
MIN_YEARS_TO_EXPIRY = 15 * 60 / SECONDS_PER_YEAR  # 15 minutes (§3)


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
    out = np.full(dte_days.shape, np.nan)
    known = np.isfinite(dte_days)
    if not np.any(known):
        return out
    distinct, inverse = np.unique(dte_days[known], return_inverse=True)
    start = clock.snapshot_time or dt.datetime.combine(clock.session_date, MARKET_CLOSE, tzinfo=NEW_YORK)
    start_utc = start.astimezone(dt.UTC)
    # In UTC: Python subtracts two datetimes sharing one tzinfo as wall-clock times, ignoring DST.
    day = clock.session_date
    seconds = np.array([(close_utc(day + dt.timedelta(days=int(d))) - start_utc).total_seconds() for d in distinct])
    out[known] = np.maximum(seconds / SECONDS_PER_YEAR, MIN_YEARS_TO_EXPIRY)[inverse]
    return out
