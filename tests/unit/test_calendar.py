"""NYSE sessions come from exchange_calendars once, then from a small cache file."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app.time as calendar_time

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(calendar_time.CACHE_DIR_ENV, str(tmp_path))
    calendar_time._session_days.cache_clear()
    calendar_time._session_ordinals.cache_clear()
    yield tmp_path
    calendar_time._session_days.cache_clear()
    calendar_time._session_ordinals.cache_clear()


def test_the_cached_sessions_are_exchange_calendars_sessions(cache_dir):
    import exchange_calendars

    ours = calendar_time.sessions(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    reference = exchange_calendars.get_calendar("XNYS").sessions_in_range("2023-01-01", "2025-12-31")
    assert ours == [ts.date() for ts in reference]
    assert not calendar_time.is_session(dt.date(2024, 7, 4))
    assert calendar_time.is_session(dt.date(2024, 7, 5))
    assert list(cache_dir.glob("kapman/xnys-sessions-*.npz"))


def test_a_later_process_reads_the_cache_without_pandas(cache_dir):
    calendar_time.sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31))  # builds the cache
    script = (
        "import sys, datetime as dt\n"
        "from app.time import sessions\n"
        "print(len(sessions(dt.date(2024, 1, 1), dt.date(2024, 12, 31))), 'pandas' in sys.modules)\n"
    )
    env = {**os.environ, calendar_time.CACHE_DIR_ENV: str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["252", "False"]


def test_a_damaged_cache_file_is_rebuilt(cache_dir):
    calendar_time.sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    (cached,) = cache_dir.glob("kapman/xnys-sessions-*.npz")
    cached.write_bytes(b"not a calendar")
    calendar_time._session_days.cache_clear()
    assert len(calendar_time.sessions(dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 252
    assert cached.stat().st_size > 1000


def _reference(start: str, end: str) -> list[dt.date]:
    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XNYS", start="2000-01-01", end="2100-12-31")
    return [ts.date() for ts in calendar.sessions_in_range(start, end)]


def test_which_dates_are_sessions_does_not_depend_on_the_clock(cache_dir, monkeypatch):
    """exchange_calendars ends its default calendar a year after the machine's clock; a clock a year
    back (2025-11-30) once made a 2026/2027 range empty, and the real clock makes a 2028 range empty."""
    import exchange_calendars.exchange_calendar as xc
    import pandas as pd

    monkeypatch.setattr(xc, "GLOBAL_DEFAULT_END", pd.Timestamp("2025-11-30") + pd.DateOffset(years=1))
    got = calendar_time.sessions(dt.date(2026, 11, 2), dt.date(2028, 1, 14))
    assert got == _reference("2026-11-02", "2028-01-14")
    # hand-checked: Thanksgiving 2026 is Thursday 26 November, New Year 2028 falls on a Saturday (no
    # weekday holiday), Martin Luther King Day 2028 is Monday 17 January
    assert dt.date(2026, 11, 26) not in got
    assert dt.date(2026, 11, 27) in got
    assert calendar_time.sessions(dt.date(2028, 1, 10), dt.date(2028, 1, 18)) == [
        dt.date(2028, 1, d) for d in (10, 11, 12, 13, 14, 18)
    ]


def test_a_cache_built_to_an_earlier_end_is_extended_not_trusted(cache_dir):
    import numpy as np

    path = calendar_time._cache_file()
    path.parent.mkdir(parents=True)
    short = np.array(["2025-12-30", "2025-12-31"], dtype="datetime64[D]")  # "today + 1 year", a year ago
    with path.open("wb") as handle:
        np.savez(handle, days=short, covered_through=np.datetime64("2025-12-31", "D"))
    assert calendar_time.sessions(dt.date(2027, 1, 1), dt.date(2027, 12, 31)) == _reference("2027-01-01", "2027-12-31")
    with np.load(path) as stored:
        assert stored["covered_through"].item() == calendar_time.CALENDAR_END


def test_neighbouring_sessions_and_the_calendar_span(cache_dir):
    assert calendar_time.neighbouring_sessions(dt.date(2024, 1, 6)) == (dt.date(2024, 1, 5), dt.date(2024, 1, 8))
    # Good Friday 2024 is 29 March: Thursday 28 before, Monday 1 April after
    assert calendar_time.neighbouring_sessions(dt.date(2024, 3, 29)) == (dt.date(2024, 3, 28), dt.date(2024, 4, 1))
    for outside in (dt.date(9999, 12, 31), dt.date(1999, 12, 31), dt.date(2101, 1, 1)):
        with pytest.raises(calendar_time.OutsideCalendar):
            calendar_time.is_session(outside)
    assert calendar_time.is_session(dt.date(2100, 12, 31))  # a Friday, the last date of the span


@pytest.mark.parametrize(
    ("since", "through", "count"),
    [
        (dt.date(2026, 11, 20), dt.date(2026, 11, 23), 1),  # Friday to Monday
        (dt.date(2026, 11, 25), dt.date(2026, 11, 27), 1),  # Thanksgiving (26th) is closed, the 27th opens
        (dt.date(2026, 11, 20), dt.date(2026, 11, 20), 0),
        (dt.date(2026, 11, 23), dt.date(2026, 11, 20), 0),  # backwards: nothing in between
        (dt.date(2026, 11, 21), dt.date(2026, 11, 22), 0),  # a weekend
        (dt.date(2024, 12, 31), dt.date(2025, 12, 31), 250),  # NYSE 2025: 250 sessions
    ],
)
def test_sessions_after_counts_the_sessions_in_the_half_open_span(since, through, count):
    assert calendar_time.sessions_after(since, through) == count
    assert count == len(calendar_time.sessions(since + dt.timedelta(days=1), through))


def test_sessions_after_refuses_a_day_outside_the_calendar():
    with pytest.raises(calendar_time.OutsideCalendar):
        calendar_time.sessions_after(dt.date(2026, 1, 2), dt.date(2101, 1, 3))
