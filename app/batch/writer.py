"""Writes of a batch: one short transaction per ticker-day, retried on transient faults (SPEC §7).

`ThreadedDocumentWriter` takes the writes off the critical path: a thread with its
own connection commits them in submission order while the main thread computes
the next ticker-days. Results come back in the same order, so counting, the
breaker and the IV history stay exactly as with writes made in turn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.batch.retry import DatabaseFailure, with_retries
from app.config import redact
from app.db import engine_of
from app.repositories import snapshots
from app.repositories.faults import Fault, describe

log = structlog.get_logger()

Ticket = TypeVar("Ticket")


@dataclass(frozen=True, slots=True)
class WriteRequest(Generic[Ticket]):
    """The documents of one ticker-day, for one transaction."""

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
    error: str | None = None  # any other error (a document the database refused, a bug)

    @property
    def written(self) -> bool:
        return self.failure is None and self.error is None

    @property
    def reason(self) -> str | None:
        return self.failure.reason if self.failure is not None else self.error


class Writer(Protocol[Ticket]):
    def submit(self, request: WriteRequest[Ticket]) -> None: ...

    def completed(self) -> list[WriteResult[Ticket]]:
        """Results that are ready, oldest first."""
        ...

    def drain(self) -> list[WriteResult[Ticket]]:
        """Every outstanding result, oldest first (waits for writes in flight)."""
        ...

    def close(self) -> None:
        """Stop; writes not yet started are dropped (the batch is over)."""
        ...


class _Connection:
    """One connection kept for all of a batch's writes (no pool checkout or Session per ticker-day);
    after any failure it is dropped and the next attempt opens a fresh one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def write(self, request: WriteRequest[Any]) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
        try:
            with self._connection.begin():
                snapshots.upsert_documents(
                    self._connection, request.time, request.ticker_id, request.documents, request.keep_existing
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            # a connection that is already gone cannot be closed any better
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def write_ticker_day(
    connection: _Connection, request: WriteRequest[Ticket], sleep: Callable[[float], None]
) -> WriteResult[Ticket]:
    """One ticker-day's documents in one transaction, retried on transient faults."""

    def on_retry(attempt: int, fault: Fault, error: str) -> None:
        log.warning("write_retry", symbol=request.symbol, attempt=attempt, fault=fault.value, error=error)

    try:
        with_retries(
            lambda: connection.write(request), sleep=sleep, what=f"writing {request.symbol}", on_retry=on_retry
        )
    except DatabaseFailure as failure:
        return WriteResult(request, failure=failure)
    except Exception as error:
        return WriteResult(request, error=redact(describe(error))[:300])
    return WriteResult(request)


@dataclass
class DocumentWriter(Generic[Ticket]):
    """Writes each request as it is submitted, on the caller's thread."""

    session_factory: sessionmaker[Session]
    sleep: Callable[[float], None]
    _done: list[WriteResult[Ticket]] = field(default_factory=list)
    _connection: _Connection | None = None

    def submit(self, request: WriteRequest[Ticket]) -> None:
        if self._connection is None:
            self._connection = _Connection(engine_of(self.session_factory))
        self._done.append(write_ticker_day(self._connection, request, self.sleep))

    def completed(self) -> list[WriteResult[Ticket]]:
        done, self._done = self._done, []
        return done

    def drain(self) -> list[WriteResult[Ticket]]:
        return self.completed()

    def close(self) -> None:
        self._done.clear()
        if self._connection is not None:
            self._connection.close()


class ThreadedDocumentWriter(Generic[Ticket]):
    """Writes on a thread of its own, in submission order; at most `depth` requests wait."""

    def __init__(self, session_factory: sessionmaker[Session], sleep: Callable[[float], None], depth: int = 64):
        self._connection = _Connection(engine_of(session_factory))
        self._sleep = sleep
        self._depth = depth
        self._waiting: deque[WriteRequest[Ticket]] = deque()
        self._done: deque[WriteResult[Ticket]] = deque()
        self._in_flight = 0  # submitted and not yet handed back
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="kapman-writer", daemon=True)
        self._thread.start()

    def submit(self, request: WriteRequest[Ticket]) -> None:
        with self._changed:
            while len(self._waiting) >= self._depth:  # back-pressure: compute never runs far ahead
                self._changed.wait()
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
            while len(self._done) < self._in_flight:
                self._changed.wait()
        return self.completed()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:
            self._connection.close()

    def _write_until_closed(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                request = self._waiting[0]
            result = write_ticker_day(self._connection, request, self._sleep)
            with self._changed:
                if self._waiting and self._waiting[0] is request:
                    self._waiting.popleft()
                self._done.append(result)
                self._changed.notify_all()
