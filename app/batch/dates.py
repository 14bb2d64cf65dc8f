"""Which sessions a batch processes, and the cut-off time of each (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.time import check_in_calendar, is_session, neighbouring_sessions, sessions, snapshot_time, trading_date_of


class NotASession(ValueError):
    """An explicit date that is not a NYSE session: a document stamped on it would enter every
    later IV-rank history (SPEC §3), so it is refused, naming the sessions around it."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self.before, self.after = neighbouring_sessions(day)
        around = " and ".join(
            f"{d.isoformat()} ({d:%A}) {side}" for d, side in ((self.before, "before"), (self.after, "after")) if d
        )
        super().__init__(f"{day.isoformat()} ({day:%A}) is not a NYSE session; the nearest sessions are {around}")


class NoDataError(RuntimeError):
    """No date was given and the database has no OHLCV row to take the default from."""


@dataclass(frozen=True, slots=True)
class DateSelection:
    """What the user asked for; `snapshot_time` and `day` override a range."""

    day: dt.date | None = None
    snapshot_time: dt.datetime | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        """A contradiction, a date outside the calendar (OutsideCalendar) or a non-session day
        (NotASession) is refused here, before anything is read: all are ValueErrors."""
        if self.snapshot_time is not None and self.snapshot_time.tzinfo is None:
            raise ValueError("--snapshot-time needs a UTC offset (or give a plain date)")
        for given in (self.day, self.start, self.end):
            if given is not None:
                check_in_calendar(given)
        if self.snapshot_time is not None:
            check_in_calendar(self.snapshot_time.date())
        if self.day is not None and self.snapshot_time is None and not is_session(self.day):
            raise NotASession(self.day)
        if self.day is None and self.snapshot_time is None:
            if (self.start is None) != (self.end is None):
                raise ValueError("a date range needs both --start-date and --end-date")
            if self.start and self.end and self.start > self.end:
                raise ValueError(f"--start-date {self.start} is after --end-date {self.end}")

    def describe(self) -> dict[str, str]:
        if self.snapshot_time is not None:
            return {"snapshot_time": self.snapshot_time.isoformat()}
        if self.day is not None:
            return {"date": self.day.isoformat()}
        if self.start is not None and self.end is not None:
            return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}
        return {"date": "latest_ohlcv_session"}


@dataclass(frozen=True, slots=True)
class Target:
    """One session to process and its snapshot (cut-off) time."""

    day: dt.date
    snapshot_time: dt.datetime


def default_session(latest_ohlcv_date: dt.date | None) -> dt.date:
    """The date used when none is given: the latest date that has any OHLCV row."""
    if latest_ohlcv_date is None:
        raise NoDataError("no date given and the ohlcv table is empty; pass --date or --start-date/--end-date")
    return latest_ohlcv_date


def resolve_targets(selection: DateSelection, latest_ohlcv_date: dt.date | None) -> list[Target]:
    if selection.snapshot_time is not None:
        given = selection.snapshot_time.astimezone(dt.UTC)
        return [Target(trading_date_of(given), given)]
    if selection.day is not None:  # a session: DateSelection refuses any other day
        return [Target(selection.day, snapshot_time(selection.day))]
    if selection.start is not None and selection.end is not None:
        return [Target(d, snapshot_time(d)) for d in sessions(selection.start, selection.end)]
    day = default_session(latest_ohlcv_date)
    return [Target(day, snapshot_time(day))]
