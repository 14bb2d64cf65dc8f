"""`kapman history`: a ticker's stored documents over time, as aligned series for the history chart.

Keys are read tolerantly: a key a document does not hold (an older document, or one written
before a section of the SPEC existed) is a missing value, drawn as a gap and written as n/a.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import default_session
from app.reporting.stored import StoredDealer, StoredVolatility, read_dealer, read_volatility
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import previous_sessions, snapshot_time, trading_date_of

DEFAULT_SESSIONS = 252  # a year of sessions when no start date is given

DocumentRow = tuple[dt.datetime, dict | None, dict | None]

# (series name, document, path): what each line of the history chart is read from.
SERIES: tuple[tuple[str, str, tuple[str | int, ...]], ...] = (
    ("zero_gamma", "dealer", ("levels", "zero_gamma")),
    ("gamma_flip", "dealer", ("gamma_flip",)),
    ("call_resistance", "dealer", ("positioning", "call_resistance", 0, "strike")),
    ("put_support", "dealer", ("positioning", "put_support", 0, "strike")),
    ("call_gex_wall", "dealer", ("levels", "call_gex_wall")),
    ("put_gex_wall", "dealer", ("levels", "put_gex_wall")),
    ("gamma_at_spot", "dealer", ("levels", "gamma_at_spot")),
    ("gex_net", "dealer", ("gex_net",)),
    ("iv30", "volatility", ("metrics", "atm_iv_30d")),
    ("iv30_rank", "volatility", ("metrics", "iv30_rank")),
    ("hv20", "volatility", ("realized", "hv_20")),
    ("em_lower", "volatility", ("expected_move", "front", "lower")),
    ("em_upper", "volatility", ("expected_move", "front", "upper")),
)


class HistoryError(ValueError):
    """No history can be drawn (unknown symbol, no stored documents in the range)."""


def read_number(document: BaseModel | dict | None, path: Sequence[str | int]) -> float:
    """The number at `path` in a stored document (as read by app.reporting.stored, or plain JSON),
    NaN when any step is absent or not a number."""
    value: Any = document
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        elif isinstance(value, BaseModel):
            value = getattr(value, step, None)
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return math.nan
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


@dataclass(frozen=True, slots=True)
class TickerHistory:
    """One value per stored session (NaN where a document or key is missing); dollar figures per 1% move."""

    symbol: str
    sessions: list[dt.date]
    spot: np.ndarray
    series: dict[str, np.ndarray]
    em_expiry: list[dt.date | None]
    closes: dict[dt.date, float] = field(default_factory=dict)  # every stored ohlcv close of the range

    def __getitem__(self, name: str) -> np.ndarray:
        return self.series[name]

    def has(self, name: str) -> bool:
        return bool(np.isfinite(self.series[name]).any())

    def close_at_expiry(self) -> np.ndarray:
        """For each session, the close on its front expiry (the last bar at or before the expiry date),
        NaN while the expiry is still ahead of the stored bars."""
        days = sorted(self.closes)
        values = np.full(len(self.sessions), np.nan)
        if not days:
            return values
        for i, expiry in enumerate(self.em_expiry):
            if expiry is None or expiry > days[-1]:
                continue
            at = int(np.searchsorted(np.array(days, dtype="datetime64[D]"), np.datetime64(expiry), side="right")) - 1
            if at >= 0 and days[at] > self.sessions[i]:
                values[i] = self.closes[days[at]]
        return values


def _session_of(moment: dt.datetime, dealer: StoredDealer | None, vol: StoredVolatility | None) -> dt.date:
    for document in (dealer, vol):
        if document is not None and document.metadata.snapshot_date:
            return dt.date.fromisoformat(document.metadata.snapshot_date)
    # The 23:59 New York cut-off is the next day in UTC: the document is about its trading date.
    return trading_date_of(moment)


def history_from_rows(
    symbol: str, rows: list[DocumentRow], closes: list[tuple[dt.date, float | None]]
) -> TickerHistory:
    """Aligned series from stored rows (ascending) and the ticker's ohlcv closes."""
    close_by_day = {day: float(value) for day, value in closes if value is not None and math.isfinite(value)}
    # Through the document models; an unreadable document is a missing one (a gap in every series).
    read = [(moment, read_dealer(dealer), read_volatility(vol)) for moment, dealer, vol in rows]
    sessions = [_session_of(moment, dealer, vol) for moment, dealer, vol in read]
    documents: dict[str, list[Any]] = {"dealer": [r[1] for r in read], "volatility": [r[2] for r in read]}
    series = {
        name: np.array([read_number(doc, path) for doc in documents[kind]], dtype=float) for name, kind, path in SERIES
    }
    stored_spot = np.array([read_number(doc, ("spot_price",)) for doc in documents["dealer"]], dtype=float)
    spot = np.array([close_by_day.get(day, math.nan) for day in sessions], dtype=float)
    spot = np.where(np.isfinite(stored_spot), stored_spot, spot)
    expiries = [
        doc.expected_move.front.expiry if doc and doc.expected_move else None for doc in documents["volatility"]
    ]
    return TickerHistory(
        symbol=symbol,
        sessions=sessions,
        spot=spot,
        series=series,
        em_expiry=[dt.date.fromisoformat(e) if e else None for e in expiries],
        closes=close_by_day,
    )


def resolve_range(
    session: Session, start: dt.date | None, end: dt.date | None, sessions: int = DEFAULT_SESSIONS
) -> tuple[dt.date, dt.date]:
    """The end defaults to the default session (latest ohlcv date); the start to a year of sessions before it."""
    if end is None:
        end = default_session(MarketDataRepository(session).get_latest_ohlcv_date())
    if start is None:
        start = previous_sessions(end, sessions)[0]
    if start > end:
        raise HistoryError(f"--start-date {start} is after --end-date {end}")
    return start, end


def load_histories(
    session: Session, ticker_ids: dict[str, uuid.UUID], start: dt.date, end: dt.date
) -> dict[str, TickerHistory]:
    """The histories of several tickers in two queries (documents, closes), whatever their number."""
    ids = list(ticker_ids.values())
    after = snapshot_time(start - dt.timedelta(days=1)) + dt.timedelta(microseconds=1)  # the day before's cut-off
    rows = SnapshotRepository(session).list_documents_between(ids, after, snapshot_time(end))
    closes = MarketDataRepository(session).list_closes(ids, start, end)
    return {symbol: history_from_rows(symbol, rows[tid], closes[tid]) for symbol, tid in ticker_ids.items()}


def build_history(
    session_factory: sessionmaker[Session], symbol: str, start: dt.date | None = None, end: dt.date | None = None
) -> TickerHistory:
    symbol = symbol.strip().upper()
    with session_factory() as session:
        start, end = resolve_range(session, start, end)
        ids = UniverseRepository(session).map_symbols([symbol])
        if symbol not in ids:
            raise HistoryError(f"unknown symbol {symbol}: no tickers row")
        history = load_histories(session, {symbol: ids[symbol]}, start, end)[symbol]
    if len(history.sessions) < 2:
        raise HistoryError(f"{symbol}: fewer than two stored sessions between {start} and {end}")
    return history
