"""NYSE sessions and the snapshot time that ties both documents of a ticker-day to one row (SPEC §3).

The sessions come from exchange_calendars (XNYS). Building that calendar means
importing pandas and costs ~0.45 s, so the session dates it gives are kept in a
small file in the user's cache directory, keyed by the exchange_calendars
version (its holiday rules) and rebuilt after 30 days or when a date beyond
them is asked for. Without a writable cache the calendar is built in memory.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from app.domain.expiry import NEW_YORK

CALENDAR_START = dt.date(2000, 1, 1)
CACHE_DIR_ENV = "KAPMAN_CACHE_DIR"
CACHE_MAX_AGE_DAYS = 30

__all__ = ["NEW_YORK", "age_days", "is_session", "previous_sessions", "sessions", "snapshot_time", "trading_date_of"]


def _cache_file() -> Path:
    base = os.environ.get(CACHE_DIR_ENV) or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    version = metadata.version("exchange_calendars")
    return Path(base) / "kapman" / f"xnys-sessions-{version}.npy"


def _build_sessions() -> np.ndarray:
    import exchange_calendars  # pandas comes with it: only when the cache cannot serve

    calendar = exchange_calendars.get_calendar("XNYS", start=CALENDAR_START.isoformat())
    days = calendar.sessions.values.astype("datetime64[D]")
    return np.asarray(days, dtype="datetime64[D]")


def _load_cached(path: Path) -> np.ndarray | None:
    try:
        built = dt.date.fromtimestamp(path.stat().st_mtime)
        if (dt.date.today() - built).days > CACHE_MAX_AGE_DAYS:
            return None
        days = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return days if days.dtype == np.dtype("datetime64[D]") and days.size else None


def _store(path: Path, days: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.save(handle, days, allow_pickle=False)
        partial.replace(path)  # atomic: a concurrent run sees the old file or the new one
    except OSError:
        pass  # a read-only home: the calendar is simply built again next time


@lru_cache(maxsize=1)
def _session_days() -> np.ndarray:
    path = _cache_file()
    days = _load_cached(path)
    if days is None:
        days = _build_sessions()
        _store(path, days)
    return days


def _covering(day: dt.date) -> np.ndarray:
    """The session dates, rebuilt once if `day` lies beyond them (the calendar reaches ~a year ahead)."""
    days = _session_days()
    if np.datetime64(day, "D") > days[-1] and day <= dt.date.today() + dt.timedelta(days=366):
        _session_days.cache_clear()
        days = _build_sessions()
        _store(_cache_file(), days)
    return days


def is_session(day: dt.date) -> bool:
    days = _covering(day)
    target = np.datetime64(day, "D")
    at = int(np.searchsorted(days, target))
    return at < days.size and days[at] == target


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions from start to end inclusive, ascending."""
    if start > end:
        return []
    days = _covering(end)
    lo = int(np.searchsorted(days, np.datetime64(start, "D"), side="left"))
    hi = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    return [d.item() for d in days[lo:hi]]


def session_days(start: dt.date, end: dt.date) -> np.ndarray:
    """NYSE sessions from start to end inclusive, ascending, as datetime64[D] (no per-day objects)."""
    if start > end:
        return np.empty(0, dtype="datetime64[D]")
    days = _covering(end)
    lo = int(np.searchsorted(days, np.datetime64(start, "D"), side="left"))
    hi = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    return days[lo:hi].astype("datetime64[D]")


def previous_sessions(end: dt.date, count: int) -> list[dt.date]:
    """The `count` sessions ending at or before `end`, ascending."""
    span = dt.timedelta(days=count * 7 // 5 + 10)
    return sessions(end - span, end)[-count:]


def snapshot_time(day: dt.date) -> dt.datetime:
    """D 23:59:59.999999 America/New_York, as an aware UTC datetime."""
    local = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=NEW_YORK)
    return local.astimezone(dt.UTC)


def trading_date_of(moment: dt.datetime) -> dt.date:
    """The New York calendar date of an aware timestamp."""
    return moment.astimezone(NEW_YORK).date()


def age_days(snapshot_day: dt.date, moment: dt.datetime) -> int:
    """Calendar days from the New York date of `moment` to `snapshot_day`."""
    return (snapshot_day - trading_date_of(moment)).days
