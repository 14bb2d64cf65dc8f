"""How a live database's tables compare with the KapMan tables this project maps (SPEC §2).

Used to adopt a database whose tables were created outside Alembic (KapMan's own
baseline SQL): every mapped table and column must exist, the columns this
project reads or writes must have a compatible type, and the keys its upserts
rely on must be unique. Other stages' columns may differ in type or constraints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Inspector,
    Integer,
    Numeric,
    String,
    Uuid,
    inspect,
)
from sqlalchemy.types import TypeEngine

from app.repositories.orm import Base

# Columns this project reads or writes, with the type family each must have.
_USED_COLUMNS: dict[str, dict[str, str]] = {
    "tickers": {"id": "uuid", "symbol": "text"},
    "watchlists": {"watchlist_id": "text", "symbol": "text", "active": "boolean"},
    "ohlcv": {"ticker_id": "uuid", "date": "date", "close": "number"},
    "options_chains": {
        "time": "timestamptz",
        "ticker_id": "uuid",
        "expiration_date": "date",
        "strike_price": "number",
        "option_type": "text",
        "bid": "number",
        "ask": "number",
        "volume": "number",
        "open_interest": "number",
        "implied_volatility": "number",
        "delta": "number",
        "gamma": "number",
    },
    "daily_snapshots": {
        "time": "timestamptz",
        "ticker_id": "uuid",
        "dealer_metrics_json": "json",
        "volatility_metrics_json": "json",
    },
}
# Unique keys the imports and the upsert rely on (ON CONFLICT needs them).
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "tickers": ("id",),
    "watchlists": ("watchlist_id", "symbol"),
    "ohlcv": ("ticker_id", "date"),
    "options_chains": ("time", "ticker_id", "expiration_date", "strike_price", "option_type"),
    "daily_snapshots": ("time", "ticker_id"),
}


def _family(column_type: TypeEngine, dialect: str) -> str:
    if isinstance(column_type, Uuid) or type(column_type).__name__ == "UUID":
        return "uuid"
    if isinstance(column_type, DateTime):
        # SQLite keeps timestamps as text; only PostgreSQL can say whether a zone is stored.
        return "timestamptz" if column_type.timezone or dialect == "sqlite" else "timestamp"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, JSON) or type(column_type).__name__ in ("JSONB", "JSON"):
        return "json"
    if isinstance(column_type, (Integer, Numeric, Float)):
        return "number"
    if isinstance(column_type, String):
        # SQLite declares UUIDs as CHAR(32) and JSON as TEXT affinity only through their names.
        return "text"
    return type(column_type).__name__.lower()


def _compatible(expected: str, actual: TypeEngine, dialect: str) -> bool:
    family = _family(actual, dialect)
    if family == expected:
        return True
    # SQLite reflects SQLAlchemy's Uuid as CHAR(32) and JSON as JSON or TEXT.
    return dialect == "sqlite" and family == "text" and expected in ("uuid", "json")


def _unique_keys(inspector: Inspector, table: str) -> set[tuple[str, ...]]:
    keys = set()
    primary = inspector.get_pk_constraint(table).get("constrained_columns") or []
    if primary:
        keys.add(tuple(sorted(primary)))
    for constraint in inspector.get_unique_constraints(table):
        keys.add(tuple(sorted(constraint["column_names"])))
    for index in inspector.get_indexes(table):
        if index.get("unique") and None not in index["column_names"]:
            keys.add(tuple(sorted(cast("list[str]", index["column_names"]))))  # no None: checked above
    return keys


def mapped_tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables]


def existing_mapped_tables(connection: Connection) -> list[str]:
    names = set(inspect(connection).get_table_names())
    return [t for t in mapped_tables() if t in names]


def schema_differences(connection: Connection, tables: Iterable[str] | None = None) -> list[str]:
    """What keeps the live tables from being the ones this project maps (empty: they match)."""
    inspector = inspect(connection)
    dialect = connection.dialect.name
    present = set(inspector.get_table_names())
    differences = []
    for table in Base.metadata.sorted_tables:
        if tables is not None and table.name not in tables:
            continue
        if table.name not in present:
            differences.append(f"table {table.name} is missing")
            continue
        live = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in live:
                differences.append(f"column {table.name}.{column.name} is missing")
                continue
            expected = _USED_COLUMNS[table.name].get(column.name)
            if expected and not _compatible(expected, live[column.name], dialect):
                differences.append(
                    f"column {table.name}.{column.name} is {live[column.name]}, expected a {expected} column"
                )
        key = tuple(sorted(_REQUIRED_KEYS[table.name]))
        if key not in _unique_keys(inspector, table.name):
            differences.append(f"table {table.name} has no unique key on ({', '.join(_REQUIRED_KEYS[table.name])})")
    return differences
