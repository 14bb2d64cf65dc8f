"""A deterministic synthetic market: tickers, a watchlist, OHLCV and option chains with BS greeks.

Same seed, same rows. The universe includes the edge cases a real one has: a
ticker without options, a very thin chain, a missing OHLCV day, and a watchlist
symbol with no ticker row.
"""

from __future__ import annotations

import datetime as dt
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.repositories.bulk import bulk_insert_ignore
from app.repositories.market import MarketDataRepository
from app.repositories.tickers import ticker_uuid
from app.sample.chains import TickerSpec, chain_columns
from app.sample.spec import SampleMarket
from app.time import NEW_YORK, previous_sessions

log = structlog.get_logger()

CHAIN_TIME_OF_DAY = dt.time(16, 15)
NO_OPTIONS_SYMBOL = "NOOPT"
THIN_CHAIN_SYMBOL = "THIN"
GAP_SYMBOL = "GAPPY"
GHOST_SYMBOL = "GHOST"
EDGE_SYMBOLS = (NO_OPTIONS_SYMBOL, THIN_CHAIN_SYMBOL, GAP_SYMBOL)
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPRSTUVWXYZ"))


@dataclass(frozen=True, slots=True)
class SampleSummary:
    tickers: int
    sessions: list[dt.date]
    ohlcv_rows: int
    option_rows: int
    watchlist: str
    seconds: float


def _symbols(count: int, rng: np.random.Generator) -> list[str]:
    regular = max(0, count - len(EDGE_SYMBOLS)) if count >= 5 else count
    names: list[str] = []
    while len(names) < regular:
        candidate = "".join(rng.choice(_LETTERS, size=int(rng.integers(3, 5))))
        if candidate not in names and candidate not in EDGE_SYMBOLS and candidate != GHOST_SYMBOL:
            names.append(candidate)
    return sorted(names) + (list(EDGE_SYMBOLS) if count >= 5 else [])


def _specs(count: int, seed: int) -> list[TickerSpec]:
    rng = np.random.default_rng(seed)
    specs = []
    for i, symbol in enumerate(_symbols(count, rng)):
        specs.append(
            TickerSpec(
                symbol=symbol,
                ticker_id=ticker_uuid(symbol),
                spot0=float(np.round(np.exp(rng.uniform(np.log(20), np.log(600))), 2)),
                vol=float(rng.uniform(0.18, 0.65)),
                base_oi=float(rng.uniform(800, 6000)),
                seed=seed * 10_007 + i,
            )
        )
    return specs


def _price_paths(spec: TickerSpec, n_sessions: int) -> np.ndarray:
    """Close-to-close random walk; returns (n_sessions, 4) open/high/low/close."""
    rng = np.random.default_rng(spec.seed)
    daily = spec.vol / np.sqrt(252)
    closes = spec.spot0 * np.exp(np.cumsum(rng.normal(0, daily, n_sessions)))
    opens = np.concatenate([[spec.spot0], closes[:-1]]) * np.exp(rng.normal(0, daily / 4, n_sessions))
    highs = np.maximum(opens, closes) * (1 + np.abs(rng.normal(0, daily / 2, n_sessions)))
    lows = np.minimum(opens, closes) * (1 - np.abs(rng.normal(0, daily / 2, n_sessions)))
    return np.round(np.column_stack([opens, highs, lows, closes]), 2)


def chain_time(session: dt.date) -> dt.datetime:
    return dt.datetime.combine(session, CHAIN_TIME_OF_DAY, tzinfo=NEW_YORK).astimezone(dt.UTC)


