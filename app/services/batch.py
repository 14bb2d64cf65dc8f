"""The batch engine both metric jobs run on (SPEC §7, §9).

Dates ascending, tickers in chunks: one batched read per chunk and date, then
per ticker compute → one short write transaction, retried on transient errors.
A ticker never fails the batch; ten failed writes in a row do (the database is gone).
"""

from __future__ import annotations

import datetime as dt
import time as clock
import traceback
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import scrub_secret
from app.db import engine_of
from app.domain.chain import OptionChain
from app.domain.models import SnapshotContext
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import RowState, SnapshotRepository
from app.repositories.universe import TickerRef, UniverseRepository
from app.services.dates import DateSelection, NoDataError, Target, resolve_targets
from app.time import age_days

log = structlog.get_logger()

RETRY_BACKOFF_SECONDS = (0.1, 0.2, 0.4)
MAX_CONSECUTIVE_WRITE_FAILURES = 10
HEARTBEAT_SECONDS = 60.0
DEFAULT_CHUNK_SIZE = 100
# SQLSTATEs worth retrying: serialization failure, deadlock, lock not available, query canceled.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})


@dataclass(frozen=True, slots=True)
class BatchOptions:
    dates: DateSelection = field(default_factory=DateSelection)
    watchlist: str | None = None
    tickers: tuple[str, ...] = ()
    fill_missing: bool = False
    dry_run: bool = False
    heartbeat: int = 25
    verbose: bool = False
    debug: bool = False  # log per-ticker filter statistics and intermediate values
    shard: tuple[int, int] | None = None  # (i, n), 1-based
    chunk_size: int = DEFAULT_CHUNK_SIZE
    overrides: tuple[str, ...] = ()
    database: str = ""  # masked URL, for the start event only

    def __post_init__(self) -> None:
        if self.heartbeat < 1:
            raise ValueError("--heartbeat must be at least 1")
        if self.chunk_size < 1:
            raise ValueError("chunk size must be at least 1")
        if self.shard is not None:
            index, count = self.shard
            if count < 1 or not 1 <= index <= count:
                raise ValueError(f"--shard {index}/{count}: expected i/n with 1 <= i <= n")


class BatchSummary(BaseModel):
    job: str
    dates: list[str]
    tickers: int
    processed: int = 0
    success: int = 0
    partial: int = 0
    missing_options: int = 0
    soft_failed: int = 0
    errors: int = 0
    write_failed: int = 0
    skipped_existing: int = 0
    unknown_symbols: list[str] = []
    not_in_watchlist: list[str] = []
    dry_run: bool = False
    avg_seconds_per_ticker: float = 0.0
    total_seconds: float = 0.0
    exit_code: int = 0
    failure: str | None = None


@dataclass(slots=True)
class ChunkInputs:
    """What one batched read returned for a chunk on one session."""

    snapshot_times: dict[uuid.UUID, dt.datetime]
    chains: dict[uuid.UUID, OptionChain]
    spots: dict[uuid.UUID, float | None]
    row_states: dict[uuid.UUID, RowState]


def load_market_chunk(
    session: Session, refs: list[TickerRef], target: Target, column: str, *, greeks: tuple[str, ...], spots: bool
) -> ChunkInputs:
    """The batched reads every job makes for a chunk on a session: snapshot times, chains with the
    greeks the job uses, spots if it needs them, and the state of each ticker's row for `column`."""
    ids = [r.ticker_id for r in refs]
    market = MarketDataRepository(session)
    times = market.load_options_snapshot_times(ids, target.cutoff)
    return ChunkInputs(
        snapshot_times=times,
        chains=market.load_chains(times, target.day, greeks=greeks),
        spots=market.load_spots(ids, target.day) if spots else {},
        row_states=SnapshotRepository(session).load_row_states(column, ids, target.cutoff),
    )


class MetricsJob(Protocol):
    name: str
    column: str

    def params_for_log(self) -> dict[str, Any]: ...

    def load_chunk(self, session: Session, refs: list[TickerRef], target: Target) -> ChunkInputs:
        """Reads that do not depend on this run's earlier writes (may run ahead, on another thread)."""

    def prepare_chunk(self, session: Session, refs: list[TickerRef], target: Target, inputs: ChunkInputs) -> None:
        """Reads that must see this run's earlier writes; runs just before the chunk is processed."""

    def compute(self, ref: TickerRef, inputs: ChunkInputs, ctx: SnapshotContext) -> BaseModel: ...

    def error_document(self, ctx: SnapshotContext, reason: str) -> BaseModel: ...

    def outcome(self, doc: BaseModel) -> str: ...

    def data_gaps(self, doc: BaseModel) -> list[str]: ...

    def debug_details(self, doc: BaseModel) -> dict[str, Any]:
        """Filter statistics and intermediate values logged at DEBUG."""

    def record(self, ref: TickerRef, target: Target, doc: BaseModel | None, inputs: ChunkInputs) -> None: ...


