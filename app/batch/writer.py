"""Writes of a batch: grouped commits, one savepoint per ticker-day (SPEC §7).

A group of ticker-days is one transaction; each ticker-day's upsert runs in its own
SAVEPOINT, so a ticker-day the database refuses (a constraint, bad data) rolls back
alone and the others commit. A group commits within GROUP_SECONDS of its first
ticker-day or at GROUP_TICKER_DAYS, whichever comes first, and at once when the
engine drains (a new session, the end, an interrupt: the group in flight is
committed). A fault that would fail every ticker-day the same way (transient,
connection, schema, permission, full disk) aborts the group: it is retried whole
(0.1, 0.2, 0.4 s) and then every ticker-day of it carries the failure. Results are
handed back only after their group committed, in submission order, so counting,
the breaker and the IV history see exactly what is stored.

`ThreadedDocumentWriter` takes the writes off the critical path: a thread with its
own connection writes the groups while the main thread computes the next
ticker-days. Once a stop is requested nothing waits for it longer than
STOP_GRACE_SECONDS (a statement still blocked is cancelled, or abandoned
uncommitted: never half-written).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time as clock
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.batch.interrupts import StopRequest
from app.batch.retry import DatabaseFailure, with_retries
from app.config import redact
from app.db import engine_of
from app.repositories import snapshots
from app.repositories.faults import Fault, classify, describe, is_database_error

log = structlog.get_logger()

GROUP_TICKER_DAYS = 100
GROUP_SECONDS = 1.0
STOP_GRACE_SECONDS = 3.0  # with the cancel itself, a signal is honoured well within SPEC §7's 5 s
_POLL_SECONDS = 0.1

Ticket = TypeVar("Ticket")


@dataclass(frozen=True, slots=True)
class WriteRequest(Generic[Ticket]):
    """The documents of one ticker-day, for one savepoint."""

    time: dt.datetime
    ticker_id: uuid.UUID
    symbol: str
    documents: Mapping[str, dict[str, Any]]  # column → JSON-ready document
    keep_existing: frozenset[str]  # columns whose stored document must not be replaced
    ticket: Ticket  # the engine's own record of the ticker-day, handed back with the result


@dataclass(frozen=True, slots=True)
class WriteResult(Generic[Ticket]):
    request: WriteRequest[Ticket]
    failure: DatabaseFailure | None = None  # a database error that remained after retries
    error: str | None = None  # any other error (a document the database refused, a bug, an interrupt)

    @property
    def written(self) -> bool:
        return self.failure is None and self.error is None

    @property
    def reason(self) -> str | None:
        return self.failure.reason if self.failure is not None else self.error


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


class _GroupAborted(Exception):
    """A fault that fails the whole group (raised with the database error as its cause)."""


class _Connection:
    """One connection kept for all of a batch's writes (no pool checkout or Session per group);
    after any failure it is dropped and the next attempt opens a fresh one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def write_group(self, requests: Sequence[WriteRequest[Ticket]]) -> list[WriteResult[Ticket]]:
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        try:
            with connection.begin():
                if connection.dialect.name == "sqlite":
                    # pysqlite begins no transaction for a SAVEPOINT: without this the first RELEASE
                    # would commit. IMMEDIATE takes the write lock now, within the bounded busy wait.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                return [_write_one(connection, request) for request in requests]
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            # a connection that is already gone cannot be closed any better
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def _write_one(connection: Connection, request: WriteRequest[Ticket]) -> WriteResult[Ticket]:
    savepoint = connection.begin_nested()
    try:
        snapshots.upsert_documents(
            connection, request.time, request.ticker_id, request.documents, request.keep_existing
        )
    except Exception as error:
        if is_database_error(error) and classify(error) is not Fault.OTHER:
            raise  # every ticker-day of the group would fail the same way: the group is aborted
        savepoint.rollback()
        return WriteResult(request, error=redact(describe(error))[:300])
    savepoint.commit()
    return WriteResult(request)


