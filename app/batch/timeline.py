"""Per ticker, values by row time: what a run carries forward from one session to the next.

The IV history (SPEC §6.2) and the previous dealer document (§13.3) are both read once
per ticker and then kept in memory, so that a range run sees the rows it wrote itself and
gives the documents its dates run one by one give.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from typing import Generic, TypeVar

T = TypeVar("T")


class Timeline(Generic[T]):
    def __init__(self) -> None:
        self._times: dict[uuid.UUID, list[dt.datetime]] = {}
        self._values: dict[uuid.UUID, list[T]] = {}

    def is_loaded(self, ticker_id: uuid.UUID) -> bool:
        return ticker_id in self._times

    def load(self, ticker_id: uuid.UUID, rows: list[tuple[dt.datetime, T]]) -> None:
        """Stored rows of a ticker not seen before in this run."""
        self._times.setdefault(ticker_id, [])
        self._values.setdefault(ticker_id, [])
        for time, value in rows:
            self.record(ticker_id, time, value)

    def record(self, ticker_id: uuid.UUID, time: dt.datetime, value: T) -> None:
        """The row at `time` holds `value` (replacing what was known for that time)."""
        times = self._times.setdefault(ticker_id, [])
        values = self._values.setdefault(ticker_id, [])
        at = bisect.bisect_left(times, time)
        if at < len(times) and times[at] == time:
            values[at] = value
        else:
            times.insert(at, time)
            values.insert(at, value)

    def latest_before(
        self, ticker_id: uuid.UUID, snapshot_time: dt.datetime, count: int
    ) -> list[tuple[dt.datetime, T]]:
        """The at most `count` most recent rows strictly before `snapshot_time`, oldest first."""
        times = self._times.get(ticker_id, [])
        values = self._values.get(ticker_id, [])
        end = bisect.bisect_left(times, snapshot_time)
        # Sessions only move forward: rows older than these are never needed again, so memory
        # stays bounded by `count`, not by the length of the range.
        stale = end - count
        if stale > 0:
            del times[:stale], values[:stale]
            end -= stale
        start = max(0, end - count)
        return list(zip(times[start:end], values[start:end], strict=True))
