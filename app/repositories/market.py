"""Batched reads of market data for one session and a chunk of tickers.

Each method is one query whatever the chunk size. Contracts come back as
numpy arrays (OptionChain), never as ORM objects.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from app.domain.chain import OptionChain
from app.repositories.orm import Ohlcv, OptionContract, Ticker

# Column order of the contract read; every value arrives as float8 (NaN for missing).
_CHAIN_COLUMNS = (
    "dte_days",
    "strike",
    "option_type",
    "open_interest",
    "volume",
    "bid",
    "ask",
    "implied_volatility",
    "delta",
    "gamma",
)

# One row of eleven float8[] columns for the whole chunk: psycopg hands COPY data over one
# message per row, so one row (not one per contract) keeps Python out of the per-contract path.
_PG_CHAIN_COPY = """
COPY (
  SELECT array_agg(s.idx::float8),
         array_agg(coalesce((oc.expiration_date - %(as_of)s::date)::float8, 'NaN')),
         array_agg(coalesce(oc.strike_price::float8, 'NaN')),
         array_agg((CASE oc.option_type WHEN 'C' THEN 1 WHEN 'P' THEN -1 ELSE 0 END)::float8),
         array_agg(coalesce(oc.open_interest::float8, 0)),
         array_agg(coalesce(oc.volume::float8, 0)),
         array_agg(coalesce(oc.bid::float8, 'NaN')),
         array_agg(coalesce(oc.ask::float8, 'NaN')),
         array_agg(coalesce(oc.implied_volatility::float8, 'NaN')),
         array_agg(coalesce(oc.delta::float8, 'NaN')),
         array_agg(coalesce(oc.gamma::float8, 'NaN'))
  FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[]) WITH ORDINALITY AS s(tid, t, idx)
  JOIN options_chains oc ON oc.ticker_id = s.tid AND oc.time = s.t
) TO STDOUT (FORMAT BINARY)
"""
_PG_COPY_HEADER = 19  # signature (11) + flags (4) + extension length (4)
_PG_ARRAY_HEADER = 20  # ndim, flags, element oid, dimension size, lower bound (int32 each)
_PG_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f8")])
_N_FIELDS = 1 + len(_CHAIN_COLUMNS)


def _parse_float8_arrays(buffer: bytes) -> list[np.ndarray] | None:
    """The arrays of a one-row binary COPY of float8[] columns (None when the row is all NULL)."""
    extension = int.from_bytes(buffer[15:19], "big")
    pos = _PG_COPY_HEADER + extension
    fields = int.from_bytes(buffer[pos : pos + 2], "big", signed=True)
    if fields != _N_FIELDS:
        raise RuntimeError(f"unexpected COPY layout: {fields} fields")
    pos += 2
    arrays = []
    for _ in range(fields):
        length = int.from_bytes(buffer[pos : pos + 4], "big", signed=True)
        pos += 4
        if length == -1:  # array_agg over no rows
            return None
        count = int.from_bytes(buffer[pos + 12 : pos + 16], "big", signed=True)
        elements = np.frombuffer(buffer, dtype=_PG_ELEMENT, count=count, offset=pos + _PG_ARRAY_HEADER)
        if np.any(elements["length"] != 8):
            raise RuntimeError("unexpected NULL or width in a float8 array")
        arrays.append(elements["value"].astype(np.float64))
        pos += length
    return arrays


class MarketDataRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    def get_latest_ohlcv_date(self) -> dt.date | None:
        return self._session.execute(select(func.max(Ohlcv.date))).scalar()

    def load_options_snapshot_times(
        self, ticker_ids: list[uuid.UUID], cutoff: dt.datetime
    ) -> dict[uuid.UUID, dt.datetime]:
        """Per ticker, max(options_chains.time) <= cutoff (tickers without one are absent)."""
        if not ticker_ids:
            return {}
        latest = (
            select(func.max(OptionContract.time))
            .where(OptionContract.ticker_id == Ticker.id, OptionContract.time <= cutoff)
            .scalar_subquery()
        )
        rows = self._session.execute(select(Ticker.id, latest).where(Ticker.id.in_(ticker_ids)))
        return {ticker_id: time for ticker_id, time in rows if time is not None}

    def load_spots(self, ticker_ids: list[uuid.UUID], day: dt.date) -> dict[uuid.UUID, float | None]:
        """ohlcv.close on the session (tickers without a bar are absent)."""
        if not ticker_ids:
            return {}
        rows = self._session.execute(
            select(Ohlcv.ticker_id, cast(Ohlcv.close, Float)).where(Ohlcv.date == day, Ohlcv.ticker_id.in_(ticker_ids))
        )
        return {ticker_id: close for ticker_id, close in rows}

    def load_chains(self, snapshot_times: dict[uuid.UUID, dt.datetime], as_of: dt.date) -> dict[uuid.UUID, OptionChain]:
        """Contracts of each ticker's options snapshot, DTE counted from `as_of`."""
        if not snapshot_times:
            return {}
        ids = list(snapshot_times)
        if self._dialect == "postgresql":
            index, values = self._fetch_chain_columns_pg(ids, [snapshot_times[i] for i in ids], as_of)
        else:
            index, values = self._fetch_chain_columns_generic(ids, snapshot_times, as_of)
        return _split_chains(ids, index, values)

    def _fetch_chain_columns_pg(self, ids, times, as_of):
        raw = self._session.connection().connection.driver_connection
        buffer = bytearray()
        with (
            raw.cursor() as cursor,
            cursor.copy(_PG_CHAIN_COPY, {"ids": ids, "times": times, "as_of": as_of}) as copy,
        ):
            for block in copy:
                buffer += block
        arrays = _parse_float8_arrays(bytes(buffer))
        if arrays is None:
            return np.empty(0, dtype=np.int64), np.empty((0, len(_CHAIN_COLUMNS)))
        return arrays[0].astype(np.int64) - 1, np.column_stack(arrays[1:])

    def _fetch_chain_columns_generic(self, ids, snapshot_times, as_of):
        oc = OptionContract
        position = case({tid: i for i, tid in enumerate(ids)}, value=oc.ticker_id)
        dte = func.julianday(oc.expiration_date) - func.julianday(literal(as_of.isoformat()))
        stmt = select(
            position,
            dte,
            cast(oc.strike_price, Float),
            case((oc.option_type == "C", 1), (oc.option_type == "P", -1), else_=0),
            func.coalesce(oc.open_interest, 0),
            func.coalesce(oc.volume, 0),
            cast(oc.bid, Float),
            cast(oc.ask, Float),
            cast(oc.implied_volatility, Float),
            cast(oc.delta, Float),
            cast(oc.gamma, Float),
        ).where(
            # IN on both key columns lets SQLite search the (ticker_id, time) index; the CASE keeps
            # each ticker to its own snapshot time.
            oc.ticker_id.in_(ids),
            oc.time.in_(sorted(set(snapshot_times.values()))),
            oc.time == case(snapshot_times, value=oc.ticker_id),
        )
        # Plain tuples: numpy probes Row objects element by element, 3x slower.
        rows = list(map(tuple, self._session.execute(stmt)))
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, len(_CHAIN_COLUMNS)))
        table = np.array(rows, dtype=np.float64)  # None becomes NaN
        return table[:, 0].astype(np.int64), table[:, 1:]


def _split_chains(ids: list[uuid.UUID], index: np.ndarray, values: np.ndarray) -> dict[uuid.UUID, OptionChain]:
    order = np.argsort(index, kind="stable")
    index, values = index[order], values[order]
    bounds = np.searchsorted(index, np.arange(len(ids) + 1))
    chains = {}
    for i, ticker_id in enumerate(ids):
        block = values[bounds[i] : bounds[i + 1]]
        columns = dict(zip(_CHAIN_COLUMNS, block.T, strict=True))
        chains[ticker_id] = OptionChain.from_arrays(**columns)
    return chains
