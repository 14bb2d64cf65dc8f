"""A deterministic synthetic market: tickers, a watchlist, OHLCV and option chains with BS greeks.

Same seed, same rows. The universe includes the edge cases a real one has: a
ticker without options, a very thin chain, a missing OHLCV day, and a watchlist
symbol with no ticker row.
"""

from __future__ import annotations

import datetime as dt
import time as clock
import uuid
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
from app.sample.spec import SampleMarket
from app.time import NEW_YORK, previous_sessions

log = structlog.get_logger()

CHAIN_TIME_OF_DAY = dt.time(16, 15)
NO_OPTIONS_SYMBOL = "NOOPT"
THIN_CHAIN_SYMBOL = "THIN"
GAP_SYMBOL = "GAPPY"
GHOST_SYMBOL = "GHOST"
EDGE_SYMBOLS = (NO_OPTIONS_SYMBOL, THIN_CHAIN_SYMBOL, GAP_SYMBOL)
RISK_FREE_RATE = 0.04
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPRSTUVWXYZ"))


@dataclass(frozen=True, slots=True)
class SampleSummary:
    tickers: int
    sessions: list[dt.date]
    ohlcv_rows: int
    option_rows: int
    watchlist: str
    seconds: float


@dataclass(frozen=True, slots=True)
class _TickerSpec:
    symbol: str
    ticker_id: uuid.UUID
    spot0: float
    vol: float
    base_oi: float
    seed: int


def _symbols(count: int, rng: np.random.Generator) -> list[str]:
    regular = max(0, count - len(EDGE_SYMBOLS)) if count >= 5 else count
    names: list[str] = []
    while len(names) < regular:
        candidate = "".join(rng.choice(_LETTERS, size=int(rng.integers(3, 5))))
        if candidate not in names and candidate not in EDGE_SYMBOLS and candidate != GHOST_SYMBOL:
            names.append(candidate)
    return sorted(names) + (list(EDGE_SYMBOLS) if count >= 5 else [])


def _specs(count: int, seed: int) -> list[_TickerSpec]:
    rng = np.random.default_rng(seed)
    specs = []
    for i, symbol in enumerate(_symbols(count, rng)):
        specs.append(
            _TickerSpec(
                symbol=symbol,
                ticker_id=ticker_uuid(symbol),
                spot0=float(np.round(np.exp(rng.uniform(np.log(20), np.log(600))), 2)),
                vol=float(rng.uniform(0.18, 0.65)),
                base_oi=float(rng.uniform(800, 6000)),
                seed=seed * 10_007 + i,
            )
        )
    return specs


def _price_paths(spec: _TickerSpec, n_sessions: int) -> np.ndarray:
    """Close-to-close random walk; returns (n_sessions, 4) open/high/low/close."""
    rng = np.random.default_rng(spec.seed)
    daily = spec.vol / np.sqrt(252)
    closes = spec.spot0 * np.exp(np.cumsum(rng.normal(0, daily, n_sessions)))
    opens = np.concatenate([[spec.spot0], closes[:-1]]) * np.exp(rng.normal(0, daily / 4, n_sessions))
    highs = np.maximum(opens, closes) * (1 + np.abs(rng.normal(0, daily / 2, n_sessions)))
    lows = np.minimum(opens, closes) * (1 - np.abs(rng.normal(0, daily / 2, n_sessions)))
    return np.round(np.column_stack([opens, highs, lows, closes]), 2)


def expirations(session: dt.date) -> list[dt.date]:
    """Weekly Fridays to ~120 days, then monthly third Fridays to ~one year."""
    first_friday = session + dt.timedelta(days=(4 - session.weekday()) % 7)
    weekly = [first_friday + dt.timedelta(weeks=w) for w in range(18) if (w * 7 + (first_friday - session).days) <= 120]
    monthly = []
    year, month = session.year, session.month
    for _ in range(13):
        first = dt.date(year, month, 1)
        third_friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        if 120 < (third_friday - session).days <= 365:
            monthly.append(third_friday)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return sorted(set(weekly + monthly))


STRIKE_STEPS = (0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0)


def _strike_step(spot: float) -> float:
    """The listed increment nearest 3.1% of spot: ~26 strikes in ±40%, ~1,400 contracts a chain."""
    target = spot * 0.031
    return min(STRIKE_STEPS, key=lambda step: abs(np.log(step / target)))


