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
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app import MODEL_VERSION
from app.batch.chunks import ChunkInputs, ChunkReader, ReadPlan
from app.batch.dates import NoDataError, Target, resolve_targets
from app.batch.history import HistoryBook
from app.batch.interrupts import StopRequest
from app.batch.jobs import DocumentJob, HistoryPoint, HistoryWindow, TickerDay
from app.batch.options import BatchOptions, shard_of
from app.batch.retry import DatabaseFailure, failure_reason, with_retries
from app.batch.summary import BatchSummary, FailureEnd, Outcome
from app.batch.writer import DocumentWriter, ThreadedDocumentWriter, Writer, WriteRequest, WriteResult
from app.config import redact
from app.db import is_in_memory_sqlite
from app.domain.models import SnapshotContext
from app.logging import use_standard_logging_unless_configured
from app.repositories.faults import Fault, describe
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import ABSENT_ROW, RowState
from app.repositories.universe import TickerRef, UniverseRepository
from app.time import age_days

log = structlog.get_logger()

MAX_CONSECUTIVE_FAILURES = 10
HEARTBEAT_SECONDS = 60.0


class BatchFailure(Exception):
    """The batch cannot go on; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Interrupted(Exception):
    pass


@dataclass
class BatchRun:
    """The outcome of one engine run: a summary per document kind."""

    summaries: dict[str, BatchSummary]
    exit_code: int = 0
    failure: str | None = None
    total_seconds: float = 0.0


@dataclass(slots=True)
class _TickerDayWork:
    """A computed ticker-day on its way to the database."""

    ref: TickerRef
    target: Target
    row: RowState
    started: float
    documents: dict[str, BaseModel] = field(default_factory=dict)
    stored_forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # job name → JSON-ready document
    failures: dict[str, str] = field(default_factory=dict)  # job name → why it failed
    skipped: set[str] = field(default_factory=set)  # jobs whose stored document --fill-missing keeps


@dataclass(slots=True)
class _Progress:
    total: int
    started: float
    done: int = 0
    last_heartbeat: float = 0.0
    failure_streak: list[str] = field(default_factory=list)  # "write" or "compute", most recent last


class BatchRunner:
    def __init__(
        self,
        name: str,
        jobs: Sequence[DocumentJob],
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
        self._by_name = {job.name: job for job in self.jobs}
        self.session_factory = session_factory
        self.options = options
        self.model_version = model_version
        self.sleep = sleep
        self.progress = progress
        self.stop = stop
        lookbacks = [job.history_lookback for job in self.jobs if job.uses_history]
        self.history = HistoryBook(max(lookbacks)) if lookbacks else None
        self.heartbeat = options.heartbeat or max(job.default_heartbeat for job in self.jobs)

    # ------------------------------------------------------------------ run

    def run(self) -> BatchRun:
        use_standard_logging_unless_configured()
        started = clock.monotonic()
        with structlog.contextvars.bound_contextvars(job=self.name):
            try:
                refs, targets, summaries = self._prepare()
            except BatchFailure as failure:
                log.error("batch_failed", reason=failure.reason)
                return self._early_failure(failure.reason, started)
            self._log_start(refs, targets, summaries)
            run = BatchRun(summaries)
            state = _Progress(total=len(refs) * len(targets), started=started, last_heartbeat=started)
            interrupted = False
            try:
                self._process(refs, targets, run, state)
                interrupted = self._stop_requested() and state.done < state.total
            except _Interrupted:
                interrupted = True
            except BatchFailure as failure:
                run.failure, run.exit_code = failure.reason, 1
                log.error("batch_failed", reason=failure.reason)
            return self._finish(run, targets, state, interrupted)

    def _process(self, refs: list[TickerRef], targets: list[Target], run: BatchRun, state: _Progress) -> None:
        plan = ReadPlan(
            greeks=frozenset().union(*(job.greeks for job in self.jobs)),
            spots=any(job.needs_spot for job in self.jobs),
            history_lookback=self.history.lookback if self.history else 0,
            own_cutoffs=frozenset(t.cutoff for t in targets),
            max_tickers=self.options.chunk_size,
            max_contracts=self.options.chunk_contracts,
        )
        reader = ChunkReader(self.session_factory, refs, targets, plan, sleep=self.sleep, stop=self.stop)
        writer: Writer
        if self.options.dry_run or is_in_memory_sqlite(self.session_factory):
            writer = DocumentWriter(self.session_factory, sleep=self.sleep)
        else:
            writer = ThreadedDocumentWriter(self.session_factory, sleep=self.sleep)
        day = None
        try:
            for inputs in reader:
                if self.history is not None and inputs.target.day != day:
                    # The next session ranks against this one's values: settle every write first.
                    self._settle_all(writer.drain(), run, state)
                day = inputs.target.day
                self._process_chunk(inputs, writer, run, state)
            self._settle_all(writer.drain(), run, state)
        except DatabaseFailure as failure:
            raise BatchFailure(failure_reason(failure)) from None
        except _Interrupted:
            self._settle_all(writer.drain(), run, state)
            raise
        finally:
            reader.close()
            writer.close()

    def _process_chunk(self, inputs: ChunkInputs, writer: Writer, run: BatchRun, state: _Progress) -> None:
        if self.history is not None:
            for ticker_id, rows in inputs.history.items():
                if not self.history.is_loaded(ticker_id):
                    self.history.load(ticker_id, [(time, HistoryPoint(avg, iv30)) for time, avg, iv30 in rows])
        for ref in inputs.refs:
            if self._stop_requested():
                raise _Interrupted
            work = self._compute(ref, inputs)
            request = self._write_request(work)
            if request is None or self.options.dry_run:
                self._settle(work, None, run, state)
            else:
                writer.submit(request)
            self._settle_all(writer.completed(), run, state)

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested

    # ------------------------------------------------------------------ setup

    def _prepare(self) -> tuple[list[TickerRef], list[Target], dict[str, BatchSummary]]:
        opts = self.options
        needs_default_date = opts.dates.day is None and opts.dates.snapshot_time is None and opts.dates.start is None

        def read():
            with self.session_factory() as session:
                universe = UniverseRepository(session).load_universe(opts.watchlist, list(opts.tickers) or None)
                latest = MarketDataRepository(session).get_latest_ohlcv_date() if needs_default_date else None
            return universe, latest

        try:
            universe, latest = with_retries(read, sleep=self.sleep, what="reading the watchlist universe")
            targets = resolve_targets(opts.dates, latest)
        except DatabaseFailure as failure:
            raise BatchFailure(failure_reason(failure)) from None
        except NoDataError as error:
            raise BatchFailure(str(error)) from None
        refs = universe.tickers
        if opts.shard is not None:
            index, count = opts.shard
            refs = [r for r in refs if shard_of(r.symbol, count) == index]
        for symbol in universe.unknown_symbols:
            log.warning(
                "unknown_symbol",
                symbol=symbol,
                reason="watchlist symbol has no tickers row; no daily_snapshots row can be written",
            )
        for symbol, spellings in universe.ambiguous_symbols.items():
            log.warning(
                "ambiguous_symbol",
                symbol=symbol,
                tickers=spellings,
                reason="several tickers rows differ only in case; none is guessed",
            )
        if universe.not_in_watchlist:
            log.warning("tickers_not_in_watchlist", symbols=universe.not_in_watchlist)
        if not targets:
            log.warning("no_sessions_in_range", **opts.dates.describe())
        summaries = {
            job.name: BatchSummary(
                job=job.name,
                dates=[t.day.isoformat() for t in targets],
                tickers=len(refs),
                unknown_symbols=universe.unknown_symbols,
                ambiguous_symbols=sorted(universe.ambiguous_symbols),
                not_in_watchlist=universe.not_in_watchlist,
                dry_run=opts.dry_run,
            )
            for job in self.jobs
        }
        return refs, targets, summaries

    def _log_start(self, refs: list[TickerRef], targets: list[Target], summaries: dict[str, BatchSummary]) -> None:
        opts = self.options
        first = next(iter(summaries.values()))
        if len(self.jobs) == 1:
            params: dict[str, Any] = dict(self.jobs[0].log_params)
        else:
            params = {job.name: dict(job.log_params) for job in self.jobs}
        log.info(
            "batch_started",
            **({"jobs": [job.name for job in self.jobs]} if len(self.jobs) > 1 else {}),
            **_dates_field(targets),
            tickers=len(refs),
            unknown_symbols=len(first.unknown_symbols),
            database=opts.database,
            flags={
                "debug": opts.debug,
                "verbose": opts.verbose,
                "quiet": opts.quiet,
                "heartbeat": self.heartbeat,
                "fill_missing": opts.fill_missing,
                "dry_run": opts.dry_run,
                "shard": f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None,
                "watchlist": opts.watchlist,
                "tickers": list(opts.tickers) or None,
                **opts.dates.describe(),
            },
            params=params,
            overrides=list(opts.overrides),
        )

    # ------------------------------------------------------------------ one ticker-day

    def _compute(self, ref: TickerRef, inputs: ChunkInputs) -> _TickerDayWork:
        target = inputs.target
        ticker_id = ref.ticker_id
        row = inputs.row_states.get(ticker_id, ABSENT_ROW)
        work = _TickerDayWork(ref, target, row, clock.perf_counter())
        options_time = inputs.snapshot_times.get(ticker_id)
        context = SnapshotContext(
            symbol=ref.symbol,
            ticker_id=ticker_id,
            snapshot_time=target.cutoff,
            snapshot_date=target.day,
            model_version=self.model_version,
            options_snapshot_time=options_time,
            options_snapshot_age_days=age_days(target.day, options_time) if options_time else None,
            overrides=self.options.overrides,
        )
        day = TickerDay(
            ref=ref,
            target=target,
            context=context,
            chain=inputs.chains.get(ticker_id),
            spot=inputs.spots.get(ticker_id),
            row=row,
            history=self.history.window(ticker_id, target.cutoff) if self.history else HistoryWindow(),
        )
        with structlog.contextvars.bound_contextvars(symbol=ref.symbol, date=target.day.isoformat()):
            for job in self.jobs:
                if self.options.fill_missing and row.column(job.column).complete:
                    work.skipped.add(job.name)
                    continue
                try:
                    document = job.compute(day, work.documents)
                    stored = document.model_dump(mode="json")  # a document that cannot be stored fails here
                except Exception as error:
                    reason = redact(describe(error))[:300]
                    log.warning("ticker_soft_failed", document=job.name, error=reason)
                    log.debug("ticker_traceback", document=job.name, exc_info=True)
                    document = job.error_document(context, reason)
                    stored = document.model_dump(mode="json")
                    work.failures[job.name] = reason
                work.documents[job.name] = document
                work.stored_forms[job.name] = stored
        return work

    def _write_request(self, work: _TickerDayWork) -> WriteRequest | None:
        if not work.documents:
            return None
        by_name = self._by_name
        return WriteRequest(
            time=work.target.cutoff,
            ticker_id=work.ref.ticker_id,
            symbol=work.ref.symbol,
            documents={by_name[name].column: stored for name, stored in work.stored_forms.items()},
            keep_existing=frozenset(by_name[name].column for name in work.failures),
            ticket=work,
        )

    # ------------------------------------------------------------------ settling

    def _settle_all(self, results: list[WriteResult], run: BatchRun, state: _Progress) -> None:
        for result in results:
            self._settle(result.request.ticket, result, run, state)

    def _settle(self, work: _TickerDayWork, result: WriteResult | None, run: BatchRun, state: _Progress) -> None:
        """Count, log and remember one ticker-day once its write is known (result None: nothing was written)."""
        symbol, date = work.ref.symbol, work.target.day.isoformat()
        failed_write = result if result is not None and not result.written else None
        not_written = failed_write is not None
        fatal = None
        if failed_write is not None and failed_write.failure is not None and _stops_batch(failed_write.failure.fault):
            fatal = failed_write.failure
        with structlog.contextvars.bound_contextvars(symbol=symbol, date=date):
            if failed_write is not None:
                log.warning("ticker_write_failed", error=failed_write.reason)
            failed_kinds = []
            for job in self.jobs:
                summary = run.summaries[job.name]
                if job.name in work.skipped:
                    summary.skipped_existing += 1
                    self._remember(job, work, None, stored=True)
                    continue
                document = work.documents[job.name]
                if not_written:
                    summary.record(Outcome.SOFT_FAILED, symbol, FailureEnd.NOT_WRITTEN)
                    failed_kinds.append("write")
                    self._remember(job, work, None, stored=work.row.exists)
                elif job.name in work.failures:
                    kept = work.row.column(job.column).has_document
                    if kept:
                        log.warning("kept_previous", document=job.name, error=work.failures[job.name])
                    summary.record(
                        Outcome.SOFT_FAILED, symbol, FailureEnd.KEPT_PREVIOUS if kept else FailureEnd.ERROR_DOCUMENT
                    )
                    failed_kinds.append("compute")
                    self._remember(job, work, None if kept else document, stored=kept)
                else:
                    summary.record(job.outcome(document), symbol)
                    for gap in job.data_gaps(document):
                        log.info("data_gap", document=job.name, reason=gap)
                    self._remember(job, work, document, stored=False)
            self._log_ticker_done(work)
        self._advance(state)
        if fatal is not None:
            raise BatchFailure(failure_reason(fatal))
        self._check_streak(state, failed_kinds, result)

    def _remember(self, job: DocumentJob, work: _TickerDayWork, document: BaseModel | None, *, stored: bool) -> None:
        """What later sessions of this run will see in this ticker-day's row (SPEC §6.2)."""
        if self.history is None or job.history_point is None:
            return
        if document is not None:
            point = job.history_point(document)
        elif stored:
            point = HistoryPoint(work.row.average_iv, work.row.atm_iv_30d)
        else:
            return  # no row at all: it is not part of any later session's history window
        self.history.record(work.ref.ticker_id, work.target.cutoff, point)

    def _check_streak(self, state: _Progress, failed_kinds: list[str], result: WriteResult | None) -> None:
        if not failed_kinds:
            state.failure_streak.clear()
            return
        state.failure_streak.append("write" if "write" in failed_kinds else "compute")
        if len(state.failure_streak) >= MAX_CONSECUTIVE_FAILURES:
            what = "ticker writes" if set(state.failure_streak) == {"write"} else "ticker-days"
            last = result.reason if result is not None and not result.written else "computation failed"
            raise BatchFailure(f"{MAX_CONSECUTIVE_FAILURES} consecutive {what} failed; last: {last}")

    def _log_ticker_done(self, work: _TickerDayWork) -> None:
        event = {
            "documents": {
                name: {
                    "status": getattr(doc, "status", None),
                    "processing_status": getattr(doc, "processing_status", None),
                }
                for name, doc in work.documents.items()
            },
            "skipped": sorted(work.skipped) or None,
            "seconds": round(clock.perf_counter() - work.started, 4),
        }
        if self.options.verbose:
            log.info("ticker_done", **event)
        else:
            log.debug("ticker_done", **event)
        if self.options.debug:
            for name, doc in work.documents.items():
                if name not in work.failures:
                    log.debug("ticker_details", document=name, **self._by_name[name].debug_details(doc))

    def _advance(self, state: _Progress) -> None:
        state.done += 1
        now = clock.monotonic()
        if self.progress is not None:
            self.progress(state.done, state.total)
        if state.done % self.heartbeat == 0 or now - state.last_heartbeat >= HEARTBEAT_SECONDS:
            state.last_heartbeat = now
            log.info(
                "heartbeat",
                done=state.done,
                total=state.total,
                percent=round(100.0 * state.done / state.total, 1) if state.total else 100.0,
                elapsed_seconds=round(now - state.started, 1),
            )

    # ------------------------------------------------------------------ the end

    def _early_failure(self, reason: str, started: float) -> BatchRun:
        seconds = round(clock.monotonic() - started, 3)
        summaries = {
            job.name: BatchSummary(
                job=job.name, dates=[], tickers=0, exit_code=1, failure=reason, total_seconds=seconds
            )
            for job in self.jobs
        }
        return BatchRun(summaries, exit_code=1, failure=reason, total_seconds=seconds)

    def _finish(self, run: BatchRun, targets: list[Target], state: _Progress, interrupted: bool) -> BatchRun:
        run.total_seconds = round(clock.monotonic() - state.started, 3)
        signal_name = self.stop.signal_name if interrupted and self.stop is not None else None
        if interrupted:
            run.exit_code = self.stop.exit_code if self.stop is not None else 130
        for summary in run.summaries.values():
            summary.total_seconds = run.total_seconds
            summary.avg_seconds_per_ticker = round(run.total_seconds / state.done, 6) if state.done else 0.0
            summary.exit_code, summary.failure = run.exit_code, run.failure
            summary.interrupted = signal_name
            fields = {**_dates_field(targets), **summary.end_fields()}
            if interrupted:
                log.warning("batch_interrupted", signal=signal_name, **fields)
            else:
                log.info("batch_finished", **fields)
        return run


def run_jobs(
    name: str,
    jobs: Sequence[DocumentJob],
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


def _stops_batch(fault: Fault) -> bool:
    """A write fault after which every further write would fail the same way."""
    return fault.stops_batch or fault is Fault.CONNECTION


def _dates_field(targets: list[Target]) -> dict[str, Any]:
    """The sessions of a batch with their snapshot cut-offs (UTC), for the start and end events."""
    if len(targets) == 1:
        return {"date": targets[0].day.isoformat(), "cutoff_utc": targets[0].cutoff.isoformat()}
    if not targets:
        return {"sessions": 0}
    return {
        "start_date": targets[0].day.isoformat(),
        "end_date": targets[-1].day.isoformat(),
        "sessions": len(targets),
        "first_cutoff_utc": targets[0].cutoff.isoformat(),
        "last_cutoff_utc": targets[-1].cutoff.isoformat(),
    }
