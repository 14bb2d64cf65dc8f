"""Before the first read: the universe, the sessions, empty summaries, and the batch start event (SPEC §4, §9)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import NoDataError, Target, resolve_targets
from app.batch.errors import BatchFailure
from app.batch.jobs import DocumentJob, JobName
from app.batch.options import BatchOptions, shard_of
from app.batch.retry import DatabaseFailure, failure_reason, with_retries
from app.batch.summary import BatchSummary, dates_field
from app.repositories.market import MarketDataRepository
from app.repositories.universe import TickerRef, Universe, UniverseRepository

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class BatchPlan:
    refs: list[TickerRef]
    targets: list[Target]
    summaries: dict[JobName, BatchSummary]


def plan_batch(
    jobs: Sequence[DocumentJob[Any]],
    session_factory: sessionmaker[Session],
    options: BatchOptions,
    sleep: Callable[[float], None],
) -> BatchPlan:
    """The tickers and sessions of the batch; raises BatchFailure when they cannot be read."""
    dates = options.dates
    needs_default_date = dates.day is None and dates.snapshot_time is None and dates.start is None

    def read() -> tuple[Universe, Any]:
        with session_factory() as session:
            universe = UniverseRepository(session).load_universe(options.watchlist, list(options.tickers) or None)
            latest = MarketDataRepository(session).get_latest_ohlcv_date() if needs_default_date else None
        return universe, latest

    try:
        universe, latest = with_retries(read, sleep=sleep, what="reading the watchlist universe")
        targets = resolve_targets(dates, latest)
    except DatabaseFailure as failure:
        raise BatchFailure(failure_reason(failure)) from None
    except NoDataError as error:
        raise BatchFailure(str(error)) from None
    _warn_about_symbols(universe)
    refs = universe.tickers
    if not refs:
        raise BatchFailure(empty_universe_reason(universe, options))
    if options.shard is not None:
        index, count = options.shard
        refs = [r for r in refs if shard_of(r.symbol, count) == index]
        if not refs:  # other shards hold the universe: not a silent no-op of the whole batch
            log.warning("empty_shard", shard=f"{index}/{count}", tickers=len(universe.tickers))
    if not targets:
        log.warning("no_sessions_in_range", **dates.describe())
    summaries = {
        job.name: BatchSummary(
            job=job.name.value,
            dates=[t.day.isoformat() for t in targets],
            tickers=len(refs),
            unknown_symbols=universe.unknown_symbols,
            ambiguous_symbols=sorted(universe.ambiguous_symbols),
            not_in_watchlist=universe.not_in_watchlist,
            dry_run=options.dry_run,
        )
        for job in jobs
    }
    return BatchPlan(refs, targets, summaries)


def empty_universe_reason(universe: Universe, options: BatchOptions) -> str:
    """Which selection left nothing to process (SPEC §4): a nightly job that silently did nothing is
    the worst outcome."""
    where = f"watchlist {options.watchlist!r}" if options.watchlist else "the active watchlists"
    if options.tickers:
        asked = ",".join(options.tickers)
        if not universe.unknown_symbols and not universe.ambiguous_symbols:
            return f"empty universe: none of --tickers {asked} is on {where}"
        return f"empty universe: --tickers {asked} names no symbol with a tickers row"
    if universe.unknown_symbols or universe.ambiguous_symbols:
        return f"empty universe: no symbol of {where} has a tickers row ({len(universe.unknown_symbols)} unknown)"
    if options.watchlist:
        return f"empty universe: watchlist {options.watchlist!r} has no active symbol (unknown or empty watchlist)"
    return "empty universe: no active watchlist symbol in the database (import a watchlist, or use --watchlist)"


def _warn_about_symbols(universe: Universe) -> None:
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


def log_batch_start(jobs: Sequence[DocumentJob[Any]], plan: BatchPlan, options: BatchOptions, heartbeat: int) -> None:
    first = next(iter(plan.summaries.values()))
    if len(jobs) == 1:
        params: dict[str, Any] = jobs[0].log_params()
    else:
        params = {job.name.value: job.log_params() for job in jobs}
    log.info(
        "batch_started",
        **({"jobs": [job.name.value for job in jobs]} if len(jobs) > 1 else {}),
        **dates_field(plan.targets),
        tickers=len(plan.refs),
        unknown_symbols=len(first.unknown_symbols),
        database=options.database,
        flags={
            "debug": options.debug,
            "verbose": options.verbose,
            "quiet": options.quiet,
            "heartbeat": heartbeat,
            "fill_missing": options.fill_missing,
            "dry_run": options.dry_run,
            "shard": f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
            "watchlist": options.watchlist,
            "tickers": list(options.tickers) or None,
            **options.dates.describe(),
        },
        params=params,
        overrides=list(options.overrides),
    )
