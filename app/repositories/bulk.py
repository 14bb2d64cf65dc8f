"""Bulk inserts that skip rows already present (idempotent loads).

Input is column-major (one list per column), which keeps per-dialect value
adaptation cheap: PostgreSQL gets COPY into a staging table then
INSERT … ON CONFLICT DO NOTHING; SQLite gets INSERT OR IGNORE executemany.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Date, Table, Uuid
from sqlalchemy.orm import Session

from app.repositories.orm import Ohlcv, OptionContract, Ticker, Watchlist
from app.repositories.types import UTCDateTime

TABLES: dict[str, Table] = {
    "tickers": Ticker.__table__,
    "watchlists": Watchlist.__table__,
    "ohlcv": Ohlcv.__table__,
    "options_chains": OptionContract.__table__,
}

# SQLAlchemy's SQLite DateTime text format; stored values must compare as strings in time order.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _none_for_nan(values: Sequence[Any]) -> list[Any]:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def _adapt_sqlite(column_type: Any, values: Sequence[Any]) -> list[Any]:
    if isinstance(column_type, Uuid):
        return [v.hex if isinstance(v, uuid.UUID) else v for v in values]
    if isinstance(column_type, UTCDateTime):
        return [v.astimezone(dt.UTC).strftime(_SQLITE_DATETIME) if v is not None else None for v in values]
    if isinstance(column_type, Date):
        return [v.isoformat() if v is not None else None for v in values]
    if isinstance(column_type, Boolean):
        return [None if v is None else int(bool(v)) for v in values]
    return _none_for_nan(values)


def _constant_or_list(values: Sequence[Any] | Any, n: int) -> Sequence[Any]:
    return values if isinstance(values, (list, tuple)) else [values] * n


def bulk_insert_ignore(session: Session, table_name: str, columns: dict[str, Sequence[Any] | Any]) -> int:
    """Insert rows given as {column: values or one constant}; rows hitting a unique key are skipped.

    Returns the number of rows inserted.
    """
    table = TABLES[table_name]
    lengths = {len(v) for v in columns.values() if isinstance(v, (list, tuple))}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: {sorted(lengths)}")
    n = lengths.pop() if lengths else 1
    if n == 0:
        return 0
    names = list(columns)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        data = [_none_for_nan(_constant_or_list(columns[c], n)) for c in names]
        return _copy_insert_pg(session, table, names, list(zip(*data, strict=True)))
    data = [_adapt_sqlite(table.c[c].type, _constant_or_list(columns[c], n)) for c in names]
    raw = session.connection().connection.driver_connection
    placeholders = ", ".join("?" for _ in names)
    before = raw.total_changes
    raw.executemany(
        f"INSERT OR IGNORE INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})",
        zip(*data, strict=True),
    )
    return raw.total_changes - before


def _copy_insert_pg(session: Session, table: Table, names: list[str], rows: list[tuple]) -> int:
    raw = session.connection().connection.driver_connection
    stage = f"_stage_{table.name}"
    column_list = ", ".join(names)
    with raw.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {stage}")
        with cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table.name} ({column_list}) SELECT {column_list} FROM {stage} ON CONFLICT DO NOTHING"
        )
        return cursor.rowcount