def write_group(
    connection: _Connection,
    requests: Sequence[WriteRequest[Ticket]],
    sleep: Callable[[float], None],
    stop: StopRequest | None = None,
) -> list[WriteResult[Ticket]]:
    """One group in one transaction, retried whole on transient faults; results after it committed."""
    first = requests[0].symbol

    def on_retry(attempt: int, fault: Fault, error: str) -> None:
        log.warning(
            "write_retry", symbol=first, ticker_days=len(requests), attempt=attempt, fault=fault.value, error=error
        )

    try:
        return with_retries(
            lambda: connection.write_group(requests),
            sleep=sleep,
            what=f"writing {first}" + (f" and {len(requests) - 1} more ticker-days" if len(requests) > 1 else ""),
            on_retry=on_retry,
            give_up=(lambda: stop.requested) if stop is not None else None,
        )
    except DatabaseFailure as failure:
        if stop is not None and stop.requested:
            return [WriteResult(r, error=f"interrupted before it was written ({failure.reason})") for r in requests]
        return [WriteResult(r, failure=failure) for r in requests]
    except Exception as error:  # a bug: no ticker-day of the group is known to be written
        reason = redact(describe(error))[:300]
        return [WriteResult(r, error=reason) for r in requests]


class _Group(Generic[Ticket]):
    """Ticker-days waiting to be written together."""

    def __init__(self) -> None:
        self.requests: list[WriteRequest[Ticket]] = []
        self.opened = 0.0

    def add(self, request: WriteRequest[Ticket]) -> None:
        if not self.requests:
            self.opened = clock.monotonic()
        self.requests.append(request)

    @property
    def due(self) -> bool:
        return len(self.requests) >= GROUP_TICKER_DAYS or (
            bool(self.requests) and clock.monotonic() - self.opened >= GROUP_SECONDS
        )

    def take(self) -> list[WriteRequest[Ticket]]:
        taken, self.requests = self.requests, []
        return taken


class DocumentWriter(Generic[Ticket]):
    """Groups on the caller's thread: a group is written when it is due or drained."""

    def __init__(
        self, session_factory: sessionmaker[Session], sleep: Callable[[float], None], stop: StopRequest | None = None
    ) -> None:
        self._engine = engine_of(session_factory)
        self._sleep = sleep
        self._stop = stop
        self._group: _Group[Ticket] = _Group()
        self._done: list[WriteResult[Ticket]] = []
        self._connection: _Connection | None = None

    def submit(self, request: WriteRequest[Ticket]) -> None:
        self._group.add(request)
        if self._group.due:
            self._flush()

    def completed(self) -> list[WriteResult[Ticket]]:
        done, self._done = self._done, []
        return done

    def drain(self) -> list[WriteResult[Ticket]]:
        self._flush()
        return self.completed()

    def _flush(self) -> None:
        requests = self._group.take()
        if requests:
            if self._connection is None:
                self._connection = _Connection(self._engine)
            self._done.extend(write_group(self._connection, requests, self._sleep, self._stop))

    def close(self) -> None:
        self._group.take()
        self._done.clear()
        if self._connection is not None:
            self._connection.close()


class ThreadedDocumentWriter(Generic[Ticket]):
    """Writes groups on a thread of its own, in submission order; at most `depth` requests wait."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sleep: Callable[[float], None],
        stop: StopRequest | None = None,
        depth: int = GROUP_TICKER_DAYS,
    ):
        self._connection = _Connection(engine_of(session_factory))
        self._sleep = sleep
        self._stop = stop
        self._depth = depth
        self._waiting: deque[WriteRequest[Ticket]] = deque()
        self._done: deque[WriteResult[Ticket]] = deque()
        self._in_flight = 0  # submitted and not yet handed back
        self._flush = False  # the engine is draining: write what is there now
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
        try:
            while (group := self._next_group()) is not None:
                results = write_group(self._connection, group, self._sleep, self._stop)
                with self._changed:
                    self._done.extend(results)
                    self._changed.notify_all()
        finally:
            self._connection.close()

    def _next_group(self) -> list[WriteRequest[Ticket]] | None:
        """Wait for a first request, then gather more until the group is due, drained or stopped."""
        group: _Group[Ticket] = _Group()
        with self._changed:
            while not self._waiting and not self._closed:
                self._changed.wait()
            while not self._closed:
                while self._waiting and len(group.requests) < GROUP_TICKER_DAYS:
                    group.add(self._waiting.popleft())
                self._changed.notify_all()  # room for submit
                stopping = self._stop is not None and self._stop.requested
                if group.due or self._flush or stopping:
                    break
                self._changed.wait(max(0.0, group.opened + GROUP_SECONDS - clock.monotonic()))
        return group.take() if group.requests and not self._closed else None
