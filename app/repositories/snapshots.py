"""daily_snapshots: the column-scoped upsert of SPEC §7 and the reads the jobs need."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Float, Select, bindparam, case, cast, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.repositories.orm import DailySnapshot

DEALER_COLUMN = "dealer_metrics_json"
VOLATILITY_COLUMN = "volatility_metrics_json"
JOB_COLUMNS = (DEALER_COLUMN, VOLATILITY_COLUMN)
ERROR_STATUS = "ERROR"


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

    def column(self, name: str) -> ColumnState:
        return (self.columns or {}).get(name, ColumnState())


ABSENT_ROW = RowState()


def _metric(path: str):
    return cast(DailySnapshot.volatility_metrics_json[("metrics", path)].as_float(), Float)


def _status(column: str):
    return getattr(DailySnapshot, column)["processing_status"].as_string()


@lru_cache(maxsize=32)
def _upsert_statement(dialect: str, columns: tuple[str, ...], keep_existing: frozenset[str]):
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
        """Insert the row if absent; otherwise set only these columns (no other column changes).

        Columns named in `keep_existing` keep a stored document and are only filled where empty.
        """
        columns = tuple(sorted(documents))
        unknown = set(columns) - set(JOB_COLUMNS)
        if unknown or not columns:
            raise ValueError(f"{sorted(unknown) or 'no column'}: not a column this project writes")
        stmt = _upsert_statement(
            self._session.get_bind().dialect.name, columns, frozenset(keep_existing) & frozenset(columns)
        )
        # Core execution on the session's connection: same transaction, without the ORM bulk-insert layer.
        self._session.connection().execute(stmt, {"time": time, "ticker_id": ticker_id, **documents})

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
        stmt = select(DailySnapshot.ticker_id, *flags, _metric("iv_rank"), _metric("average_iv")).where(
            DailySnapshot.time == time, DailySnapshot.ticker_id.in_(ticker_ids)
        )
        states = {}
        for tid, *values in self._session.execute(stmt):
            pairs = values[: 2 * len(JOB_COLUMNS)]
            columns = {
                column: ColumnState(bool(pairs[2 * i]), bool(pairs[2 * i + 1])) for i, column in enumerate(JOB_COLUMNS)
            }
            iv_rank, average_iv = values[2 * len(JOB_COLUMNS) :]
            states[tid] = RowState(exists=True, columns=columns, iv_rank=iv_rank, average_iv=average_iv)
        return states

    def load_iv_history(
        self,
        ticker_ids: list[uuid.UUID],
        before: dt.datetime,
        limit: int,
        *,
        through: dt.datetime | None = None,
        excluding: Collection[dt.datetime] = (),
    ) -> dict[uuid.UUID, list[tuple[dt.datetime, float | None]]]:
        """Per ticker (ascending): the `limit` most recent rows strictly before `before`, then the rows
        from `before` through `through` whose time is not in `excluding` (rows other stages wrote
        inside a range this run computes itself): (time, average_iv)."""
        if not ticker_ids:
            return {}
        rank = func.row_number().over(partition_by=DailySnapshot.ticker_id, order_by=DailySnapshot.time.desc())
        inner = (
            select(DailySnapshot.ticker_id, DailySnapshot.time, rank.label("rn"))
            .where(DailySnapshot.ticker_id.in_(ticker_ids), DailySnapshot.time < before)
            .subquery()
        )
        earlier = select(inner.c.ticker_id, inner.c.time).where(inner.c.rn <= limit)
        keys: Select[Any] | CompoundSelect[Any] = earlier
        if through is not None:
            inside = select(DailySnapshot.ticker_id, DailySnapshot.time).where(
                DailySnapshot.ticker_id.in_(ticker_ids),
                DailySnapshot.time >= before,
                DailySnapshot.time <= through,
                DailySnapshot.time.not_in(sorted(excluding)) if excluding else true(),
            )
            keys = earlier.union_all(inside)
        picked = keys.subquery()
        stmt = (
            select(picked.c.ticker_id, picked.c.time, _metric("average_iv"))
            .join(
                DailySnapshot,
                (DailySnapshot.ticker_id == picked.c.ticker_id) & (DailySnapshot.time == picked.c.time),
            )
            .order_by(picked.c.ticker_id, picked.c.time)
        )
        history: dict[uuid.UUID, list[tuple[dt.datetime, float | None]]] = {tid: [] for tid in ticker_ids}
        for tid, time, avg in self._session.execute(stmt):
            history[tid].append((time, avg))
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
