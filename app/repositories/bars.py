"""Batched read of each ticker's most recent daily bars (SPEC §13.4): one query per chunk of tickers."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import numpy.typing as npt
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from app.domain.bars import OhlcvBars
from app.domain.chain import FloatArray
from app.repositories.orm import Ohlcv
from app.repositories.pg_binary import CopyFormatError, copy_row_fields, float8_array
from app.repositories.types import driver_connection

_PRICES = ("open", "high", "low", "close")
_SQLITE_NUMBERS = ("integer", "real")
_JULIAN_EPOCH = 2440587.5  # julianday('1970-01-01')


_EPOCH = np.datetime64("1970-01-01", "D")
# Per bar: its ticker's position in the request, its day (since 1970-01-01), its prices (one column each).
_BarColumns = tuple[npt.NDArray[np.int64], FloatArray, FloatArray]
# One row of float8[] columns for the whole chunk (as the chain read does): a lateral LIMIT per ticker
# through the (ticker_id, date) key, so the cost does not grow with stored history, and no Python
# object per bar. Dates travel as days since 1970-01-01; a missing price as NaN.
_PG_BARS_COPY = """
COPY (
  SELECT array_agg(s.idx::float8),
         array_agg((b.date - DATE '1970-01-01')::float8),
         array_agg(coalesce(b.open::float8, 'NaN')),
         array_agg(coalesce(b.high::float8, 'NaN')),
         array_agg(coalesce(b.low::float8, 'NaN')),
         array_agg(coalesce(b.close::float8, 'NaN'))
  FROM unnest(%(ids)s::uuid[]) WITH ORDINALITY AS s(tid, idx)
  CROSS JOIN LATERAL (
    SELECT o.date, o.open, o.high, o.low, o.close FROM ohlcv o
    WHERE o.ticker_id = s.tid AND o.date <= %(day)s ORDER BY o.date DESC LIMIT %(limit)s
  ) b
) TO STDOUT (FORMAT BINARY)
"""


class BarRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def load_recent_bars(self, ticker_ids: list[uuid.UUID], day: dt.date, limit: int) -> dict[uuid.UUID, OhlcvBars]:
        """Per ticker, its `limit` most recent bars dated ≤ `day`, ascending (tickers without one are
        absent). A missing price, or one SQLite holds as text, is NaN: the domain judges the bar.
        `sessions` is left empty for the caller, who knows the calendar. One query for the chunk."""
        distinct = list(dict.fromkeys(ticker_ids))
        if not distinct:
            return {}
        if self._session.get_bind().dialect.name == "postgresql":
            index, days, prices = self._fetch_pg(distinct, day, limit)
        else:
            index, days, prices = self._fetch_sqlite(distinct, day, limit)
        order = np.lexsort((days, index))  # per ticker, ascending in date
        index, days, prices = index[order], days[order], prices[order]
        bounds = np.searchsorted(index, np.arange(len(distinct) + 1))
        dates = _EPOCH + days.astype(np.int64)
        bars = {}
        for i, tid in enumerate(distinct):
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                columns = prices[lo:hi].T.copy()
                bars[tid] = OhlcvBars(dates[lo:hi], columns[0], columns[1], columns[2], columns[3])
        return bars

    def _fetch_pg(self, ids: list[uuid.UUID], day: dt.date, limit: int) -> _BarColumns:
        raw = driver_connection(self._session)
        buffer = bytearray()
        parameters = {"ids": ids, "day": day, "limit": limit}
        with raw.cursor() as cursor, cursor.copy(_PG_BARS_COPY, parameters) as copy:
            for block in copy:
                buffer += block
        fields = copy_row_fields(buffer)
        if len(fields) != 2 + len(_PRICES):
            raise CopyFormatError(f"unexpected COPY layout: {len(fields)} fields")
        if any(field is None for field in fields):  # array_agg over no rows
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty((0, len(_PRICES)))
        arrays = [float8_array(field) for field in fields if field is not None]
        return arrays[0].astype(np.int64) - 1, arrays[1], np.column_stack(arrays[2:])

    def _fetch_sqlite(self, ids: list[uuid.UUID], day: dt.date, limit: int) -> _BarColumns:
        position = case({tid: i for i, tid in enumerate(ids)}, value=Ohlcv.ticker_id)
        bar = Ohlcv
        numbers = [
            cast(case((func.typeof(getattr(bar, name)).in_(_SQLITE_NUMBERS), getattr(bar, name)), else_=None), Float)
            for name in _PRICES
        ]
        rank = func.row_number().over(partition_by=bar.ticker_id, order_by=bar.date.desc())
        ranked = (
            select(
                position.label("idx"),
                (func.julianday(bar.date) - _JULIAN_EPOCH).label("days"),
                *(n.label(name) for n, name in zip(numbers, _PRICES, strict=True)),
                rank.label("rn"),
            )
            .where(bar.ticker_id.in_(ids), bar.date <= day)
            .subquery()
        )
        stmt = select(ranked.c.idx, ranked.c.days, *(ranked.c[name] for name in _PRICES)).where(ranked.c.rn <= limit)
        rows = list(map(tuple, self._session.execute(stmt)))
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty((0, len(_PRICES)))
        table = np.array(rows, dtype=np.float64)  # None becomes NaN
        return table[:, 0].astype(np.int64), table[:, 1], table[:, 2:]