def _chain_columns(spec: _TickerSpec, session: dt.date, spot: float, day_index: int, thin: bool) -> dict:
    from scipy.special import ndtr  # the normal CDF; imported here so the CLI starts without scipy

    rng = np.random.default_rng((spec.seed, day_index))
    step = _strike_step(spot)
    if thin:
        strikes = np.round(spot / step) * step + step * np.array([-1.0, 0.0, 1.0])
        expiries = expirations(session)[1:2]
    else:
        strikes = np.arange(np.ceil(spot * 0.6 / step), np.floor(spot * 1.4 / step) + 1) * step
        expiries = expirations(session)
    dte = np.array([(e - session).days for e in expiries], dtype=np.float64)
    k_grid, dte_grid = np.meshgrid(strikes, dte, indexing="ij")
    k = np.concatenate([k_grid.ravel(), k_grid.ravel()])
    days = np.concatenate([dte_grid.ravel(), dte_grid.ravel()])
    is_call = np.repeat([True, False], k_grid.size)
    years = np.maximum(days, 0.5) / 365.0
    log_m = np.log(k / spot)
    level = spec.vol * (1 + 0.03 * np.sin(day_index / 3.0 + spec.seed))
    iv = level * (1 - 0.35 * log_m + 0.9 * log_m**2) * (1 + 0.08 * (np.sqrt(years) - 0.5))
    iv = np.clip(iv * rng.normal(1, 0.01, k.size), 0.05, 3.0)
    sqrt_t = np.sqrt(years)
    d1 = (np.log(spot / k) + (RISK_FREE_RATE + iv**2 / 2) * years) / (iv * sqrt_t)
    d2 = d1 - iv * sqrt_t
    discount = np.exp(-RISK_FREE_RATE * years)
    call_px = spot * ndtr(d1) - k * discount * ndtr(d2)
    put_px = k * discount * ndtr(-d2) - spot * ndtr(-d1)
    price = np.where(is_call, call_px, put_px)
    delta = np.where(is_call, ndtr(d1), ndtr(d1) - 1)
    gamma = _normal_pdf(d1) / (spot * iv * sqrt_t)
    vega = spot * _normal_pdf(d1) * sqrt_t / 100
    theta_common = -spot * _normal_pdf(d1) * iv / (2 * sqrt_t)
    theta = (
        np.where(
            is_call,
            theta_common - RISK_FREE_RATE * k * discount * ndtr(d2),
            theta_common + RISK_FREE_RATE * k * discount * ndtr(-d2),
        )
        / 365
    )
    near = np.exp(-((log_m / 0.12) ** 2))
    round_strike = np.isclose(np.mod(k, step * 4), 0) * 0.8 + 1
    term_weight = np.exp(-days / 90.0) + 0.15
    oi = np.floor(spec.base_oi * near * round_strike * term_weight * rng.uniform(0.5, 1.5, k.size))
    if thin:
        oi = np.floor(rng.uniform(50, 400, k.size))
    volume = rng.poisson(oi * 0.08 + 0.2).astype(np.float64)
    half_spread = np.maximum(0.01, price * rng.uniform(0.01, 0.06, k.size)) / 2
    bid = np.round(np.maximum(price - half_spread, 0.0), 2)
    ask = np.round(np.maximum(price + half_spread, 0.01), 2)
    no_quote = rng.random(k.size) < 0.02
    bid[no_quote] = np.nan
    ask[no_quote] = np.nan
    no_greeks = rng.random(k.size) < 0.01
    columns = {
        "strike_price": np.round(k, 4),
        "option_type": np.where(is_call, "C", "P"),
        "expiration_date": (np.datetime64(session, "D") + days.astype("timedelta64[D]")).astype(object).tolist(),
        "bid": bid,
        "ask": ask,
        "last": np.round((np.nan_to_num(bid) + np.nan_to_num(ask)) / 2, 2),
        "volume": volume,
        "open_interest": oi,
        "implied_volatility": np.where(no_greeks, np.nan, np.round(iv, 4)),
        "delta": np.where(no_greeks, np.nan, np.round(delta, 4)),
        "gamma": np.where(no_greeks, np.nan, np.round(gamma, 6)),
        "theta": np.where(no_greeks, np.nan, np.round(theta, 4)),
        "vega": np.where(no_greeks, np.nan, np.round(vega, 4)),
    }
    columns["volume"] = columns["volume"].astype(np.int64)
    columns["open_interest"] = columns["open_interest"].astype(np.int64)
    return columns


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


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
                "effective_date": sessions[0] if sessions else end_date,
            },
        )
    paths = {s.symbol: _price_paths(s, len(sessions)) for s in specs}
    gap_day = len(sessions) // 2
    ohlcv_rows = option_rows = 0
    for day_index, session_day in enumerate(sessions):
        bars = [(s, paths[s.symbol][day_index]) for s in specs if not (s.symbol == GAP_SYMBOL and day_index == gap_day)]
        chains = [
            (
                s,
                _chain_columns(
                    s,
                    session_day,
                    float(paths[s.symbol][day_index][3]),
                    day_index,
                    thin=s.symbol == THIN_CHAIN_SYMBOL,
                ),
            )
            for s in specs
            if s.symbol != NO_OPTIONS_SYMBOL
        ]
        with session_factory.begin() as session:
            ohlcv_rows += bulk_insert_ignore(
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
            option_rows += bulk_insert_ignore(session, "options_chains", merged, known_new=fresh)
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
