"""Each ticker's previous dealer document, read once per run and carried forward (SPEC §13.3).

A range run must give the documents its dates run one by one give. So a session
compares against the most recent usable dealer document before it: stored before
the run, written by another stage inside the range, or computed by this run itself
(for ticker-days it skipped or could not write, the document that stays stored).
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid

from app.domain.previous import DealerSnapshot, PreviousDealer
from app.time import sessions, trading_date_of


class PreviousBook:
    def __init__(self) -> None:
        self._times: dict[uuid.UUID, list[dt.datetime]] = {}
        self._snapshots: dict[uuid.UUID, list[DealerSnapshot]] = {}

    def is_loaded(self, ticker_id: uuid.UUID) -> bool:
        return ticker_id in self._times

    def load(self, ticker_id: uuid.UUID, rows: list[tuple[dt.datetime, DealerSnapshot]]) -> None:
        """Stored documents of a ticker not seen before in this run."""
        self._times.setdefault(ticker_id, [])
        self._snapshots.setdefault(ticker_id, [])
        for time, snapshot in rows:
            self.record(ticker_id, time, snapshot)

    def record(self, ticker_id: uuid.UUID, time: dt.datetime, snapshot: DealerSnapshot) -> None:
        """The row at `time` holds a usable dealer document with these figures."""
        times = self._times.setdefault(ticker_id, [])
        snapshots = self._snapshots.setdefault(ticker_id, [])
        at = bisect.bisect_left(times, time)
        if at < len(times) and times[at] == time:
            snapshots[at] = snapshot
        else:
            times.insert(at, time)
            snapshots.insert(at, snapshot)

    def previous(self, ticker_id: uuid.UUID, snapshot_time: dt.datetime, day: dt.date) -> PreviousDealer | None:
        """The most recent document strictly before `before`, with the NYSE sessions from it to `day`."""
        times = self._times.get(ticker_id, [])
        snapshots = self._snapshots.get(ticker_id, [])
        end = bisect.bisect_left(times, snapshot_time)
        if end == 0:
            return None
        # Sessions only move forward: documents older than this one are never needed again.
        del times[: end - 1], snapshots[: end - 1]
        time, snapshot = times[0], snapshots[0]
        stamped = snapshot.snapshot_date
        since = dt.date.fromisoformat(stamped) if stamped else trading_date_of(time)
        return PreviousDealer(snapshot, sessions_apart=len(sessions(since + dt.timedelta(days=1), day)))
