"""NYSE sessions and the snapshot time that ties both documents of a ticker-day to one row (SPEC §3).

The sessions come from exchange_calendars (XNYS). Building that calendar means
importing pandas and costs ~0.5 s, so the session dates it gives are kept in a
small file in the user's cache directory, keyed by the exchange_calendars
version (its holiday rules). The calendar is always built over a fixed span,
never "from today": exchange_calendars' own default ends a year after the
machine's clock, and which dates are sessions must not depend on when a command
runs. A cached file that covers less than a date asked for is rebuilt (extended),
not trusted. Without a writable cache the calendar is built in memory.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from app.domain.expiry import NEW_YORK

CALENDAR_START = dt.date(2000, 1, 1)
# The last date any command accepts: far beyond any data, well inside what pandas and
# exchange_calendars represent (9999-12-31 is a usage error, not an OverflowError).
CALENDAR_END = dt.date(2100, 12, 31)
CACHE_DIR_ENV = "KAPMAN_CACHE_DIR"

__all__ = [
    "CALENDAR_END",
    "CALENDAR_START",
    "NEW_YORK",
    "OutsideCalendar",
    "age_days",
    "check_in_calendar",
    "is_session",
    "neighbouring_sessions",
    "previous_sessions",
    "sessions",
    "sessions_after",
    "snapshot_time",
    "trading_date_of",
]


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()  # datetime64[D] counts days from it


class OutsideCalendar(ValueError):
    """A date before or after the span of the NYSE calendar this project knows."""


def check_in_calendar(day: dt.date) -> None:
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise OutsideCalendar(
            f"{day.isoformat()} is outside the NYSE calendar "
            f"({CALENDAR_START.isoformat()} to {CALENDAR_END.isoformat()})"
        )


def _cache_file() -> Path:
    base = os.environ.get(CACHE_DIR_ENV) or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    version = metadata.version("exchange_calendars")
    return Path(base) / "kapman" / f"xnys-sessions-{version}-{CALENDAR_START}-{CALENDAR_END}.npz"


def _build_sessions() -> tuple[np.ndarray, dt.date]:
    import exchange_calendars  # pandas comes with it: only when the cache cannot serve

    calendar = exchange_calendars.get_calendar("XNYS", start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat())
    days = np.asarray(calendar.sessions.values.astype("datetime64[D]"), dtype="datetime64[D]")
    return days, CALENDAR_END


def _load_cached(path: Path) -> tuple[np.ndarray, dt.date] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            days, covered = stored["days"], stored["covered_through"]
    except (OSError, ValueError, KeyError):
        return None
    if days.dtype != np.dtype("datetime64[D]") or not days.size or covered.dtype != np.dtype("datetime64[D]"):
        return None
    return days, covered.item()


def _store(path: Path, days: np.ndarray, covered: dt.date) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.savez(handle, days=days, covered_through=np.datetime64(covered, "D"))
        partial.replace(path)  # atomic: a concurrent run sees the old file or the new one
    except OSError:
        pass  # a read-only home: the calendar is simply built again next time


@lru_cache(maxsize=1)
def _session_days() -> tuple[np.ndarray, dt.date]:
    path = _cache_file()
    cached = _load_cached(path)
    if cached is not None and cached[1] >= CALENDAR_END:
        return cached
    built = _build_sessions()  # missing, damaged, or covering less than the calendar's span: extended
    _store(path, *built)
    return built


def _covering(day: dt.date) -> np.ndarray:
    """The session dates; `day` must lie inside the calendar's span."""
    check_in_calendar(day)
    return _session_days()[0]


def is_session(day: dt.date) -> bool:
    days = _covering(day)
    target = np.datetime64(day, "D")
    at = int(np.searchsorted(days, target))
    return at < days.size and days[at] == target


def neighbouring_sessions(day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The last session before `day` and the first after it (None beyond the calendar's span)."""
    days = _covering(day)
    target = np.datetime64(day, "D")
    before = int(np.searchsorted(days, target, side="left"))
    after = int(np.searchsorted(days, target, side="right"))
    return (
        days[before - 1].item() if before > 0 else None,
        days[after].item() if after < days.size else None,
    )


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions from start to end inclusive, ascending."""
    if start > end:
        return []
    check_in_calendar(start)
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


@lru_cache(maxsize=1)
def _session_ordinals() -> list[int]:
    return [int(day) for day in _session_days()[0].astype(np.int64)]


def sessions_after(since: dt.date, through: dt.date) -> int:
    """How many sessions lie in (since, through]: len(sessions(since + 1 day, through)), without a list.

    A batch asks once per ticker-day. Python's bisect keeps the GIL, where numpy's searchsorted
    releases it and must win it back from the read and write threads (~1 ms a call in a batch).
    """
    if since >= through:
        return 0
    check_in_calendar(through)
    check_in_calendar(since + dt.timedelta(days=1))
    ordinals, epoch = _session_ordinals(), _EPOCH_ORDINAL
    return bisect.bisect_right(ordinals, through.toordinal() - epoch) - bisect.bisect_right(
        ordinals, since.toordinal() - epoch
    )


def previous_sessions(end: dt.date, count: int) -> list[dt.date]:
    """The `count` sessions ending at or before `end`, ascending."""
    span = dt.timedelta(days=count * 7 // 5 + 10)
    return sessions(max(end - span, CALENDAR_START), end)[-count:]


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
