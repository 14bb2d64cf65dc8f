"""Settling a ticker-day once its write is known: counts, data-gap and done events, the IV history
later sessions rank against, progress and the breaker (SPEC §6.2, §7, §9)."""

from __future__ import annotations

import time as clock
from typing import Any

import structlog

from app.batch.breaker import FailureBreaker, FailureKind
from app.batch.errors import BatchFailure
from app.batch.history import HistoryBook
from app.batch.jobs import DocumentJob, HistoryPoint, JobName
from app.batch.previous import PreviousBook
from app.batch.progress import Progress
from app.batch.retry import failure_reason
from app.batch.summary import BatchSummary, FailureEnd, Outcome
from app.batch.ticker_day import JobResult, JobState, TickerDayWork
from app.batch.writer import WriteResult
from app.repositories.faults import Fault

log = structlog.get_logger()


class Settler:
    def __init__(
        self,
        summaries: dict[JobName, BatchSummary],
        history: HistoryBook | None,
        progress: Progress,
        *,
        verbose: bool,
        debug: bool,
        previous: PreviousBook | None = None,
    ) -> None:
        self.summaries = summaries
        self.history = history
        self.previous = previous
        self.progress = progress
        self.breaker = FailureBreaker()
        self.verbose = verbose
        self.debug = debug

    def settle_all(self, results: list[WriteResult[TickerDayWork]]) -> None:
        for result in results:
            self.settle(result.request.ticket, result)

    def settle(self, work: TickerDayWork, result: WriteResult[TickerDayWork] | None) -> None:
        """Count, log and remember one ticker-day (result None: nothing was written)."""
        failed_write = result if result is not None and not result.written else None
        with structlog.contextvars.bound_contextvars(symbol=work.ref.symbol, date=work.target.day.isoformat()):
            if failed_write is not None:
                log.warning("ticker_write_failed", error=failed_write.reason)
            kinds = [self._settle_job(work, job_result, failed_write is not None) for job_result in work.results]
            self._log_done(work)
        self.progress.advance()
        if failed_write is not None and failed_write.failure is not None and _stops_batch(failed_write.failure.fault):
            raise BatchFailure(failure_reason(failed_write.failure))
        failed = {kind for kind in kinds if kind is not None}
        self.breaker.observe(failed, failed_write.reason if failed_write is not None else None)

    def _settle_job(self, work: TickerDayWork, result: JobResult[Any], not_written: bool) -> FailureKind | None:
        job, symbol = result.job, work.ref.symbol
        summary = self.summaries[job.name]
        if result.state is JobState.SKIPPED:
            summary.skipped_existing += 1
            self._remember(job, work, None, stored=True)
            self._remember_dealer(job, work, None, stored=True)
            return None
        if not_written:
            summary.record(Outcome.SOFT_FAILED, symbol, FailureEnd.NOT_WRITTEN)
            self._remember(job, work, None, stored=work.row.exists)
            self._remember_dealer(job, work, None, stored=work.row.exists)
            return FailureKind.WRITE
        if result.state is JobState.FAILED:
            kept = work.row.column(job.column).has_document
            if kept:
                log.warning("kept_previous", document=job.name.value, error=result.failure)
            summary.record(Outcome.SOFT_FAILED, symbol, FailureEnd.KEPT_PREVIOUS if kept else FailureEnd.ERROR_DOCUMENT)
            self._remember(job, work, None if kept else result.document, stored=kept)
            self._remember_dealer(job, work, None if kept else result.stored, stored=kept)
            return FailureKind.COMPUTE
        summary.record(job.outcome(result.document), symbol)
        for gap in job.data_gaps(result.document):
            log.info("data_gap", document=job.name.value, reason=gap)
            summary.record_gap(gap)
        self._remember(job, work, result.document, stored=False)
        self._remember_dealer(job, work, result.stored, stored=False)
        return None

    def _remember(self, job: DocumentJob[Any], work: TickerDayWork, document: Any, *, stored: bool) -> None:
        """What later sessions of this run will see in this ticker-day's row (SPEC §6.2)."""
        if self.history is None or not job.uses_history:
            return
        if document is not None:
            point = job.history_point(document)
        elif stored:
            point = HistoryPoint(work.row.average_iv, work.row.atm_iv_30d)
        else:
            return  # no row at all: it is not part of any later session's history window
        if point is not None:
            self.history.record(work.ref.ticker_id, work.target.snapshot_time, point)

    def _remember_dealer(
        self, job: DocumentJob[Any], work: TickerDayWork, written: dict[str, Any] | None, *, stored: bool
    ) -> None:
        """The dealer document later sessions of this run compare against in this row (SPEC §13.3):
        the one written, else the one that stays stored (never an ERROR document)."""
        if self.previous is None or not job.reads_previous_dealer:
            return
        snapshot = job.dealer_snapshot(written) if written is not None else work.row.dealer if stored else None
        if snapshot is not None:
            self.previous.record(work.ref.ticker_id, work.target.snapshot_time, snapshot)

    def _log_done(self, work: TickerDayWork) -> None:
        computed = [r for r in work.results if r.document is not None]
        event = {
            "documents": {
                r.job.name.value: {"status": doc.status, "processing_status": doc.processing_status}
                for r in computed
                if (doc := r.document) is not None
            },
            "skipped": sorted(r.job.name.value for r in work.results if r.state is JobState.SKIPPED) or None,
            "seconds": round(clock.perf_counter() - work.started, 4),
        }
        if self.verbose:
            log.info("ticker_done", **event)
        else:
            log.debug("ticker_done", **event)
        if self.debug:
            for r in computed:
                if r.state is JobState.COMPUTED:
                    log.debug("ticker_details", document=r.job.name.value, **r.job.debug_details(r.document))


def _stops_batch(fault: Fault) -> bool:
    """A write fault after which every further write would fail the same way. A transient one
    (lock or statement timeout, deadlock) that outlasted its retries stops the batch too: a lock
    held on the table must cost one bounded wait, not one per ticker (SPEC §7)."""
    return fault.stops_batch or fault.retryable
