"""Bulk inserts that skip rows already present (idempotent loads).

Input is column-major (one sequence or numpy array per column, or one constant),
which keeps per-dialect value adaptation cheap. PostgreSQL gets COPY (CSV text
built by the C csv writer) into a staging table, then INSERT … ON CONFLICT DO
NOTHING — or straight into the table when the caller knows the rows are new;
SQLite gets INSERT OR IGNORE executemany.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Boolean, Date, Table, Uuid
from sqlalchemy.orm import Session

from app.repositories.orm import Base
from app.repositories.types import UTCDateTime, driver_connection

if TYPE_CHECKING:
    from psycopg import Cursor

TABLES: dict[str, Table] = {
    name: Base.metadata.tables[name] for name in ("tickers", "watchlists", "ohlcv", "options_chains")
}

# SQLAlchemy's SQLite DateTime text format; stored values must compare as strings in time order.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_COPY_BATCH_ROWS = 20_000

Column = Sequence[Any] | np.ndarray | Any


def _as_list(values: Column, n: int) -> list[Any]:
    """A column as a list with None for missing values (NaN floats included)."""
    if isinstance(values, np.ndarray):
        out = values.tolist()
        if values.dtype.kind == "f":
            for i in np.flatnonzero(np.isnan(values)).tolist():
                out[i] = None
        return out
    if isinstance(values, (list, tuple)):
        return [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    return [values] * n


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _csv_text(values: Column, n: int) -> list[str | None]:
    """A column as COPY CSV text. Numeric arrays are formatted by numpy (shortest round-trip
    repr, NaN as NULL) and constants once: formatting per row in Python dominated bulk loads."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            return np.where(np.isnan(values), "", values.astype(str)).tolist()
        if values.dtype.kind in "iub":
            return values.astype(str).tolist()
        return [_text(v) for v in values.tolist()]
    if isinstance(values, (list, tuple)):
        kinds = {type(v) for v in values}
        if kinds <= {float, int, str, type(None)}:  # the common case, without a call per value
            return [None if v is None or v != v else str(v) for v in values]
        cache: dict[Any, str | None] = {}
        out = []
        for v in values:
            if isinstance(v, (uuid.UUID, dt.date)):
                if v not in cache:
                    cache[v] = _text(v)
                out.append(cache[v])
            else:
                out.append(_text(v))
        return out
    return [_text(values)] * n


def _adapt_sqlite(column_type: Any, values: list[Any]) -> list[Any]:
    if isinstance(column_type, Uuid):
        return [v.hex if isinstance(v, uuid.UUID) else v for v in values]
    if isinstance(column_type, UTCDateTime):
        return [v.astimezone(dt.UTC).strftime(_SQLITE_DATETIME) if v is not None else None for v in values]
    if isinstance(column_type, Date):
        return [v.isoformat() if v is not None else None for v in values]
    if isinstance(column_type, Boolean):
        return [None if v is None else int(bool(v)) for v in values]
    return values


def stage_name(table_name: str) -> str:
    return f"_stage_{table_name}"


def fill_stage(session: Session, table_name: str, columns: Mapping[str, Column]) -> None:
    """Replace the session's temporary staging table of `table_name` (same columns, emptied at
    commit) with these rows, for set-based statements against the table."""
    table = TABLES[table_name]
    stage = stage_name(table_name)
    names = list(columns)
    n = len(next(iter(columns.values())))
    if session.get_bind().dialect.name == "postgresql":
        with driver_connection(session).cursor() as cursor:
            _create_pg_stage(cursor, table.name)
            _copy_csv(cursor, stage, ", ".join(names), [columns[c] for c in names], n)
        return
    raw = driver_connection(session)
    raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT * FROM {table.name} WHERE 0")
    raw.execute(f"DELETE FROM {stage}")
    data = [_adapt_sqlite(table.c[c].type, _as_list(columns[c], n)) for c in names]
    placeholders = ", ".join("?" for _ in names)
    raw.executemany(f"INSERT INTO {stage} ({', '.join(names)}) VALUES ({placeholders})", zip(*data, strict=True))


def _create_pg_stage(cursor: Cursor[tuple[Any, ...]], table_name: str) -> None:
    stage = stage_name(table_name)
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table_name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {stage}")


def bulk_insert_ignore(
    session: Session, table_name: str, columns: Mapping[str, Column], *, known_new: bool = False
) -> int:
    """Insert rows given as {column: values or one constant}; rows hitting a unique key are skipped.

    `known_new` promises that no row of the batch exists yet (PostgreSQL then copies straight
    into the table). Returns the number of rows inserted.
    """
    table = TABLES[table_name]
    lengths = {len(v) for v in columns.values() if isinstance(v, (list, tuple, np.ndarray))}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: {sorted(lengths)}")
    n = lengths.pop() if lengths else 1
    if n == 0:
        return 0
    names = list(columns)
    if session.get_bind().dialect.name == "postgresql":
        return _copy_insert_pg(session, table, names, [columns[c] for c in names], n, known_new)
    data = [_as_list(columns[c], n) for c in names]
    data = [_adapt_sqlite(table.c[c].type, values) for c, values in zip(names, data, strict=True)]
    raw = driver_connection(session)
    placeholders = ", ".join("?" for _ in names)
    before = raw.total_changes
    raw.executemany(
        f"INSERT OR IGNORE INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})",
        zip(*data, strict=True),
    )
    return raw.total_changes - before


def _slice(values: Column, start: int, stop: int) -> Column:
    return values[start:stop] if isinstance(values, (list, tuple, np.ndarray)) else values


def _copy_csv(cursor: Cursor[tuple[Any, ...]], target: str, column_list: str, columns: list[Column], n: int) -> None:
    # In PostgreSQL's CSV format an unquoted empty field is NULL, which is what csv writes for None.
    # Batches are formatted inside the COPY and the queued writer sends from a thread, so the
    # server parses one batch while the next is formatted.
    statement = f"COPY {target} ({column_list}) FROM STDIN WITH (FORMAT csv)"
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for start in range(0, n, _COPY_BATCH_ROWS):
            stop = min(n, start + _COPY_BATCH_ROWS)
            text = [_csv_text(_slice(values, start, stop), stop - start) for values in columns]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(zip(*text, strict=True))
            copy.write(buffer.getvalue())


def _copy_insert_pg(
    session: Session, table: Table, names: list[str], columns: list[Column], n: int, known_new: bool
) -> int:
    raw = driver_connection(session)
    column_list = ", ".join(names)
    with raw.cursor() as cursor:
        if known_new:
            _copy_csv(cursor, table.name, column_list, columns, n)
            return n
        stage = stage_name(table.name)
        _create_pg_stage(cursor, table.name)
        _copy_csv(cursor, stage, column_list, columns, n)
        cursor.execute(
            f"INSERT INTO {table.name} ({column_list}) SELECT {column_list} FROM {stage} ON CONFLICT DO NOTHING"
        )
        return cursor.rowcount
