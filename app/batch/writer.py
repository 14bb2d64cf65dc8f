"""Writes of a batch: grouped commits, one savepoint per ticker-day (SPEC §7).

A group of ticker-days is one transaction (app/batch/groups.py). Each ticker-day is
written into the open group as it comes, so the writes overlap the computation of
the next ones; the group commits GROUP_SECONDS after its first ticker-day or at
GROUP_TICKER_DAYS, whichever comes first, and at once when the engine drains (a new
session, the end, an interrupt: the group in flight is committed). Results are
handed back only after their group committed, in submission order, so counting,
the breaker and the IV history see exactly what is stored.

`ThreadedDocumentWriter` takes the writes off the critical path: a thread with its
own connection writes while the main thread computes. Once a stop is requested
nothing waits for it longer than STOP_GRACE_SECONDS (a statement still blocked is
cancelled, or abandoned uncommitted: never half-written).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.batch.groups import GroupConnection, OpenGroup, Ticket, WriteRequest, WriteResult
from app.batch.interrupts import StopRequest
from app.db import engine_of

__all__ = ["DocumentWriter", "ThreadedDocumentWriter", "WriteRequest", "WriteResult", "Writer"]

STOP_GRACE_SECONDS = 3.0  # with the cancel itself, a signal is honoured well within SPEC §7's 5 s
_POLL_SECONDS = 0.1


class Writer(Protocol[Ticket]):
    def submit(self, request: WriteRequest[Ticket]) -> None: ...

    def completed(self) -> list[WriteResult[Ticket]]:
        """Results of committed groups, oldest first."""
        ...

    def drain(self) -> list[WriteResult[Ticket]]:
        """Commit the group in flight; every outstanding result, oldest first."""
        ...

    def close(self) -> None:
        """Stop; writes not yet started are dropped (the batch is over)."""
        ...


class DocumentWriter(Generic[Ticket]):
    """Groups on the caller's thread: each write goes into the open group, which commits when due or drained."""

    def __init__(
        self, session_factory: sessionmaker[Session], sleep: Callable[[float], None], stop: StopRequest | None = None
    ) -> None:
        self._connection = GroupConnection(engine_of(session_factory))
        self._sleep = sleep
        self._stop = stop
        self._group: OpenGroup[Ticket] | None = None
        self._done: list[WriteResult[Ticket]] = []

    def submit(self, request: WriteRequest[Ticket]) -> None:
        if self._group is None:
            self._group = OpenGroup(self._connection, self._sleep, self._stop)
        self._group.add(request)
        if self._group.full or not self._group.seconds_left():
            self._commit()

    def completed(self) -> list[WriteResult[Ticket]]:
        done, self._done = self._done, []
        return done

    def drain(self) -> list[WriteResult[Ticket]]:
        self._commit()
        return self.completed()

    def _commit(self) -> None:
        if self._group is not None:
            group, self._group = self._group, None
            self._done.extend(group.commit())

    def close(self) -> None:
        self._group = None
        self._done.clear()
        self._connection.close()


class ThreadedDocumentWriter(Generic[Ticket]):
    """Writes groups on a thread of its own, in submission order; at most `depth` requests wait."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sleep: Callable[[float], None],
        stop: StopRequest | None = None,
        depth: int = 64,
    ):
        self._connection = GroupConnection(engine_of(session_factory))
        self._sleep = sleep
        self._stop = stop
        self._depth = depth
        self._waiting: deque[WriteRequest[Ticket]] = deque()
        self._done: deque[WriteResult[Ticket]] = deque()
        self._in_flight = 0  # submitted and not yet handed back
        self._flush = False  # the engine is draining: commit what is there now
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="kapman-writer", daemon=True)
        self._thread.start()

    def submit(self, request: WriteRequest[Ticket]) -> None:
        with self._changed:
            while len(self._waiting) >= self._depth and not self._gave_up():  # back-pressure
                self._changed.wait(_POLL_SECONDS)
            self._waiting.append(request)
            self._in_flight += 1
            self._changed.notify_all()

    def completed(self) -> list[WriteResult[Ticket]]:
        with self._changed:
            done = list(self._done)
            self._done.clear()
            self._in_flight -= len(done)
            return done

    def drain(self) -> list[WriteResult[Ticket]]:
        with self._changed:
            self._flush = True
            self._changed.notify_all()
            while len(self._done) < self._in_flight and not self._gave_up():
                self._changed.wait(_POLL_SECONDS)
            self._flush = False
        return self.completed()

    def _gave_up(self) -> bool:
        """A stop was requested more than STOP_GRACE_SECONDS ago: wait no longer for the thread."""
        return self._stop is not None and self._stop.seconds_since_request() > STOP_GRACE_SECONDS

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
        stopping = self._stop is not None and self._stop.requested
        self._thread.join(timeout=STOP_GRACE_SECONDS if stopping else 60)

    def _run(self) -> None:
        group: OpenGroup[Ticket] | None = None
        try:
            while True:
                request = self._next_request(group)
                if request is _CLOSED:
                    return  # an open group rolls back with the connection (the batch is over)
                if isinstance(request, WriteRequest):
                    group = group or OpenGroup(self._connection, self._sleep, self._stop)
                    group.add(request)
                if group is not None and (request is None or group.full or not group.seconds_left()):
                    results = group.commit()
                    group = None
                    with self._changed:
                        self._done.extend(results)
                        self._changed.notify_all()
        finally:
            self._connection.close()

    def _next_request(self, group: OpenGroup[Ticket] | None) -> WriteRequest[Ticket] | object | None:
        """The next request; None when the open group is to be committed now (due, drained, stopping)."""
        with self._changed:
            while not self._waiting and not self._closed:
                if group is not None:
                    stopping = self._stop is not None and self._stop.requested
                    if self._flush or stopping or not group.seconds_left():
                        return None
                self._changed.wait(group.seconds_left() if group is not None else None)
            if self._closed:
                return _CLOSED
            request = self._waiting.popleft()
            self._changed.notify_all()  # room for submit
            return request


_CLOSED = object()
