"""Writes of a batch: one short transaction per ticker-day, retried on transient faults (SPEC §7)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import redact
from app.repositories.faults import Fault, describe
from app.repositories.snapshots import SnapshotRepository
from app.services.retry import DatabaseFailure, with_retries

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """The documents of one ticker-day, for one transaction."""

    time: dt.datetime
    ticker_id: uuid.UUID
    symbol: str
    documents: Mapping[str, dict[str, Any]]  # column → JSON-ready document
    keep_existing: frozenset[str] = frozenset()  # columns whose stored document must not be replaced
    ticket: Any = None  # the engine's own record of the ticker-day, handed back with the result


@dataclass(frozen=True, slots=True)
class WriteResult:
    request: WriteRequest
    failure: DatabaseFailure | None = None  # a database error that remained after retries
    error: str | None = None  # any other error (a document the database refused, a bug)

    @property
    def written(self) -> bool:
        return self.failure is None and self.error is None

    @property
    def reason(self) -> str | None:
        return self.failure.reason if self.failure is not None else self.error


@dataclass
class DocumentWriter:
    """Writes each request in its own transaction, in submission order."""

    session_factory: sessionmaker[Session]
    sleep: Callable[[float], None]
    _done: list[WriteResult] = field(default_factory=list)

    def submit(self, request: WriteRequest) -> None:
        self._done.append(self._write(request))

    def completed(self) -> list[WriteResult]:
        """Results that are ready, oldest first."""
        done, self._done = self._done, []
        return done

    def drain(self) -> list[WriteResult]:
        """Every outstanding result, oldest first."""
        return self.completed()

    def close(self) -> None:
        """Nothing is left in flight once results are drained."""

    def _write(self, request: WriteRequest) -> WriteResult:
        def upsert() -> None:
            with self.session_factory.begin() as session:
                SnapshotRepository(session).upsert_documents(
                    request.time, request.ticker_id, request.documents, request.keep_existing
                )

        def on_retry(attempt: int, fault: Fault, error: str) -> None:
            log.warning("write_retry", symbol=request.symbol, attempt=attempt, fault=fault.value, error=error)

        try:
            with_retries(upsert, sleep=self.sleep, what=f"writing {request.symbol}", on_retry=on_retry)
        except DatabaseFailure as failure:
            return WriteResult(request, failure=failure)
        except Exception as error:
            return WriteResult(request, error=redact(describe(error))[:300])
        return WriteResult(request)
