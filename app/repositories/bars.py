"""Batched read of each ticker's most recent daily bars (SPEC §13.4): one query per chunk of tickers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np
from sqlalchemy import Float, Select, Uuid, case, cast, func, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.domain.volatility.realized import OhlcvBars
from app.repositories.orm import Ohlcv

_PRICES = ("open", "high", "low", "close")
_SQLITE_NUMBERS = ("integer", "real")


class BarRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def load_recent_bars(self, ticker_ids: list[uuid.UUID], day: dt.date, limit: int) -> dict[uuid.UUID, OhlcvBars]:
        """Per ticker, its `limit` most recent bars dated ≤ `day`, ascending (tickers without one are
        absent). A missing price, or one SQLite holds as text, is NaN: the domain judges the bar.
        `sessions` is left empty for the caller, who knows the calendar."""
        if not ticker_ids:
            return {}
        rows: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
        distinct = list(dict.fromkeys(ticker_ids))
        for tid, *values in self._session.execute(self._latest_bars(distinct, day, limit)):
            rows.setdefault(tid, []).append(tuple(values))
        bars = {}
        for tid, ticker_rows in rows.items():
            ticker_rows.sort(key=lambda row: row[0])
            dates = np.array([row[0] for row in ticker_rows], dtype="datetime64[D]")
            prices = np.array([row[1:] for row in ticker_rows], dtype=np.float64)  # None becomes NaN
            columns = [np.ascontiguousarray(prices[:, i]) for i in range(len(_PRICES))]
            bars[tid] = OhlcvBars(dates, columns[0], columns[1], columns[2], columns[3])
        return bars

    def _latest_bars(self, ticker_ids: list[uuid.UUID], day: dt.date, limit: int) -> Select[Any]:
        """(ticker_id, date, open, high, low, close) of each ticker's `limit` latest bars through the
        (ticker_id, date) key: on PostgreSQL a lateral LIMIT per ticker, so the cost does not grow with
        stored history; SQLite ranks each ticker's bars with a window, as the IV history does."""
        bar = Ohlcv
        if self._session.get_bind().dialect.name == "postgresql":
            tickers = func.unnest(postgresql.array(ticker_ids, type_=Uuid())).table_valued("tid").render_derived("s")
            prices = [cast(getattr(bar, name), Float).label(name) for name in _PRICES]
            latest = (
                select(bar.date, *prices)
                .where(bar.ticker_id == tickers.c.tid, bar.date <= day)
                .order_by(bar.date.desc())
                .limit(limit)
                .lateral("b")
            )
            return select(tickers.c.tid, latest.c.date, *(latest.c[name] for name in _PRICES)).join(latest, true())
        numbers = [
            cast(case((func.typeof(getattr(bar, name)).in_(_SQLITE_NUMBERS), getattr(bar, name)), else_=None), Float)
            for name in _PRICES
        ]
        rank = func.row_number().over(partition_by=bar.ticker_id, order_by=bar.date.desc())
        ranked = (
            select(bar.ticker_id, bar.date, *(n.label(name) for n, name in zip(numbers, _PRICES, strict=True)))
            .add_columns(rank.label("rn"))
            .where(bar.ticker_id.in_(ticker_ids), bar.date <= day)
            .subquery()
        )
        return select(ranked.c.ticker_id, ranked.c.date, *(ranked.c[name] for name in _PRICES)).where(
            ranked.c.rn <= limit
        )
