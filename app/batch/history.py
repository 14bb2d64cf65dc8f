"""Each ticker's IV history, read once per run and carried forward in memory (SPEC §6.2).

A range run must give the documents that running its dates one by one gives. So a
session ranks against the stored rows before the run, the rows other stages
wrote inside the range, and the values this run itself computed (or, for ticker-days
it skipped or could not write, the values that stay stored).
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid

import numpy as np

from app.batch.jobs import HistoryPoint, HistoryWindow


class HistoryBook:
    def __init__(self, lookback: int) -> None:
        self.lookback = lookback
        self._times: dict[uuid.UUID, list[dt.datetime]] = {}
        self._points: dict[uuid.UUID, list[HistoryPoint]] = {}

    def is_loaded(self, ticker_id: uuid.UUID) -> bool:
        return ticker_id in self._times

    def load(self, ticker_id: uuid.UUID, rows: list[tuple[dt.datetime, HistoryPoint]]) -> None:
        """Stored rows of a ticker not seen before in this run."""
        self._times.setdefault(ticker_id, [])
        self._points.setdefault(ticker_id, [])
        for time, point in rows:
            self.record(ticker_id, time, point)

    def record(self, ticker_id: uuid.UUID, time: dt.datetime, point: HistoryPoint) -> None:
        """A row at `time` holds `point` (replacing what was known for that time)."""
        times = self._times.setdefault(ticker_id, [])
        points = self._points.setdefault(ticker_id, [])
        at = bisect.bisect_left(times, time)
        if at < len(times) and times[at] == time:
            points[at] = point
        else:
            times.insert(at, time)
            points.insert(at, point)

    def window(self, ticker_id: uuid.UUID, snapshot_time: dt.datetime) -> HistoryWindow:
        """Non-null values of the most recent `lookback` rows strictly before `before`."""
        times = self._times.get(ticker_id, [])
        points = self._points.get(ticker_id, [])
        end = bisect.bisect_left(times, snapshot_time)
        # Sessions only move forward: rows that fell out of the window are never needed again,
        # so memory stays bounded by the lookback, not by the length of the range.
        stale = end - self.lookback
        if stale > 0:
            del times[:stale], points[:stale]
            end -= stale
        rows = points[max(0, end - self.lookback) : end]
        return HistoryWindow(
            average_iv=np.array([p.average_iv for p in rows if p.average_iv is not None], dtype=np.float64),
            atm_iv_30d=np.array([p.atm_iv_30d for p in rows if p.atm_iv_30d is not None], dtype=np.float64),
        )
