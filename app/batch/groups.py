"""Grouped commits (SPEC §7): the transaction of a group of ticker-days, a savepoint each.

Each ticker-day's upsert runs in its own SAVEPOINT of the group's transaction, so a
ticker-day the database refuses (a constraint, bad data) rolls back alone and the
others commit. A fault that would fail every ticker-day the same way (transient,
connection, schema, drift, permission, full disk) aborts the group: it is tried
again whole (0.1, 0.2, 0.4 s) and then every ticker-day of it carries the failure.
Results are known only once their group committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time as clock
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import Connection, Engine, RootTransaction

from app.batch.interrupts import StopRequest
from app.batch.retry import DatabaseFailure, with_retries
from app.config import redact
from app.repositories import snapshots
from app.repositories.faults import Fault, classify, describe, is_database_error

log = structlog.get_logger()

GROUP_TICKER_DAYS = 100
GROUP_SECONDS = 1.0

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


class GroupConnection:
    """One connection kept for all of a batch's writes (no pool checkout or Session per group);
    after any failure it is dropped and the next attempt opens a fresh one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._pipeline: contextlib.AbstractContextManager[Any] | None = None
        self._cursor: Any = None  # the driver's cursor, in pipeline mode

    def begin(self, *, pipelined: bool = False) -> None:
        """Open the group's transaction. `pipelined` (PostgreSQL): the statements are sent without
        waiting for each answer (psycopg pipeline mode), so round trips do not dominate; an error
        then surfaces later and fails the whole attempt, which is replayed without pipelining."""
        if self._connection is None:
            self._connection = self._engine.connect()
        try:
            self._transaction = self._connection.begin()
            if self._connection.dialect.name == "sqlite":
                # pysqlite begins no transaction for a SAVEPOINT: without this the first RELEASE
                # would commit. IMMEDIATE takes the write lock now, within the bounded busy wait.
                self._connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif pipelined:
                driver = self._connection.connection.driver_connection
                assert driver is not None
                self._pipeline = driver.pipeline()
                self._pipeline.__enter__()
                self._cursor = driver.cursor()
        except BaseException:
            self.close()
            raise

    def write(self, request: WriteRequest[Ticket]) -> WriteResult[Ticket]:
        """One ticker-day in its savepoint of the open transaction."""
        if self._connection is None or self._transaction is None:
            self.begin()
        assert self._connection is not None
        try:
            if self._cursor is not None:  # no answer to judge yet: any error fails the attempt
                snapshots.upsert_documents_in_savepoint(
                    self._cursor, request.time, request.ticker_id, request.documents, request.keep_existing
                )
                return WriteResult(request)
            return _write_one(self._connection, request)
        except BaseException:
            self.close()
            raise

    def commit(self) -> None:
        try:
            if self._pipeline is not None:
                pipeline, self._pipeline, self._cursor = self._pipeline, None, None
                pipeline.__exit__(None, None, None)  # every answer read: an error of the group raises here
            if self._transaction is not None:
                self._transaction.commit()
        except BaseException:
            self.close()
            raise
        finally:
            self._transaction = None

    def write_group(self, requests: Sequence[WriteRequest[Ticket]]) -> list[WriteResult[Ticket]]:
        """The whole group again, from scratch, in one transaction."""
        self.begin()
        results = [self.write(request) for request in requests]
        self.commit()
        return results

    def close(self) -> None:
        """Drop the connection; an open transaction rolls back with it."""
        self._transaction = None
        if self._connection is not None:
            # a connection that is already gone cannot be closed any better
            with contextlib.suppress(Exception):
                if self._pipeline is not None:  # never hand a connection in pipeline mode back to the pool
                    self._connection.invalidate()
                self._connection.close()
            self._connection = None
        self._pipeline = self._cursor = None


def _upsert(connection: Connection, request: WriteRequest[Ticket]) -> None:
    snapshots.upsert_documents(connection, request.time, request.ticker_id, request.documents, request.keep_existing)


def _write_one(connection: Connection, request: WriteRequest[Ticket]) -> WriteResult[Ticket]:
    savepoint = connection.begin_nested()
    try:
        _upsert(connection, request)
    except Exception as error:
        if is_database_error(error) and classify(error) is not Fault.OTHER:
            raise  # every ticker-day of the group would fail the same way: the group is aborted
        savepoint.rollback()
        return WriteResult(request, error=redact(describe(error))[:300])
    savepoint.commit()
    return WriteResult(request)


def write_group(
    connection: GroupConnection,
    requests: Sequence[WriteRequest[Ticket]],
    sleep: Callable[[float], None],
    stop: StopRequest | None = None,
    first_error: BaseException | None = None,
) -> list[WriteResult[Ticket]]:
    """One group in one transaction, retried whole on transient faults; results after it committed.
    `first_error`: the group was already tried (ticker-day by ticker-day) and failed so; that was
    the first attempt."""
    first = requests[0].symbol
    failed_before = [first_error] if first_error is not None else []

    def attempt() -> list[WriteResult[Ticket]]:
        if failed_before:
            raise failed_before.pop()
        return connection.write_group(requests)

    def on_retry(attempt: int, fault: Fault, error: str) -> None:
        log.warning(
            "write_retry", symbol=first, ticker_days=len(requests), attempt=attempt, fault=fault.value, error=error
        )

    try:
        return with_retries(
            attempt,
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


class OpenGroup(Generic[Ticket]):
    """A group being written: each ticker-day goes into the open transaction as it comes (so the
    writes overlap the computation of the next ones), and the group commits when it is due."""

    def __init__(self, connection: GroupConnection, sleep: Callable[[float], None], stop: StopRequest | None) -> None:
        self._connection = connection
        self._sleep = sleep
        self._stop = stop
        self.requests: list[WriteRequest[Ticket]] = []
        self._results: list[WriteResult[Ticket]] = []
        self._failed: BaseException | None = None
        self.opened = clock.monotonic()

    def add(self, request: WriteRequest[Ticket]) -> None:
        if not self.requests:
            try:
                self._connection.begin(pipelined=True)
            except Exception as error:
                self._failed = error
        self.requests.append(request)
        if self._failed is None:
            try:
                self._results.append(self._connection.write(request))
            except Exception as error:  # the transaction is gone: the group is tried again whole at commit
                self._failed = error

    @property
    def full(self) -> bool:
        return len(self.requests) >= GROUP_TICKER_DAYS

    def seconds_left(self) -> float:
        return max(0.0, self.opened + GROUP_SECONDS - clock.monotonic())

    def commit(self) -> list[WriteResult[Ticket]]:
        if self._failed is None:
            try:
                self._connection.commit()
                return self._results
            except Exception as error:
                self._failed = error
        # A fault every ticker-day would meet counts as the first attempt; anything else (one ticker-day
        # the database refused, seen only through the pipeline) is sorted out by a replay with savepoints.
        failed = self._failed
        shared = (
            failed if failed is not None and is_database_error(failed) and classify(failed) is not Fault.OTHER else None
        )
        return write_group(self._connection, self.requests, self._sleep, self._stop, first_error=shared)
