"""Column types that mean the same on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Numeric, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """timestamptz on PostgreSQL; on SQLite a UTC text timestamp. Python always sees aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        value = value.astimezone(dt.UTC)
        # SQLite stores text; keeping it naive-UTC makes string comparison equal time comparison.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def driver_connection(session: Session) -> Any:
    """The DB-API connection under a session (psycopg's or sqlite3's), for COPY and executemany."""
    connection = session.connection().connection.driver_connection
    if connection is None:
        raise RuntimeError("the session has no open database connection")
    return connection


def json_column_type() -> Any:
    """jsonb on PostgreSQL, JSON text on SQLite; Python None is SQL NULL, not JSON null."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def text_array_type() -> Any:
    return JSON(none_as_null=True).with_variant(ARRAY(Text), "postgresql")


def numeric_type(precision: int | None = None, scale: int | None = None) -> Any:
    """NUMERIC on PostgreSQL (read as float), REAL on SQLite (NUMERIC affinity would turn 105.0 into 105)."""
    return Numeric(precision, scale, asdecimal=False).with_variant(Float(), "sqlite")
