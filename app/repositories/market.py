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

_PG_CHAIN_COPY = """
COPY (
  SELECT s.idx::float8,
         coalesce((oc.expiration_date - %(as_of)s::date)::float8, 'NaN'),
         coalesce(oc.strike_price::float8, 'NaN'),
         (CASE oc.option_type WHEN 'C' THEN 1 WHEN 'P' THEN -1 ELSE 0 END)::float8,
         coalesce(oc.open_interest::float8, 0),
         coalesce(oc.volume::float8, 0),
         coalesce(oc.bid::float8, 'NaN'),
         coalesce(oc.ask::float8, 'NaN'),
         coalesce(oc.implied_volatility::float8, 'NaN'),
         coalesce(oc.delta::float8, 'NaN'),
         coalesce(oc.gamma::float8, 'NaN')
  FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[]) WITH ORDINALITY AS s(tid, t, idx)
  JOIN options_chains oc ON oc.ticker_id = s.tid AND oc.time = s.t
) TO STDOUT (FORMAT BINARY)
"""
_PG_COPY_HEADER = 19  # signature (11) + flags (4) + extension length (4)
_N_FIELDS = 1 + len(_CHAIN_COLUMNS)
_PG_ROW_DTYPE = np.dtype(
    [("fields", ">i2")] + [item for i in range(_N_FIELDS) for item in ((f"len{i}", ">i4"), (f"v{i}", ">f8"))]
)


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
        # Binary COPY of fixed-width float8 rows parses straight into numpy: no per-row Python work.
        raw = self._session.connection().connection.driver_connection
        buffer = bytearray()
        with (
            raw.cursor() as cursor,
            cursor.copy(_PG_CHAIN_COPY, {"ids": ids, "times": times, "as_of": as_of}) as copy,
        ):
            for block in copy:
                buffer += block
        extension = int.from_bytes(buffer[15:19], "big")
        body = memoryview(buffer)[_PG_COPY_HEADER + extension : len(buffer) - 2]
        rows = np.frombuffer(body, dtype=_PG_ROW_DTYPE)
        if np.any(rows["fields"] != _N_FIELDS) or any(np.any(rows[f"len{i}"] != 8) for i in range(_N_FIELDS)):
            raise RuntimeError("unexpected COPY row layout")
        index = rows["v0"].astype(np.int64) - 1
        values = np.column_stack([rows[f"v{i}"] for i in range(1, _N_FIELDS)]).astype(np.float64)
        return index, values

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
