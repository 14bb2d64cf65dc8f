"""One ticker-day through the jobs: its inputs, each job's result, and its write request."""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic

import structlog

from app.batch.chunks import ChunkInputs
from app.batch.dates import Target
from app.batch.history import HistoryBook
from app.batch.jobs import Doc, DocumentJob, EarlierDocuments, HistoryWindow, TickerDay
from app.batch.previous import PreviousBook
from app.batch.writer import WriteRequest
from app.config import redact
from app.domain.models import SnapshotContext
from app.repositories.faults import describe
from app.repositories.snapshots import ABSENT_ROW, RowState
from app.repositories.universe import TickerRef
from app.time import age_days

log = structlog.get_logger()


class JobState(StrEnum):
    COMPUTED = "computed"  # a document to write
    FAILED = "failed"  # the computation failed: an ERROR document, written only where none is stored
    SKIPPED = "skipped"  # --fill-missing keeps the stored document


@dataclass(slots=True)
class JobResult(Generic[Doc]):
    """What one job made of one ticker-day."""

    job: DocumentJob[Doc]
    state: JobState
    document: Doc | None = None
    stored: dict[str, Any] | None = None  # the JSON-ready form that is written
    failure: str | None = None  # why the computation failed


@dataclass(slots=True)
class TickerDayWork:
    """A computed ticker-day on its way to the database."""

    ref: TickerRef
    target: Target
    row: RowState
    started: float
    results: list[JobResult[Any]] = field(default_factory=list)  # in job order

    def earlier(self) -> EarlierDocuments:
        return {r.job.name: r.document for r in self.results if r.document is not None}

    def write_request(self) -> WriteRequest[TickerDayWork] | None:
        """The documents to write in one transaction, or None when every job was skipped."""
        written = [r for r in self.results if r.stored is not None]
        if not written:
            return None
        return WriteRequest(
            time=self.target.snapshot_time,
            ticker_id=self.ref.ticker_id,
            symbol=self.ref.symbol,
            documents={r.job.column: r.stored for r in written if r.stored is not None},
            keep_existing=frozenset(r.job.column for r in written if r.state is JobState.FAILED),
            ticket=self,
        )


@dataclass(frozen=True, slots=True)
class ComputeContext:
    """What every ticker-day of a batch shares."""

    jobs: Sequence[DocumentJob[Any]]
    model_version: str
    overrides: tuple[str, ...]
    fill_missing: bool
    history: HistoryBook | None
    previous: PreviousBook | None = None  # §13.3: each ticker's previous dealer document


def compute_ticker_day(ref: TickerRef, inputs: ChunkInputs, ctx: ComputeContext) -> TickerDayWork:
    target = inputs.target
    ticker_id = ref.ticker_id
    row = inputs.row_states.get(ticker_id, ABSENT_ROW)
    work = TickerDayWork(ref, target, row, clock.perf_counter())
    options_time = inputs.snapshot_times.get(ticker_id)
    context = SnapshotContext(
        symbol=ref.symbol,
        ticker_id=ticker_id,
        snapshot_time=target.snapshot_time,
        snapshot_date=target.day,
        model_version=ctx.model_version,
        options_snapshot_time=options_time,
        options_snapshot_age_days=age_days(target.day, options_time) if options_time else None,
        overrides=ctx.overrides,
    )
    day = TickerDay(
        ref=ref,
        target=target,
        context=context,
        chain=inputs.chains.get(ticker_id),
        spot=inputs.spots.get(ticker_id),
        row=row,
        history=ctx.history.window(ticker_id, target.snapshot_time) if ctx.history else HistoryWindow(),
        previous_dealer=ctx.previous.previous(ticker_id, target.snapshot_time, target.day) if ctx.previous else None,
        bars=inputs.bars.get(ticker_id),
    )
    with structlog.contextvars.bound_contextvars(symbol=ref.symbol, date=target.day.isoformat()):
        for job in ctx.jobs:
            if ctx.fill_missing and row.column(job.column).complete:
                work.results.append(JobResult(job, JobState.SKIPPED))
            else:
                work.results.append(_run_job(job, day, work.earlier(), context))
    return work


def _run_job(
    job: DocumentJob[Doc], day: TickerDay, earlier: EarlierDocuments, context: SnapshotContext
) -> JobResult[Doc]:
    try:
        document = job.compute(day, earlier)
        stored = document.model_dump(mode="json")  # a document that cannot be stored fails here
        return JobResult(job, JobState.COMPUTED, document, stored)
    except Exception as error:
        reason = redact(describe(error))[:300]
        log.warning("ticker_soft_failed", document=job.name.value, error=reason)
        log.debug("ticker_traceback", document=job.name.value, exc_info=True)
        document = job.error_document(context, reason)
        return JobResult(job, JobState.FAILED, document, document.model_dump(mode="json"), reason)