def run_sample_data(
    session_factory: sessionmaker[Session],
    market: SampleMarket | None = None,
    *,
    progress: Callable[..., None] | None = None,
    **fields: object,
) -> SampleSummary:
    """Write the synthetic market (`market`, or one built from keyword fields); rows already
    present are left as they are (idempotent). `progress(done, total, label)` after each session."""
    market = market or SampleMarket.model_validate(fields)
    tickers, days, seed, end_date, watchlist = (
        market.tickers,
        market.days,
        market.seed,
        market.end_date,
        market.watchlist,
    )
    started = clock.perf_counter()
    sessions = previous_sessions(end_date, days)
    specs = _specs(tickers, seed)
    log.info(
        "sample_data_started",
        tickers=len(specs),
        sessions=len(sessions),
        seed=seed,
        first=sessions[0].isoformat() if sessions else None,
        last=end_date.isoformat(),
    )
    _write_universe(session_factory, specs, watchlist, sessions[0] if sessions else end_date)
    paths = {s.symbol: _price_paths(s, len(sessions)) for s in specs}
    ohlcv_rows = option_rows = 0
    for day_index, session_day in enumerate(sessions):
        ohlcv, options = _write_session(session_factory, specs, paths, day_index, session_day, len(sessions) // 2)
        ohlcv_rows += ohlcv
        option_rows += options
        if progress is not None:
            progress(day_index + 1, len(sessions), "sample sessions")
    seconds = clock.perf_counter() - started
    summary = SampleSummary(
        tickers=len(specs),
        sessions=sessions,
        ohlcv_rows=ohlcv_rows,
        option_rows=option_rows,
        watchlist=watchlist,
        seconds=round(seconds, 3),
    )
    log.info(
        "sample_data_finished",
        tickers=summary.tickers,
        sessions=len(sessions),
        ohlcv_rows=ohlcv_rows,
        option_rows=option_rows,
        seconds=summary.seconds,
    )
    return summary


def _write_universe(
    session_factory: sessionmaker[Session], specs: list[TickerSpec], watchlist: str, effective: dt.date
) -> None:
    with session_factory.begin() as session:
        bulk_insert_ignore(
            session,
            "tickers",
            {
                "id": [s.ticker_id for s in specs],
                "symbol": [s.symbol for s in specs],
                "name": [f"{s.symbol} Synthetic Corp" for s in specs],
                "sector": ["Synthetic"] * len(specs),
                "is_active": True,
            },
        )
        symbols = [s.symbol for s in specs] + [GHOST_SYMBOL]
        bulk_insert_ignore(
            session,
            "watchlists",
            {
                "watchlist_id": watchlist,
                "symbol": symbols,
                "active": True,
                "source": "sample-data",
                "effective_date": effective,
            },
        )


def _write_session(
    session_factory: sessionmaker[Session],
    specs: list[TickerSpec],
    paths: dict[str, np.ndarray],
    day_index: int,
    session_day: dt.date,
    gap_day: int,
) -> tuple[int, int]:
    """One session's OHLCV bars and option chains; returns (ohlcv rows, option rows) written."""
    bars = [(s, paths[s.symbol][day_index]) for s in specs if not (s.symbol == GAP_SYMBOL and day_index == gap_day)]
    chains = [
        (
            s,
            chain_columns(
                s, session_day, float(paths[s.symbol][day_index][3]), day_index, s.symbol == THIN_CHAIN_SYMBOL
            ),
        )
        for s in specs
        if s.symbol != NO_OPTIONS_SYMBOL
    ]
    with session_factory.begin() as session:
        ohlcv_rows = bulk_insert_ignore(
            session,
            "ohlcv",
            {
                "ticker_id": [s.ticker_id for s, _ in bars],
                "date": session_day,
                "open": [float(b[0]) for _, b in bars],
                "high": [float(b[1]) for _, b in bars],
                "low": [float(b[2]) for _, b in bars],
                "close": [float(b[3]) for _, b in bars],
                "volume": [int(1_000_000 + 10_000 * b[3]) for _, b in bars],
            },
        )
        merged: dict[str, Any] = {
            "ticker_id": [spec.ticker_id for spec, columns in chains for _ in range(len(columns["strike_price"]))],
            "time": chain_time(session_day),
        }
        for name in chains[0][1] if chains else ():
            parts = [columns[name] for _, columns in chains]
            merged[name] = np.concatenate(parts) if isinstance(parts[0], np.ndarray) else list(chain(*parts))
        fresh = not MarketDataRepository(session).has_options_at(chain_time(session_day))
        option_rows = bulk_insert_ignore(session, "options_chains", merged, known_new=fresh)
    return ohlcv_rows, option_rows
