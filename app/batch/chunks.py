"""Batched reads for a batch: per session, chunks of tickers closed at a contract budget.

For each session the options snapshot time and contract count of every ticker
are resolved first (one query per block of tickers); tickers are then packed, in
symbol order, into chunks that close at a number of tickers or of contracts,
whichever comes first, so a 20,000-contract index chain never multiplies memory.
Each chunk is one read of a constant number of queries: chains, spots, stored
row states and, the first time a ticker is met, its IV history.

The next chunk is read on its own connection while the current one is computed
and written. A read that still fails after its retries ends the iteration with
a DatabaseFailure: the engine stops the batch, writing nothing for that chunk.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.carried_read import CarriedReader
from app.batch.dates import Target
from app.batch.interrupts import StopRequest
from app.batch.retry import T, with_retries
from app.db import is_in_memory_sqlite
from app.domain.bars import OhlcvBars
from app.domain.chain import OptionChain
from app.domain.previous import DealerSnapshot
from app.repositories.bars import BarRepository
from app.repositories.faults import Fault
from app.repositories.market import MarketDataRepository, SnapshotTime
from app.repositories.snapshots import RowState, SnapshotRepository
from app.repositories.universe import TickerRef
from app.time import session_days

log = structlog.get_logger()

SNAPSHOT_TIME_BLOCK = 1000  # tickers per snapshot-time query (bounds the size of its IN list)
FIRST_CHUNK_SHARE = 8  # the batch's first chunk closes at 1/8 of the contract budget
_POLL_SECONDS = 0.2
READERS = 2  # chunk reads in flight at once (each on its own connection)
STOP_JOIN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What the jobs of a batch read, and how big a chunk may grow."""

    greeks: frozenset[str]
    spots: bool
    history_lookback: int  # 0: no IV history
    own_snapshot_times: frozenset[dt.datetime]  # the snapshot times this run writes
    max_tickers: int
    max_contracts: int
    previous_dealer: bool = False  # §13.3: each ticker's previous dealer document
    bars: int = 0  # the most recent daily bars read per ticker (0: none)


@dataclass(slots=True)
class ChunkInputs:
    """What one batched read returned for a chunk of tickers on one session."""

    target: Target
    refs: list[TickerRef]
    snapshot_times: dict[uuid.UUID, dt.datetime]
    chains: dict[uuid.UUID, OptionChain]
    spots: dict[uuid.UUID, float | None]
    row_states: dict[uuid.UUID, RowState]
    history: dict[uuid.UUID, list[tuple[dt.datetime, float | None, float | None]]] = field(default_factory=dict)
    previous_dealer: dict[uuid.UUID, list[tuple[dt.datetime, DealerSnapshot]]] = field(default_factory=dict)
    bars: dict[uuid.UUID, OhlcvBars] = field(default_factory=dict)


def with_sessions(bars: dict[uuid.UUID, OhlcvBars]) -> dict[uuid.UUID, OhlcvBars]:
    """The bars with the NYSE sessions each ticker's bars span (one calendar slice for the chunk)."""
    if not bars:
        return bars
    first = min(b.dates[0] for b in bars.values()).item()
    last = max(b.dates[-1] for b in bars.values()).item()
    calendar = session_days(first, last)
    spanned = {}
    for tid, b in bars.items():
        lo, hi = np.searchsorted(calendar, b.dates[0], "left"), np.searchsorted(calendar, b.dates[-1], "right")
        spanned[tid] = replace(b, sessions=calendar[lo:hi])
    return spanned


def pack_chunks(
    refs: list[TickerRef],
    contracts: dict[uuid.UUID, int],
    max_tickers: int,
    max_contracts: int,
    first_contracts: int | None = None,
) -> Iterator[list[TickerRef]]:
    """Consecutive runs of `refs` closed at `max_tickers` tickers or `max_contracts` contracts
    (the first run at `first_contracts`, when given).

    A ticker whose chain alone exceeds the contract budget gets a chunk of its own.
    """
    chunk: list[TickerRef] = []
    total = 0
    budget = max_contracts if first_contracts is None else first_contracts
    for ref in refs:
        size = contracts.get(ref.ticker_id, 0)
        if chunk and (len(chunk) >= max_tickers or total + size > budget):
            yield chunk
            chunk, total, budget = [], 0, max_contracts
        chunk.append(ref)
        total += size
    if chunk:
        yield chunk


_Chunk = tuple[Target, list[TickerRef], dict[uuid.UUID, SnapshotTime], list[uuid.UUID], list[uuid.UUID]]


