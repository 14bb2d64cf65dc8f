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
    yield tmp_path
    calendar_time._session_days.cache_clear()


def test_the_cached_sessions_are_exchange_calendars_sessions(cache_dir):
    import exchange_calendars

    ours = calendar_time.sessions(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    reference = exchange_calendars.get_calendar("XNYS").sessions_in_range("2023-01-01", "2025-12-31")
    assert ours == [ts.date() for ts in reference]
    assert not calendar_time.is_session(dt.date(2024, 7, 4)) and calendar_time.is_session(dt.date(2024, 7, 5))
    assert list(cache_dir.glob("kapman/xnys-sessions-*.npy"))


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
    (cached,) = cache_dir.glob("kapman/xnys-sessions-*.npy")
    cached.write_bytes(b"not a calendar")
    calendar_time._session_days.cache_clear()
    assert len(calendar_time.sessions(dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 252
    assert cached.stat().st_size > 1000
