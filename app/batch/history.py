"""Each ticker's IV history, read once per run and carried forward in memory (SPEC §6.2).

A range run must give the documents that running its dates one by one gives. So a
session ranks against the stored rows before the run, the rows other stages
wrote inside the range, and the values this run itself computed (or, for ticker-days
it skipped or could not write, the values that stay stored).
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np

from app.batch.jobs import HistoryPoint, HistoryWindow
from app.batch.timeline import Timeline


class HistoryBook(Timeline[HistoryPoint]):
    def __init__(self, lookback: int) -> None:
        super().__init__()
        self.lookback = lookback

    def window(self, ticker_id: uuid.UUID, snapshot_time: dt.datetime) -> HistoryWindow:
        """Non-null values of the most recent `lookback` rows strictly before `snapshot_time`."""
        rows = [point for _, point in self.latest_before(ticker_id, snapshot_time, self.lookback)]
        return HistoryWindow(
            average_iv=np.array([p.average_iv for p in rows if p.average_iv is not None], dtype=np.float64),
            atm_iv_30d=np.array([p.atm_iv_30d for p in rows if p.atm_iv_30d is not None], dtype=np.float64),
        )
