"""What a run carries forward (the IV history of SPEC §6.2, the previous dealer document of §13.3), read
for each chunk on a connection of its own while the chunk's chains are read.

Decoding the stored documents is the server's largest cost in an evening (every ticker is met for the
first time), and the chain read need not wait for it: the two reads run side by side.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from app.db import is_in_memory_sqlite
from app.domain.previous import DealerSnapshot
from app.repositories.dealer_history import load_previous_dealer
from app.repositories.snapshots import SnapshotRepository

if TYPE_CHECKING:
    from app.batch.chunks import ReadPlan
    from app.batch.dates import Target

R = TypeVar("R")
History = dict[uuid.UUID, list[tuple[dt.datetime, float | None, float | None]]]
Previous = dict[uuid.UUID, list[tuple[dt.datetime, DealerSnapshot]]]
Carried = tuple[History, Previous]


class InlineExecutor(Executor):
    """Runs each call at once on the calling thread: an in-memory SQLite database has one connection."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed over as a thread pool would
            future.set_exception(error)
        return future


class CarriedReader:
    def __init__(self, session_factory: sessionmaker[Session], plan: ReadPlan) -> None:
        self._session_factory = session_factory
        self._plan = plan
        self._executor: Executor = (
            InlineExecutor()
            if is_in_memory_sqlite(session_factory)
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="kapman-read-carried")
        )

    def submit(self, target: Target, fresh: list[uuid.UUID], unmet: list[uuid.UUID]) -> Future[Carried]:
        """The IV history of the tickers `fresh` and the previous dealer documents of the tickers `unmet`."""
        return self._executor.submit(self._read, target, fresh, unmet)

    def _read(self, target: Target, fresh: list[uuid.UUID], unmet: list[uuid.UUID]) -> Carried:
        plan = self._plan
        history: History = {}
        previous: Previous = {}
        through, own = max(plan.own_snapshot_times), plan.own_snapshot_times
        with self._session_factory() as session:
            if fresh:
                repository = SnapshotRepository(session)
                history = repository.load_iv_history(
                    fresh, target.snapshot_time, plan.history_lookback, through=through, excluding=own
                )
            if unmet:
                previous = load_previous_dealer(session, unmet, target.snapshot_time, through=through, excluding=own)
        return history, previous

    def close(self) -> None:
        """A read in flight finishes on its own connection (a stop cancels its statement)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
