"""daily_snapshots: the column-scoped upsert of SPEC §7 and the reads the jobs need."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    bindparam,
    case,
    cast,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from app.db import json_dumps
from app.domain.previous import DealerSnapshot
from app.repositories.carried_rows import carried_rows
from app.repositories.dealer_history import ERROR_STATUS, SNAPSHOT_FIELDS, dealer_snapshot_columns, snapshot_of
from app.repositories.orm import DailySnapshot

DEALER_COLUMN = "dealer_metrics_json"
VOLATILITY_COLUMN = "volatility_metrics_json"
JOB_COLUMNS = (DEALER_COLUMN, VOLATILITY_COLUMN)


@dataclass(frozen=True, slots=True)
class ColumnState:
    """One job column of an existing row."""

    has_document: bool = False
    is_error: bool = False  # the stored document is an ERROR document

    @property
    def complete(self) -> bool:
        """Holds a real result: what --fill-missing leaves alone."""
        return self.has_document and not self.is_error


@dataclass(frozen=True, slots=True)
class RowState:
    """What a ticker-day's stored row already holds."""

    exists: bool = False
    columns: Mapping[str, ColumnState] | None = None
    iv_rank: float | None = None
    average_iv: float | None = None
    atm_iv_30d: float | None = None
    dealer: DealerSnapshot | None = None  # the stored dealer document's §13.3 figures, unless absent or ERROR

    def column(self, name: str) -> ColumnState:
        return (self.columns or {}).get(name, ColumnState())


ABSENT_ROW = RowState()


def _metric(path: str) -> ColumnElement[float]:
    return cast(DailySnapshot.volatility_metrics_json[("metrics", path)].as_float(), Float)


PSYCOPG_DIALECT = psycopg_dialect()  # compiles the upsert the driver runs directly

HISTORY_METRICS = ("average_iv", "atm_iv_30d")  # what IV rank and IV30 rank are ranked against


def _history_values() -> list[Any]:
    """The stored history metrics of a row, labelled by name."""
    return [_metric(name).label(name) for name in HISTORY_METRICS]


def _status(column: str) -> ColumnElement[str]:
    return getattr(DailySnapshot, column)["processing_status"].as_string()


@lru_cache(maxsize=32)
def _upsert_statement(
    dialect: str, columns: tuple[str, ...], keep_existing: frozenset[str]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT (time, ticker_id) DO UPDATE SET <columns>; built once, values bound per call.

    A column in `keep_existing` is set only where the stored value is NULL: an ERROR document
    never replaces a stored document (SPEC §7).
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DailySnapshot).values(
        time=bindparam("time"), ticker_id=bindparam("ticker_id"), **{c: bindparam(c) for c in columns}
    )
    table = DailySnapshot.__table__
    updates = {
        c: case((table.c[c].is_(None), stmt.excluded[c]), else_=table.c[c]) if c in keep_existing else stmt.excluded[c]
        for c in columns
    }
    return stmt.on_conflict_do_update(index_elements=["time", "ticker_id"], set_=updates)


def _checked_columns(
    documents: Mapping[str, Any], keep_existing: Collection[str]
) -> tuple[tuple[str, ...], frozenset[str]]:
    columns = tuple(sorted(documents))
    unknown = set(columns) - set(JOB_COLUMNS)
    if unknown or not columns:
        raise ValueError(f"{sorted(unknown) or 'no column'}: not a column this project writes")
    return columns, frozenset(keep_existing) & frozenset(columns)


def upsert_documents(
    connection: Connection,
    time: dt.datetime,
    ticker_id: uuid.UUID,
    documents: Mapping[str, dict[str, Any]],
    keep_existing: Collection[str] = (),
) -> None:
    """Insert the row if absent; otherwise set only these columns (no other column changes).

    Columns named in `keep_existing` keep a stored document and are only filled where empty.
    Runs on a plain Connection (the batch writer keeps one open) inside the caller's transaction.
    """
    columns, keep = _checked_columns(documents, keep_existing)
    stmt = _upsert_statement(connection.dialect.name, columns, keep)
    connection.execute(stmt, {"time": time, "ticker_id": ticker_id, **documents})


@lru_cache(maxsize=32)
def _driver_upsert_sql(columns: tuple[str, ...], keep_existing: frozenset[str]) -> str:
    return str(_upsert_statement("postgresql", columns, keep_existing).compile(dialect=PSYCOPG_DIALECT))


def upsert_documents_in_savepoint(
    cursor: psycopg.Cursor[Any],
    time: dt.datetime,
    ticker_id: uuid.UUID,
    documents: Mapping[str, dict[str, Any]],
    keep_existing: Collection[str] = (),
) -> None:
    """`upsert_documents` in a savepoint of its own, on the psycopg cursor of a PostgreSQL connection
    in pipeline mode (nothing is awaited: an error surfaces when the pipeline syncs).

    The statement is the one `upsert_documents` runs, compiled once. Going round SQLAlchemy's
    per-statement work (~0.3 ms of Python for each of the savepoint, the upsert and the release)
    frees the GIL for the computation on the other thread.
    """
    columns, keep = _checked_columns(documents, keep_existing)
    values = {c: Jsonb(documents[c], dumps=json_dumps) for c in columns}
    cursor.execute("SAVEPOINT ticker_day")
    cursor.execute(_driver_upsert_sql(columns, keep), {"time": time, "ticker_id": ticker_id, **values})
    cursor.execute("RELEASE SAVEPOINT ticker_day")


class SnapshotRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_documents(
        self,
        time: dt.datetime,
        ticker_id: uuid.UUID,
        documents: Mapping[str, dict[str, Any]],
        keep_existing: Collection[str] = (),
    ) -> None:
        """`upsert_documents` in this session's transaction."""
        upsert_documents(self._session.connection(), time, ticker_id, documents, keep_existing)

    def upsert_document(self, column: str, time: dt.datetime, ticker_id: uuid.UUID, document: dict[str, Any]) -> None:
        """Insert the row if absent; otherwise replace only `column`."""
        self.upsert_documents(time, ticker_id, {column: document})

    def load_row_states(self, ticker_ids: list[uuid.UUID], time: dt.datetime) -> dict[uuid.UUID, RowState]:
        """Rows at exactly `time` for these tickers: which job columns hold (ERROR) documents, and the IV figures."""
        if not ticker_ids:
            return {}
        flags = []
        for column in JOB_COLUMNS:
            flags += [getattr(DailySnapshot, column).is_not(None), _status(column) == ERROR_STATUS]
        stmt = select(
            DailySnapshot.ticker_id,
            *flags,
            _metric("iv_rank"),
            _metric("average_iv"),
            _metric("atm_iv_30d"),
            *dealer_snapshot_columns(),
        ).where(DailySnapshot.time == time, DailySnapshot.ticker_id.in_(ticker_ids))
        states = {}
        for tid, *values in self._session.execute(stmt):
            pairs = values[: 2 * len(JOB_COLUMNS)]
            columns = {
                column: ColumnState(bool(pairs[2 * i]), bool(pairs[2 * i + 1])) for i, column in enumerate(JOB_COLUMNS)
            }
            iv_rank, average_iv, atm_iv_30d = values[2 * len(JOB_COLUMNS) : 2 * len(JOB_COLUMNS) + 3]
            dealer = columns[DEALER_COLUMN]
            states[tid] = RowState(
                exists=True,
                columns=columns,
                iv_rank=iv_rank,
                average_iv=average_iv,
                atm_iv_30d=atm_iv_30d,
                dealer=snapshot_of(values[-len(SNAPSHOT_FIELDS) :]) if dealer.complete else None,
            )
        return states

    def load_iv_history(
        self,
        ticker_ids: list[uuid.UUID],
        snapshot_time: dt.datetime,
        limit: int,
        *,
        through: dt.datetime | None = None,
        excluding: Collection[dt.datetime] = (),
    ) -> dict[uuid.UUID, list[tuple[dt.datetime, float | None, float | None]]]:
        """Per ticker (ascending): the `limit` most recent rows strictly before `snapshot_time`, then the rows
        from `snapshot_time` through `through` whose time is not in `excluding` (rows other stages wrote
        inside a range this run computes itself): (time, average_iv, atm_iv_30d)."""
        if not ticker_ids:
            return {}
        rows = carried_rows(
            self._session, ticker_ids, snapshot_time, limit, _history_values(), through=through, excluding=excluding
        )
        history: dict[uuid.UUID, list[tuple[dt.datetime, float | None, float | None]]] = {tid: [] for tid in ticker_ids}
        for tid, time, avg, iv30 in rows:
            history[tid].append((time, avg, iv30))
        return history

    def load_documents(
        self, ticker_ids: list[uuid.UUID], time: dt.datetime
    ) -> dict[uuid.UUID, tuple[dict | None, dict | None]]:
        """(dealer document, volatility document) of each ticker's row at `time`."""
        if not ticker_ids:
            return {}
        stmt = select(
            DailySnapshot.ticker_id, DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json
        ).where(DailySnapshot.time == time, DailySnapshot.ticker_id.in_(ticker_ids))
        return {tid: (dealer, vol) for tid, dealer, vol in self._session.execute(stmt)}

    def list_volatility_history(self, ticker_id: uuid.UUID, until: dt.datetime) -> list[tuple[dt.datetime, dict]]:
        """Every volatility document of a ticker up to `until`, ascending (for history charts)."""
        stmt = (
            select(DailySnapshot.time, DailySnapshot.volatility_metrics_json)
            .where(
                DailySnapshot.ticker_id == ticker_id,
                DailySnapshot.time <= until,
                DailySnapshot.volatility_metrics_json.is_not(None),
            )
            .order_by(DailySnapshot.time)
        )
        return [(time, doc) for time, doc in self._session.execute(stmt)]

    def list_documents_between(
        self, ticker_ids: list[uuid.UUID], start: dt.datetime | None, end: dt.datetime
    ) -> dict[uuid.UUID, list[tuple[dt.datetime, dict | None, dict | None]]]:
        """Per ticker, ascending: (time, dealer document, volatility document) of its rows with
        start <= time <= end (no lower bound when start is None). One query for any number of tickers."""
        history: dict[uuid.UUID, list[tuple[dt.datetime, dict | None, dict | None]]] = {tid: [] for tid in ticker_ids}
        if not ticker_ids:
            return history
        snap = DailySnapshot
        stmt = (
            select(snap.ticker_id, snap.time, snap.dealer_metrics_json, snap.volatility_metrics_json)
            .where(
                snap.ticker_id.in_(ticker_ids),
                snap.time <= end,
                snap.time >= start if start is not None else true(),
            )
            .order_by(snap.ticker_id, snap.time)
        )
        for tid, time, dealer, vol in self._session.execute(stmt):
            history[tid].append((time, dealer, vol))
        return history