def is_transient(error: BaseException) -> bool:
    if isinstance(error, OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return getattr(getattr(error, "orig", None), "sqlstate", None) in TRANSIENT_SQLSTATES


def shard_of(symbol: str, count: int) -> int:
    """1-based shard of a symbol; crc32 is stable across processes and machines (hash() is not)."""
    return zlib.crc32(symbol.encode()) % count + 1


def _chunks(refs: list[TickerRef], size: int) -> Iterator[list[TickerRef]]:
    for start in range(0, len(refs), size):
        yield refs[start : start + size]


def _describe_error(error: BaseException, url: str) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return scrub_secret(text, url)[:300]


class BatchRunner:
    def __init__(
        self,
        job: MetricsJob,
        session_factory: sessionmaker[Session],
        options: BatchOptions,
        *,
        sleep: Callable[[float], None] = clock.sleep,
        progress: Callable[[int, int], None] | None = None,
        model_version: str,
    ) -> None:
        self.job = job
        self.session_factory = session_factory
        self.options = options
        self.sleep = sleep
        self.progress = progress
        self.model_version = model_version
        self._url = engine_of(session_factory).url.render_as_string(hide_password=False)

    # ------------------------------------------------------------- setup

    def _prepare(self) -> tuple[list[TickerRef], list[Target], BatchSummary]:
        opts = self.options
        with self.session_factory() as session:
            universe = UniverseRepository(session).load_universe(opts.watchlist, list(opts.tickers) or None)
            latest = None
            if opts.dates.day is None and opts.dates.snapshot_time is None and opts.dates.start is None:
                latest = MarketDataRepository(session).get_latest_ohlcv_date()
        targets = resolve_targets(opts.dates, latest)
        refs = universe.tickers
        if opts.shard is not None:
            index, count = opts.shard
            refs = [r for r in refs if shard_of(r.symbol, count) == index]
        for symbol in universe.unknown_symbols:
            log.warning(
                "unknown_symbol",
                job=self.job.name,
                symbol=symbol,
                reason="watchlist symbol has no tickers row; no daily_snapshots row can be written",
            )
        if universe.not_in_watchlist:
            log.warning("tickers_not_in_watchlist", job=self.job.name, symbols=universe.not_in_watchlist)
        summary = BatchSummary(
            job=self.job.name,
            dates=[t.day.isoformat() for t in targets],
            tickers=len(refs),
            unknown_symbols=universe.unknown_symbols,
            not_in_watchlist=universe.not_in_watchlist,
            dry_run=opts.dry_run,
        )
        return refs, targets, summary

    # ------------------------------------------------------------- run

    def run(self) -> BatchSummary:
        started = clock.monotonic()
        try:
            refs, targets, summary = self._prepare()
        except NoDataError as error:
            return self._fail_early(str(error), started)
        except SQLAlchemyError as error:
            return self._fail_early(f"database unavailable: {_describe_error(error, self._url)}", started)

        self._log_start(refs, summary)
        if not targets:
            log.warning("no_sessions_in_range", job=self.job.name, **self.options.dates.describe())
        state = _RunState(total=len(refs) * len(targets), last_heartbeat=started)
        work = [(target, chunk) for target in targets for chunk in _chunks(refs, self.options.chunk_size)]
        try:
            for target, chunk, loaded in self._read_ahead(work):
                self._run_chunk(chunk, target, loaded, summary, state, started)
        except _BatchAborted as abort:
            summary.failure = abort.reason
            summary.exit_code = 1
            log.error("batch_failed", job=self.job.name, reason=abort.reason)
        return self._finish(summary, state, started)

    def _log_start(self, refs: list[TickerRef], summary: BatchSummary) -> None:
        opts = self.options
        if len(summary.dates) == 1:
            dates_field: dict[str, Any] = {"date": summary.dates[0]}
        else:
            dates_field = {
                "start_date": summary.dates[0] if summary.dates else None,
                "end_date": summary.dates[-1] if summary.dates else None,
                "sessions": len(summary.dates),
            }
        log.info(
            "batch_started",
            job=self.job.name,
            **dates_field,
            tickers=len(refs),
            unknown_symbols=len(summary.unknown_symbols),
            database=opts.database,
            flags={
                "fill_missing": opts.fill_missing,
                "dry_run": opts.dry_run,
                "watchlist": opts.watchlist,
                "tickers": list(opts.tickers) or None,
                "shard": f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None,
                "heartbeat": opts.heartbeat,
                **opts.dates.describe(),
            },
            params=self.job.params_for_log(),
            overrides=list(opts.overrides),
        )

    def _read_ahead(self, work: list[tuple[Target, list[TickerRef]]]):
        """Each (session, chunk) with its inputs. The next chunk is read on a second connection while
        this one is computed and written, so the database works on the read while Python works on the
        documents. An in-memory SQLite database exists once per connection: there chunks are read in turn."""
        if self._in_memory_sqlite():
            for target, chunk in work:
                yield target, chunk, self._load_chunk_safely(target, chunk)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kapman-prefetch") as prefetch:
            pending = prefetch.submit(self._load_chunk_safely, *work[0]) if work else None
            for index, (target, chunk) in enumerate(work):
                loaded = pending.result()
                if index + 1 < len(work):
                    pending = prefetch.submit(self._load_chunk_safely, *work[index + 1])
                yield target, chunk, loaded

    def _fail_early(self, reason: str, started: float) -> BatchSummary:
        log.error("batch_failed", job=self.job.name, reason=reason)
        return BatchSummary(
            job=self.job.name,
            dates=[],
            tickers=0,
            exit_code=1,
            failure=reason,
            total_seconds=round(clock.monotonic() - started, 3),
        )

    def _finish(self, summary: BatchSummary, state: _RunState, started: float) -> BatchSummary:
        summary.total_seconds = round(clock.monotonic() - started, 3)
        summary.avg_seconds_per_ticker = round(summary.total_seconds / state.done, 6) if state.done else 0.0
        log.info("batch_finished", **summary.model_dump(exclude={"exit_code"}), exit_code=summary.exit_code)
        return summary

    def _retrying(self, operation: Callable[[], Any], symbol: str | None = None) -> Any:
        """Run `operation`; transient database errors are retried with back-off, the last one re-raised."""
        attempt = 0
        while True:
            try:
                return operation()
            except Exception as error:
                if attempt == len(RETRY_BACKOFF_SECONDS) or not is_transient(error):
                    raise
                log.debug(
                    "retry",
                    job=self.job.name,
                    symbol=symbol,
                    attempt=attempt + 1,
                    error=_describe_error(error, self._url),
                )
                self.sleep(RETRY_BACKOFF_SECONDS[attempt])
                attempt += 1

    def _load_chunk(self, chunk: list[TickerRef], target: Target) -> ChunkInputs:
        def read() -> ChunkInputs:
            with self.session_factory() as session:
                return self.job.load_chunk(session, chunk, target)

        return self._retrying(read)

    def _in_memory_sqlite(self) -> bool:
        url = engine_of(self.session_factory).url
        return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")

    def _load_chunk_safely(self, target: Target, chunk: list[TickerRef]) -> tuple[ChunkInputs | None, str | None]:
        try:
            return self._load_chunk(chunk, target), None
        except Exception as error:
            return None, _describe_error(error, self._url)

    def _run_chunk(self, chunk, target, loaded, summary, state, started) -> None:
        opts = self.options
        inputs, load_error = loaded
        if inputs is not None:
            try:
                with self.session_factory() as session:
                    self.job.prepare_chunk(session, chunk, target, inputs)
            except Exception as error:
                inputs, load_error = None, _describe_error(error, self._url)
        if load_error is not None:
            log.warning(
                "chunk_read_failed",
                job=self.job.name,
                date=target.day.isoformat(),
                tickers=len(chunk),
                error=load_error,
            )
        for ref in chunk:
            ticker_started = clock.perf_counter()
            if inputs is not None and opts.fill_missing:
                row = inputs.row_states.get(ref.ticker_id)
                if row is not None and row.has_document:
                    summary.skipped_existing += 1
                    self.job.record(ref, target, None, inputs)
                    self._advance(summary, state, started)
                    continue
            doc = self._compute(ref, target, inputs, load_error)
            write_error = None if opts.dry_run else self._write(ref, target, doc)
            if write_error is None:
                state.consecutive_write_failures = 0
                self.job.record(ref, target, doc, inputs)
                self._count(summary, ref, target, doc)
            else:
                state.consecutive_write_failures += 1
                state.last_write_error = write_error
                summary.write_failed += 1
                if state.consecutive_write_failures >= MAX_CONSECUTIVE_WRITE_FAILURES:
                    raise _BatchAborted(
                        f"{MAX_CONSECUTIVE_WRITE_FAILURES} consecutive ticker writes failed; "
                        f"last: {state.last_write_error}"
                    )
            summary.processed += 1
            duration = clock.perf_counter() - ticker_started
            event = dict(
                job=self.job.name,
                symbol=ref.symbol,
                date=target.day.isoformat(),
                status=getattr(doc, "status", None),
                processing_status=getattr(doc, "processing_status", None),
                seconds=round(duration, 4),
            )
            if opts.verbose:
                log.info("ticker_done", **event)
            else:
                log.debug("ticker_done", **event)
            if opts.debug:
                details = self.job.debug_details(doc)
                log.debug(
                    "ticker_details", job=self.job.name, symbol=ref.symbol, date=target.day.isoformat(), **details
                )
            self._advance(summary, state, started)

    def _context(self, ref: TickerRef, target: Target, inputs: ChunkInputs | None) -> SnapshotContext:
        options_time = inputs.snapshot_times.get(ref.ticker_id) if inputs else None
        return SnapshotContext(
            symbol=ref.symbol,
            ticker_id=ref.ticker_id,
            snapshot_time=target.cutoff,
            snapshot_date=target.day,
            model_version=self.model_version,
            options_snapshot_time=options_time,
            options_snapshot_age_days=age_days(target.day, options_time) if options_time else None,
            overrides=self.options.overrides,
        )

    def _compute(self, ref, target, inputs, load_error) -> BaseModel:
        ctx = self._context(ref, target, inputs)
        if inputs is None:
            return self.job.error_document(ctx, f"read_failed: {load_error}")
        try:
            return self.job.compute(ref, inputs, ctx)
        except Exception as error:
            reason = _describe_error(error, self._url)
            log.warning(
                "ticker_soft_failed",
                job=self.job.name,
                symbol=ref.symbol,
                date=target.day.isoformat(),
                error=reason,
            )
            log.debug("ticker_traceback", symbol=ref.symbol, traceback=traceback.format_exc())
            return self.job.error_document(ctx, reason)

    def _write(self, ref: TickerRef, target: Target, doc: BaseModel) -> str | None:
        """Upsert the document in its own transaction; the error text if it could not be written."""
        document = doc.model_dump(mode="json")

        def upsert() -> None:
            with self.session_factory.begin() as session:
                SnapshotRepository(session).upsert_document(self.job.column, target.cutoff, ref.ticker_id, document)

        try:
            self._retrying(upsert, ref.symbol)
        except Exception as error:
            reason = _describe_error(error, self._url)
            log.warning(
                "ticker_write_failed", job=self.job.name, symbol=ref.symbol, date=target.day.isoformat(), error=reason
            )
            return reason
        return None

    def _count(self, summary: BatchSummary, ref: TickerRef, target: Target, doc: BaseModel) -> None:
        outcome = self.job.outcome(doc)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        if doc.status == "INVALID":
            summary.soft_failed += 1
        for gap in self.job.data_gaps(doc):
            log.info("data_gap", job=self.job.name, symbol=ref.symbol, date=target.day.isoformat(), reason=gap)

    def _advance(self, summary: BatchSummary, state: _RunState, started: float) -> None:
        state.done += 1
        now = clock.monotonic()
        if self.progress is not None:
            self.progress(state.done, state.total)
        if state.done % self.options.heartbeat == 0 or now - state.last_heartbeat >= HEARTBEAT_SECONDS:
            state.last_heartbeat = now
            log.info(
                "heartbeat",
                job=self.job.name,
                done=state.done,
                total=state.total,
                percent=round(100.0 * state.done / state.total, 1) if state.total else 100.0,
                elapsed_seconds=round(now - started, 1),
            )


@dataclass(slots=True)
class _RunState:
    total: int
    last_heartbeat: float
    done: int = 0
    consecutive_write_failures: int = 0
    last_write_error: str | None = None


class _BatchAborted(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
