"""Turning flag text into values; a bad value is a usage error (exit 2) with one line."""

from __future__ import annotations

import datetime as dt

import typer

from app.time import OutsideCalendar, check_in_calendar


def parse_date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None
    _in_calendar(day, flag)
    return day


def _in_calendar(day: dt.date, flag: str) -> None:
    try:
        check_in_calendar(day)
    except OutsideCalendar as error:
        raise typer.BadParameter(str(error), param_hint=flag) from None


def parse_snapshot_time(value: str | None) -> tuple[dt.date | None, dt.datetime | None]:
    """A plain date maps to that session's snapshot time; a timestamp needs its offset."""
    if value is None:
        return None, None
    text = value.strip()
    if len(text) == 10:
        return parse_date(text, "--snapshot-time"), None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a date nor an ISO timestamp", param_hint="--snapshot-time"
        ) from None
    _in_calendar(moment.date(), "--snapshot-time")
    return None, moment  # DateSelection checks the offset


def parse_symbols(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(s.strip().upper() for s in value.split(",") if s.strip())


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """The i/n form; BatchOptions checks the range."""
    if value is None:
        return None
    try:
        index_text, count_text = value.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected i/n, e.g. 1/4", param_hint="--shard") from None
    return index, count
