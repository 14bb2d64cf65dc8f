"""NYSE sessions and the snapshot time that ties both documents of a ticker-day to one row."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
CALENDAR_START = "2000-01-01"


@lru_cache(maxsize=1)
def _calendar():
    import exchange_calendars  # imported lazily: building the calendar costs ~0.6 s

    return exchange_calendars.get_calendar("XNYS", start=CALENDAR_START)


def is_session(day: dt.date) -> bool:
    cal = _calendar()
    if not (cal.first_session.date() <= day <= cal.last_session.date()):
        return False
    return bool(cal.is_session(day.isoformat()))


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions from start to end inclusive, ascending."""
    if start > end:
        return []
    cal = _calendar()
    lo = max(start, cal.first_session.date())
    hi = min(end, cal.last_session.date())
    if lo > hi:
        return []
    return [ts.date() for ts in cal.sessions_in_range(lo.isoformat(), hi.isoformat())]


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
