"""daily_snapshots: the column-scoped upsert of SPEC §7 and the reads the jobs need."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Float, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.repositories.orm import DailySnapshot

DEALER_COLUMN = "dealer_metrics_json"
VOLATILITY_COLUMN = "volatility_metrics_json"
JOB_COLUMNS = (DEALER_COLUMN, VOLATILITY_COLUMN)


@dataclass(frozen=True, slots=True)
class RowState:
    """What a ticker-day's existing row already holds."""

    has_document: bool
    iv_rank: float | None
    average_iv: float | None


def _average_iv():
    return cast(DailySnapshot.volatility_metrics_json[("metrics", "average_iv")].as_float(), Float)


def _iv_rank():
    return cast(DailySnapshot.volatility_metrics_json[("metrics", "iv_rank")].as_float(), Float)


@lru_cache(maxsize=8)
def _upsert_statement(dialect: str, column: str):
    """INSERT … ON CONFLICT (time, ticker_id) DO UPDATE SET <column>; built once, values bound per call."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DailySnapshot).values(
        time=bindparam("time"), ticker_id=bindparam("ticker_id"), **{column: bindparam(column)}
    )
    return stmt.on_conflict_do_update(index_elements=["time", "ticker_id"], set_={column: stmt.excluded[column]})


class SnapshotRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_document(self, column: str, time: dt.datetime, ticker_id: uuid.UUID, document: dict[str, Any]) -> None:
        """Insert the row if absent; otherwise replace only `column` (no other column changes)."""
        if column not in JOB_COLUMNS:
            raise ValueError(f"{column} is not a column this project writes")
        stmt = _upsert_statement(self._session.get_bind().dialect.name, column)
        # Core execution on the session's connection: same transaction, without the ORM bulk-insert layer.
        self._session.connection().execute(stmt, {"time": time, "ticker_id": ticker_id, column: document})

    def load_row_states(self, column: str, ticker_ids: list[uuid.UUID], time: dt.datetime) -> dict[uuid.UUID, RowState]:
        """Rows at exactly `time` for these tickers: whether `column` is filled, and the IV figures."""
        if not ticker_ids:
            return {}
        stmt = select(
            DailySnapshot.ticker_id,
            getattr(DailySnapshot, column).is_not(None),
            _iv_rank(),
            _average_iv(),
        ).where(DailySnapshot.time == time, DailySnapshot.ticker_id.in_(ticker_ids))
        return {
            tid: RowState(has_document=bool(has), iv_rank=rank, average_iv=avg)
            for tid, has, rank, avg in self._session.execute(stmt)
        }

    def load_iv_history(
        self, ticker_ids: list[uuid.UUID], before: dt.datetime, limit: int
    ) -> dict[uuid.UUID, list[tuple[dt.datetime, float | None]]]:
        """Per ticker, the `limit` most recent rows strictly before `before` (ascending): (time, average_iv)."""
        if not ticker_ids:
            return {}
        rank = func.row_number().over(partition_by=DailySnapshot.ticker_id, order_by=DailySnapshot.time.desc())
        inner = (
            select(
                DailySnapshot.ticker_id,
                DailySnapshot.time,
                _average_iv().label("average_iv"),
                rank.label("rn"),
            )
            .where(DailySnapshot.ticker_id.in_(ticker_ids), DailySnapshot.time < before)
            .subquery()
        )
        stmt = (
            select(inner.c.ticker_id, inner.c.time, inner.c.average_iv)
            .where(inner.c.rn <= limit)
            .order_by(inner.c.ticker_id, inner.c.time)
        )
        history: dict[uuid.UUID, list[tuple[dt.datetime, float | None]]] = {tid: [] for tid in ticker_ids}
        for tid, time, avg in self._session.execute(stmt):
            history[tid].append((time, avg))
        return history

    def load_iv_between(
        self, ticker_ids: list[uuid.UUID], after: dt.datetime, before: dt.datetime
    ) -> dict[uuid.UUID, list[tuple[dt.datetime, float | None]]]:
        """Rows with after < time < before (ascending): rows other stages wrote between two sessions."""
        if not ticker_ids:
            return {}
        stmt = (
            select(DailySnapshot.ticker_id, DailySnapshot.time, _average_iv())
            .where(
                DailySnapshot.ticker_id.in_(ticker_ids),
                DailySnapshot.time > after,
                DailySnapshot.time < before,
            )
            .order_by(DailySnapshot.ticker_id, DailySnapshot.time)
        )
        found: dict[uuid.UUID, list[tuple[dt.datetime, float | None]]] = {}
        for tid, time, avg in self._session.execute(stmt):
            found.setdefault(tid, []).append((time, avg))
        return found

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