class ChunkReader:
    """Iterates the chunks of a batch in order (sessions ascending, then symbols)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        refs: list[TickerRef],
        targets: list[Target],
        plan: ReadPlan,
        *,
        sleep: Callable[[float], None],
        stop: StopRequest | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._refs = refs
        self._targets = targets
        self._plan = plan
        self._sleep = sleep
        self._stop = stop
        self._history_read: set[uuid.UUID] = set()
        self._previous_read: set[uuid.UUID] = set()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._carried = CarriedReader(session_factory, plan)

    # ---------------------------------------------------------------- the reads

    def _retrying(self, what: str, operation: Callable[[], T]) -> T:
        def on_retry(attempt: int, fault: Fault, error: str) -> None:
            log.warning("read_retry", read=what, attempt=attempt, fault=fault.value, error=error)

        stop = self._stop
        return with_retries(
            operation,
            sleep=self._sleep,
            what=f"reading {what}",
            on_retry=on_retry,
            give_up=(lambda: stop.requested) if stop is not None else None,  # a read cancelled for a stop
        )

    def _snapshot_times(self, target: Target, refs: list[TickerRef]) -> dict[uuid.UUID, SnapshotTime]:
        ids = [r.ticker_id for r in refs]

        def read() -> dict[uuid.UUID, SnapshotTime]:
            with self._session_factory() as session:
                return MarketDataRepository(session).load_snapshot_times(ids, target.snapshot_time)

        return self._retrying(f"options snapshot times for {target.day}", read)

    def _claim(self, refs: list[TickerRef]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """The tickers of a chunk met for the first time: their IV history and previous dealer document are
        read with it. Claimed in chunk order, so which chunk reads them does not depend on read timing."""
        plan = self._plan
        fresh = [r.ticker_id for r in refs if r.ticker_id not in self._history_read] if plan.history_lookback else []
        unmet = [r.ticker_id for r in refs if r.ticker_id not in self._previous_read] if plan.previous_dealer else []
        self._history_read.update(fresh)
        self._previous_read.update(unmet)
        return fresh, unmet

    def _read_chunk(self, chunk: _Chunk) -> ChunkInputs:
        target, refs, times, fresh, unmet = chunk
        plan = self._plan
        ids = [r.ticker_id for r in refs]
        snapshot_times = {tid: times[tid].time for tid in ids if tid in times}

        def read() -> ChunkInputs:
            # What a run carries forward is read on a connection of its own meanwhile: decoding the stored
            # documents is the server's largest cost in an evening, and the chain read need not wait for it.
            carried = self._carried.submit(target, fresh, unmet) if fresh or unmet else None
            with self._session_factory() as session:
                market = MarketDataRepository(session)
                inputs = ChunkInputs(
                    target=target,
                    refs=refs,
                    snapshot_times=snapshot_times,
                    chains=market.load_chains(snapshot_times, target.day, greeks=plan.greeks),
                    spots=market.load_spots(ids, target.day) if plan.spots else {},
                    row_states=SnapshotRepository(session).load_row_states(ids, target.snapshot_time),
                )
                if plan.bars:
                    inputs.bars = with_sessions(BarRepository(session).load_recent_bars(ids, target.day, plan.bars))
            if carried is not None:
                inputs.history, inputs.previous_dealer = carried.result()
            return inputs

        return self._retrying(f"chunk of {len(refs)} tickers for {target.day}", read)

    def _chunks(self) -> Iterator[_Chunk]:
        plan = self._plan
        # The computation waits for the first chunk whole: a small one lets it start sooner, and the
        # next (full-size) read then runs while it is computed.
        first: int | None = max(1, plan.max_contracts // FIRST_CHUNK_SHARE)
        for target in self._targets:
            for start in range(0, len(self._refs), SNAPSHOT_TIME_BLOCK):
                block = self._refs[start : start + SNAPSHOT_TIME_BLOCK]
                times = self._snapshot_times(target, block)
                counts = {tid: t.contracts for tid, t in times.items()}
                for refs in pack_chunks(block, counts, plan.max_tickers, plan.max_contracts, first):
                    first = None
                    if self._closing.is_set():
                        return
                    yield (target, refs, times, *self._claim(refs))

    # ---------------------------------------------------------------- iteration

    def __iter__(self) -> Iterator[ChunkInputs]:
        if is_in_memory_sqlite(self._session_factory):
            yield from map(self._read_chunk, self._chunks())
            return
        self._thread = threading.Thread(target=self._produce, name="kapman-read-ahead", daemon=True)
        self._thread.start()
        while True:
            item = self._next_item()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, ChunkInputs)
            yield item

    def _next_item(self) -> object:
        while True:
            try:
                return self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._stop is not None and self._stop.requested:
                    return _DONE

    def _produce(self) -> None:
        """Reads chunks READERS at a time on connections of their own, handed over in order: when the
        computation outpaces one read, the next is already on its way."""
        pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="kapman-read")
        pending: deque[Future[ChunkInputs]] = deque()
        try:
            for chunk in self._chunks():
                pending.append(pool.submit(self._read_chunk, chunk))
                if len(pending) >= READERS and not self._put(pending.popleft().result()):
                    return
            while pending:
                if not self._put(pending.popleft().result()):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the consuming thread, which raises it
            self._put(error)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _put(self, item: object) -> bool:
        while not self._closing.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Stop reading ahead; a read in flight finishes on its own connection and is dropped."""
        self._closing.set()
        if self._thread is not None:
            # After a stop the blocked read has been cancelled; a daemon thread is not waited for long.
            stopping = self._stop is not None and self._stop.requested
            self._thread.join(timeout=STOP_JOIN_SECONDS if stopping else 30)
        self._carried.close()


_DONE = object()
