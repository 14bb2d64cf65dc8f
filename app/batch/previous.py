"""Each ticker's previous dealer document, read once per run and carried forward (SPEC §13.3).

A range run must give the documents its dates run one by one give. So a session
compares against the most recent usable dealer document before it: stored before
the run, written by another stage inside the range, or computed by this run itself
(for ticker-days it skipped or could not write, the document that stays stored).
"""

from __future__ import annotations

import datetime as dt
import uuid

from app.batch.timeline import Timeline
from app.domain.previous import DealerSnapshot, PreviousDealer
from app.time import sessions_after, trading_date_of


class PreviousBook(Timeline[DealerSnapshot]):
    def previous(self, ticker_id: uuid.UUID, snapshot_time: dt.datetime, day: dt.date) -> PreviousDealer | None:
        """The most recent document strictly before `snapshot_time`, with the NYSE sessions from it to `day`."""
        latest = self.latest_before(ticker_id, snapshot_time, 1)
        if not latest:
            return None
        time, snapshot = latest[0]
        stamped = snapshot.snapshot_date
        since = dt.date.fromisoformat(stamped) if stamped else trading_date_of(time)
        return PreviousDealer(snapshot, sessions_apart=sessions_after(since, day))
