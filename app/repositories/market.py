"""Batched reads of market data for one session and a chunk of tickers.

Each method is one query whatever the chunk size. Contracts come back as
numpy arrays (OptionChain), never as ORM objects.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Case, ColumnExpressionArgument, Float, and_, case, cast, func, literal, not_, or_, select, true
from sqlalchemy.orm import Session

from app.domain.chain import FloatArray, OptionChain
from app.domain.chain_block import chains_of_block
from app.domain.expiry import ChainClock
from app.repositories.chain_copy import fetch_chain_columns
from app.repositories.orm import Ohlcv, OptionContract, Ticker

# Needed by every rule (malformed, expiry, quotes); the greeks are read only when a job asks for them.
BASE_FIELDS = ("dte_days", "strike", "option_type", "open_interest", "volume", "bid", "ask")
GREEK_FIELDS = ("implied_volatility", "delta", "gamma")


def _chain_fields(greeks: Collection[str]) -> tuple[str, ...]:
    unknown = set(greeks) - set(GREEK_FIELDS)
    if unknown:
        raise ValueError(f"unknown chain fields: {sorted(unknown)}")
    return BASE_FIELDS + tuple(g for g in GREEK_FIELDS if g in greeks)


@dataclass(frozen=True, slots=True)
class SnapshotTime:
    """A ticker's options snapshot: its time and how many contract rows it holds."""

    time: dt.datetime
    contracts: int


# SQLite keeps whatever text it is given in a numeric column ('' or 'abc' from `sqlite3 .import`);
# such a row cannot be read as a contract and is reported malformed, never read as 0.
_SQLITE_NUMBERS = ("integer", "real")
_SQLITE_CHECKED = ("strike_price", "bid", "ask", "volume", "open_interest", "implied_volatility", "delta", "gamma")


def _sqlite_number(column: ColumnExpressionArgument[float | None]) -> Case[float | None]:
    """The value when SQLite holds a number there, else NULL (CAST would turn 'abc' into 0.0)."""
    return case((func.typeof(column).in_(_SQLITE_NUMBERS), column), else_=None)


def _sqlite_unreadable(oc: type[OptionContract]) -> Case[float]:
    texts = [not_(func.typeof(getattr(oc, name)).in_((*_SQLITE_NUMBERS, "null"))) for name in _SQLITE_CHECKED]
    return case((or_(*texts), 1.0), else_=0.0)


class MarketDataRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    def get_latest_ohlcv_date(self) -> dt.date | None:
        """The latest date of any ohlcv row: one probe of the (ticker_id, date) key per ticker, not a
        scan of every bar ever stored."""
        latest = select(func.max(Ohlcv.date)).where(Ohlcv.ticker_id == Ticker.id).scalar_subquery()
        per_ticker = select(latest.label("latest")).select_from(Ticker).subquery()
        return self._session.execute(select(func.max(per_ticker.c.latest))).scalar()

    def has_options_at(self, time: dt.datetime) -> bool:
        """Whether any option row is stamped exactly `time`."""
        return (
            self._session.execute(select(OptionContract.time).where(OptionContract.time == time).limit(1)).first()
            is not None
        )

    def load_options_snapshot_times(
        self, ticker_ids: list[uuid.UUID], snapshot_time: dt.datetime
    ) -> dict[uuid.UUID, dt.datetime]:
        """Per ticker, max(options_chains.time) <= cutoff (tickers without one are absent)."""
        return {tid: snap.time for tid, snap in self.load_snapshot_times(ticker_ids, snapshot_time).items()}

    def load_snapshot_times(
        self, ticker_ids: list[uuid.UUID], snapshot_time: dt.datetime
    ) -> dict[uuid.UUID, SnapshotTime]:
        """Per ticker, its options snapshot at or before `cutoff` and its number of contract rows
        (tickers without a snapshot are absent). One query, index lookups per ticker."""
        if not ticker_ids:
            return {}
        oc = OptionContract
        latest = select(func.max(oc.time)).where(oc.ticker_id == Ticker.id, oc.time <= snapshot_time).scalar_subquery()
        snapshots = select(Ticker.id.label("tid"), latest.label("snap")).where(Ticker.id.in_(ticker_ids)).subquery()
        contracts = (
            select(func.count())
            .select_from(oc)
            .where(and_(oc.ticker_id == snapshots.c.tid, oc.time == snapshots.c.snap))
            .scalar_subquery()
        )
        rows = self._session.execute(
            select(snapshots.c.tid, snapshots.c.snap, contracts).where(snapshots.c.snap.is_not(None))
        )
        return {tid: SnapshotTime(time, int(count)) for tid, time, count in rows}

    def load_spots(self, ticker_ids: list[uuid.UUID], day: dt.date) -> dict[uuid.UUID, float | None]:
        """ohlcv.close on the session (tickers without a bar are absent; a close that is not a number is None)."""
        if not ticker_ids:
            return {}
        close = _sqlite_number(Ohlcv.close) if self._dialect == "sqlite" else Ohlcv.close
        rows = self._session.execute(
            select(Ohlcv.ticker_id, cast(close, Float)).where(Ohlcv.date == day, Ohlcv.ticker_id.in_(ticker_ids))
        )
        return {ticker_id: close for ticker_id, close in rows}

    def list_closes(
        self, ticker_ids: list[uuid.UUID], start: dt.date | None, end: dt.date
    ) -> dict[uuid.UUID, list[tuple[dt.date, float | None]]]:
        """Per ticker, ascending: (date, close) of its bars with start <= date <= end. One query."""
        closes: dict[uuid.UUID, list[tuple[dt.date, float | None]]] = {tid: [] for tid in ticker_ids}
        if not ticker_ids:
            return closes
        close = _sqlite_number(Ohlcv.close) if self._dialect == "sqlite" else Ohlcv.close
        stmt = (
            select(Ohlcv.ticker_id, Ohlcv.date, cast(close, Float))
            .where(Ohlcv.ticker_id.in_(ticker_ids), Ohlcv.date <= end, Ohlcv.date >= start if start else true())
            .order_by(Ohlcv.ticker_id, Ohlcv.date)
        )
        for tid, day, value in self._session.execute(stmt):
            closes[tid].append((day, value))
        return closes

    def load_chains(
        self,
        snapshot_times: dict[uuid.UUID, dt.datetime],
        as_of: dt.date,
        greeks: Collection[str] = GREEK_FIELDS,
    ) -> dict[uuid.UUID, OptionChain]:
        """Contracts of each ticker's options snapshot, DTE counted from `as_of`.

        Only the greeks named are read; the others are NaN in the returned chains.
        """
        if not snapshot_times:
            return {}
        ids = list(snapshot_times)
        fields = _chain_fields(greeks)
        if self._dialect == "postgresql":
            times = [snapshot_times[i] for i in ids]
            index, values = fetch_chain_columns(self._session, ids, times, as_of, fields)
        else:
            index, values = self._fetch_chain_columns_sqlite(ids, snapshot_times, as_of, fields)
            fields = (*fields, "unreadable")
        return _split_chains(ids, index, values, fields, as_of, snapshot_times)

    def _fetch_chain_columns_sqlite(
        self,
        ids: list[uuid.UUID],
        snapshot_times: dict[uuid.UUID, dt.datetime],
        as_of: dt.date,
        fields: tuple[str, ...],
    ) -> tuple[npt.NDArray[np.int64], list[FloatArray]]:
        oc = OptionContract
        position = case({tid: i for i, tid in enumerate(ids)}, value=oc.ticker_id)
        dte = func.julianday(oc.expiration_date) - func.julianday(literal(as_of.isoformat()))
        expressions = {
            "dte_days": dte,
            "strike": _sqlite_number(oc.strike_price),
            "option_type": case((oc.option_type == "C", 1), (oc.option_type == "P", -1), else_=0),
            "open_interest": func.coalesce(_sqlite_number(oc.open_interest), 0),
            "volume": func.coalesce(_sqlite_number(oc.volume), 0),
            "bid": _sqlite_number(oc.bid),
            "ask": _sqlite_number(oc.ask),
            "implied_volatility": _sqlite_number(oc.implied_volatility),
            "delta": _sqlite_number(oc.delta),
            "gamma": _sqlite_number(oc.gamma),
        }
        columns = [expressions[f] for f in fields] + [_sqlite_unreadable(oc)]
        stmt = select(position, *columns).where(
            # IN on both key columns lets SQLite search the (ticker_id, time) index; the CASE keeps
            # each ticker to its own snapshot time.
            oc.ticker_id.in_(ids),
            oc.time.in_(sorted(set(snapshot_times.values()))),
            oc.time == case(snapshot_times, value=oc.ticker_id),
        )
        # Plain tuples: numpy probes Row objects element by element, 3x slower.
        rows = list(map(tuple, self._session.execute(stmt)))
        if not rows:
            return np.empty(0, dtype=np.int64), [np.empty(0) for _ in range(len(fields) + 1)]
        table = np.array(rows, dtype=np.float64).T.copy()  # None becomes NaN; a row per field
        return table[0].astype(np.int64), list(table[1:])


def _split_chains(
    ids: list[uuid.UUID],
    index: np.ndarray,
    values: list[FloatArray],
    fields: tuple[str, ...],
    as_of: dt.date,
    snapshot_times: dict[uuid.UUID, dt.datetime],
) -> dict[uuid.UUID, OptionChain]:
    clocks = [ChainClock(as_of, snapshot_times[ticker_id]) for ticker_id in ids]
    columns = dict(zip(fields, values, strict=True))
    return dict(zip(ids, chains_of_block(index, columns, clocks), strict=True))
