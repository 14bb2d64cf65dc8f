"""The batch engine every metric command runs on (SPEC §7, §9).

Sessions ascending, tickers in chunks: one batched read per chunk (read ahead on
a second connection), then per ticker-day each job computes its document and
all of the ticker-day's documents are written in one short transaction.

Failures come in three kinds (SPEC §7):
- a transient database fault is retried (0.1, 0.2, 0.4 s) wherever it happens;
- a ticker-day whose computation or write still fails is soft-failed: an ERROR
  document is written only where none is stored, and the batch goes on;
- a read that still fails, a schema or permission fault, the database gone, or
  ten failed ticker-days in a row stop the batch at once (exit code 1).
A signal stops the batch between ticker-days (exit code 130/143).

The pieces: setup (universe, sessions, start event), chunks (reads), ticker_day
(the jobs' computation), writer (transactions), settle (counts, history,
progress, breaker). This module runs them in order.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app import MODEL_VERSION
from app.batch.chunks import ChunkInputs, ChunkReader, ReadPlan
from app.batch.errors import BatchFailure, Interrupted
from app.batch.history import HistoryBook
from app.batch.interrupts import StopRequest
from app.batch.jobs import DocumentJob, HistoryPoint, JobName
from app.batch.options import BatchOptions
from app.batch.previous import PreviousBook
from app.batch.progress import Progress
from app.batch.retry import DatabaseFailure, failure_reason
from app.batch.settle import Settler
from app.batch.setup import BatchPlan, log_batch_start, plan_batch
from app.batch.summary import BatchSummary, dates_field
from app.batch.ticker_day import ComputeContext, TickerDayWork, compute_ticker_day
from app.batch.writer import DocumentWriter, ThreadedDocumentWriter, Writer
from app.db import cancel_statements, engine_of, is_in_memory_sqlite
from app.logging import use_standard_logging_unless_configured

log = structlog.get_logger()

# SPEC §7: a signal is honoured within 5 s; a cancel after 1 s leaves room for the drain and the summary.
CANCEL_GRACE_SECONDS = 1.0


@dataclass
class BatchRun:
    """The outcome of one engine run: a summary per document kind."""

    summaries: dict[JobName, BatchSummary]
    exit_code: int = 0
    failure: str | None = None
    total_seconds: float = 0.0


class BatchRunner:
    def __init__(
        self,
        name: str,
        jobs: Sequence[DocumentJob[Any]],
        session_factory: sessionmaker[Session],
        options: BatchOptions,
        *,
        model_version: str,
        sleep: Callable[[float], None] = clock.sleep,
        progress: Callable[[int, int], None] | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        self.name = name
        self.jobs = tuple(jobs)
        self.session_factory = session_factory
        self.options = options
        self.sleep = sleep
        self.progress_callback = progress
        self.stop = stop
        lookbacks = [job.history_lookback for job in self.jobs if job.uses_history]
        self.history = HistoryBook(max(lookbacks)) if lookbacks else None
        self.previous = PreviousBook() if any(job.reads_previous_dealer for job in self.jobs) else None
        self.heartbeat = options.heartbeat or max(job.default_heartbeat for job in self.jobs)
        self.compute_context = ComputeContext(
            jobs=self.jobs,
            model_version=model_version,
            overrides=options.overrides,
            fill_missing=options.fill_missing,
            history=self.history,
            previous=self.previous,
        )

    def run(self) -> BatchRun:
        use_standard_logging_unless_configured()
        started = clock.monotonic()
        finished = threading.Event()
        if self.stop is not None:  # a statement blocked on a lock must not make a signal wait
            engine = engine_of(self.session_factory)

            def cancel_what_still_waits() -> None:
                # The commit of the group in flight ends within the grace and must not be cancelled;
                # a statement blocked on a lock does not end, and is.
                if not finished.wait(CANCEL_GRACE_SECONDS):
                    cancel_statements(engine)

            self.stop.on_request(cancel_what_still_waits)
        try:
            return self._run(started)
        finally:
            finished.set()

    def _run(self, started: float) -> BatchRun:
        with structlog.contextvars.bound_contextvars(job=self.name):
            try:
                plan = plan_batch(self.jobs, self.session_factory, self.options, self.sleep)
            except BatchFailure as failure:
                log.error("batch_failed", reason=failure.reason)
                return self._early_failure(failure.reason, started)
            log_batch_start(self.jobs, plan, self.options, self.heartbeat)
            run = BatchRun(plan.summaries)
            progress = Progress(len(plan.refs) * len(plan.targets), self.heartbeat, started, self.progress_callback)
            settler = Settler(
                plan.summaries,
                self.history,
                progress,
                verbose=self.options.verbose,
                debug=self.options.debug,
                previous=self.previous,
            )
            interrupted = False
            try:
                self._process(plan, settler)
                # a stop that came while the last writes were in flight (and cancelled) is an interrupt too
                interrupted = self._stop_requested()
            except Interrupted:
                interrupted = True
            except BatchFailure as failure:
                if self._stop_requested():  # a statement cancelled for the stop: an interrupt, not a fault
                    interrupted = True
                else:
                    run.failure, run.exit_code = failure.reason, 1
                    log.error("batch_failed", reason=failure.reason)
            return self._finish(run, plan, progress, interrupted)

    def _process(self, plan: BatchPlan, settler: Settler) -> None:
        read_plan = ReadPlan(
            greeks=frozenset().union(*(job.greeks for job in self.jobs)),
            spots=any(job.needs_spot for job in self.jobs),
            history_lookback=self.history.lookback if self.history else 0,
            own_snapshot_times=frozenset(t.snapshot_time for t in plan.targets),
            max_tickers=self.options.chunk_size,
            max_contracts=self.options.chunk_contracts,
            previous_dealer=self.previous is not None,
            bars=max(job.bars for job in self.jobs),
        )
        reader = ChunkReader(self.session_factory, plan.refs, plan.targets, read_plan, sleep=self.sleep, stop=self.stop)
        writer: Writer[TickerDayWork]
        if self.options.dry_run or is_in_memory_sqlite(self.session_factory):
            writer = DocumentWriter(self.session_factory, sleep=self.sleep, stop=self.stop)
        else:
            writer = ThreadedDocumentWriter(self.session_factory, sleep=self.sleep, stop=self.stop)
        day = None
        try:
            for inputs in reader:
                if (self.history is not None or self.previous is not None) and inputs.target.day != day:
                    # The next session ranks against (compares with) this one's values: settle every write first.
                    settler.settle_all(writer.drain())
                day = inputs.target.day
                self._process_chunk(inputs, writer, settler)
            settler.settle_all(writer.drain())
        except DatabaseFailure as failure:
            raise BatchFailure(failure_reason(failure)) from None
        except Interrupted:
            settler.settle_all(writer.drain())
            raise
        finally:
            reader.close()
            writer.close()

    def _process_chunk(self, inputs: ChunkInputs, writer: Writer[TickerDayWork], settler: Settler) -> None:
        if self.history is not None:
            for ticker_id, rows in inputs.history.items():
                if not self.history.is_loaded(ticker_id):
                    self.history.load(ticker_id, [(time, HistoryPoint(avg, iv30)) for time, avg, iv30 in rows])
        if self.previous is not None:
            for ticker_id, documents in inputs.previous_dealer.items():
                if not self.previous.is_loaded(ticker_id):
                    self.previous.load(ticker_id, documents)
        for ref in inputs.refs:
            if self._stop_requested():
                raise Interrupted
            work = compute_ticker_day(ref, inputs, self.compute_context)
            request = work.write_request()
            if request is None or self.options.dry_run:
                settler.settle(work, None)
            else:
                writer.submit(request)
            settler.settle_all(writer.completed())

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested

    def _early_failure(self, reason: str, started: float) -> BatchRun:
        seconds = round(clock.monotonic() - started, 3)
        summaries = {
            job.name: BatchSummary(
                job=job.name.value, dates=[], tickers=0, exit_code=1, failure=reason, total_seconds=seconds
            )
            for job in self.jobs
        }
        return BatchRun(summaries, exit_code=1, failure=reason, total_seconds=seconds)

    def _finish(self, run: BatchRun, plan: BatchPlan, progress: Progress, interrupted: bool) -> BatchRun:
        run.total_seconds = round(clock.monotonic() - progress.started, 3)
        signal_name = self.stop.signal_name if interrupted and self.stop is not None else None
        if interrupted:
            run.exit_code = self.stop.exit_code if self.stop is not None else 130
        for summary in run.summaries.values():
            summary.total_seconds = run.total_seconds
            summary.avg_seconds_per_ticker = round(run.total_seconds / progress.done, 6) if progress.done else 0.0
            summary.exit_code, summary.failure = run.exit_code, run.failure
            summary.interrupted = signal_name
            fields = {**dates_field(plan.targets), **summary.end_fields()}
            if interrupted:
                log.warning("batch_interrupted", signal=signal_name, **fields)
            else:
                log.info("batch_finished", **fields)
        return run


def run_jobs(
    name: str,
    jobs: Sequence[DocumentJob[Any]],
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    *,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
    stop: StopRequest | None = None,
) -> BatchRun:
    """Run a batch of these jobs (each ticker-day's documents in job order, one transaction)."""
    runner = BatchRunner(
        name,
        jobs,
        session_factory,
        options or BatchOptions(),
        model_version=MODEL_VERSION,
        sleep=sleep,
        progress=progress,
        stop=stop,
    )
    return runner.run()
