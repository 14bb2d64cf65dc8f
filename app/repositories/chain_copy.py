"""The PostgreSQL chain read: every contract of a chunk of options snapshots in one binary COPY.

One row for the whole chunk, each field aggregated over its contracts: psycopg hands COPY data
over one message per row, so Python never loops per contract. Each field goes over as one
bytea of fixed-width binary values: the NUMERIC columns as 16-byte records of numeric_send
(decoded in app.repositories.pg_binary), sparing the server its per-value NUMERIC -> text ->
float8 conversion, the integers through int4send/int2send. A column of an unexpected type is
cast to float8 on the server, as before.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import weakref
from collections.abc import Collection

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.repositories.pg_binary import (
    RECORD_BYTES,
    CopyFormatError,
    LongNumeric,
    copy_row_fields,
    float8_array,
    numeric_records,
)
from app.repositories.types import driver_connection

# Every value arrives as float8 (NaN for missing; volume and OI 0 for missing).
_PG_EXPRESSIONS = {
    "dte_days": "coalesce((oc.expiration_date - %(as_of)s::date)::float8, 'NaN')",
    "strike": "coalesce(oc.strike_price::float8, 'NaN')",
    "option_type": "(CASE oc.option_type WHEN 'C' THEN 1 WHEN 'P' THEN -1 ELSE 0 END)::float8",
    "open_interest": "coalesce(oc.open_interest::float8, 0)",
    "volume": "coalesce(oc.volume::float8, 0)",
    "bid": "coalesce(oc.bid::float8, 'NaN')",
    "ask": "coalesce(oc.ask::float8, 'NaN')",
    "implied_volatility": "coalesce(oc.implied_volatility::float8, 'NaN')",
    "delta": "coalesce(oc.delta::float8, 'NaN')",
    "gamma": "coalesce(oc.gamma::float8, 'NaN')",
}
# The fields stored as NUMERIC (SPEC §2). PostgreSQL casts NUMERIC to float8 through text, the
# largest server cost of the read, so these go over in binary and are decoded here (pg_binary).
PG_NUMERIC_COLUMNS = {
    "strike": "strike_price",
    "bid": "bid",
    "ask": "ask",
    "implied_volatility": "implied_volatility",
    "delta": "delta",
    "gamma": "gamma",
}
_NAN_RECORD = "'\\x00000000c0000000" + "00" * (RECORD_BYTES - 8) + "'::bytea"  # NULL reads as NaN
_PADDING = "'\\x" + "00" * RECORD_BYTES + "'::bytea"
_NO_DTE = -(2**31)  # a NULL expiration; read as NaN
# The other fields in binary too: a string_agg of fixed-width sends costs the server less than an
# array_agg of float8 (field: expression, wire type, the column and type it needs, if any).
_BINARY_OTHERS = {
    "dte_days": (
        f"int4send(coalesce(oc.expiration_date - %(as_of)s::date, {_NO_DTE}))",
        ">i4",
        "expiration_date",
        "date",
    ),
    "option_type": ("int2send((CASE oc.option_type WHEN 'C' THEN 1 WHEN 'P' THEN -1 ELSE 0 END)::int2)", ">i2", "", ""),
    "open_interest": ("int4send(coalesce(oc.open_interest, 0))", ">i4", "open_interest", "integer"),
    "volume": ("int4send(coalesce(oc.volume, 0))", ">i4", "volume", "integer"),
}
_REQUIRED_TYPES = {
    **{field: (column, "numeric") for field, column in PG_NUMERIC_COLUMNS.items()},
    **{field: (column, kind) for field, (_, _, column, kind) in _BINARY_OTHERS.items()},
}


def _pg_aggregate(field: str, binary: Collection[str]) -> str:
    if field not in binary:
        return f"array_agg({_PG_EXPRESSIONS[field]})"
    if field in PG_NUMERIC_COLUMNS:
        column = f"oc.{PG_NUMERIC_COLUMNS[field]}"
        send = f"substring(coalesce(numeric_send({column}), {_NAN_RECORD}) || {_PADDING} for {RECORD_BYTES})"
    else:
        send = _BINARY_OTHERS[field][0]
    return f"string_agg({send}, ''::bytea)"


def pg_chain_copy(fields: tuple[str, ...], binary: Collection[str] = ()) -> str:
    """One row for the whole chunk: each field's values in one bytea of fixed-width binary values
    (the `binary` fields) or a float8[] (the others, cast on the server).

    Each ticker's snapshot is a lateral lookup through the (ticker_id, time) key. OFFSET 0 keeps
    the planner from flattening it into a join: on an analyzed table with long history, a join of
    a few hundred (ticker, time) pairs is planned as a parallel sequential scan of the whole table.
    """
    columns = ",\n         ".join(_pg_aggregate(f, binary) for f in fields)
    return f"""
COPY (
  SELECT string_agg(int4send(s.idx::int4), ''::bytea),
         {columns}
  FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[]) WITH ORDINALITY AS s(tid, t, idx)
  CROSS JOIN LATERAL (
    SELECT * FROM options_chains c WHERE c.ticker_id = s.tid AND c.time = s.t OFFSET 0
  ) oc
) TO STDOUT (FORMAT BINARY)
"""


# Per engine: the fields sent as binary NUMERIC. Only NUMERIC columns qualify (a float8 column
# sent through float8 -> numeric would lose digits); a field whose values overflow a record
# falls back to the cast for the rest of the engine's life.
_BINARY_FIELDS: weakref.WeakKeyDictionary[Engine, frozenset[str]] = weakref.WeakKeyDictionary()
_BINARY_LOCK = threading.Lock()


class _LongField(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def fetch_chain_columns(
    session: Session, ids: list[uuid.UUID], times: list[dt.datetime], as_of: dt.date, fields: tuple[str, ...]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The chunk's contract rows as (ticker position, one float64 array per field): one binary COPY, or two when
    a NUMERIC value does not fit a record (then that field is read with the cast from then on)."""
    binary = _binary_fields(session) & set(fields)
    while True:
        try:
            columns = _copy_chain_columns(session, ids, times, as_of, fields, binary)
            break
        except _LongField as long:  # that field is read with the cast from now on
            binary = _binary_fields(session, drop={long.field}) & set(fields)
    if columns is None:
        return np.empty(0, dtype=np.int64), [np.empty(0) for _ in fields]
    return columns[0].astype(np.int64) - 1, columns[1:]


def _copy_chain_columns(
    session: Session,
    ids: list[uuid.UUID],
    times: list[dt.datetime],
    as_of: dt.date,
    fields: tuple[str, ...],
    binary: Collection[str],
) -> list[np.ndarray] | None:
    """The chunk's index column and one float64 column per field (None when it has no contract)."""
    raw = driver_connection(session)
    buffer = bytearray()
    with (
        raw.cursor() as cursor,
        cursor.copy(pg_chain_copy(fields, binary), {"ids": ids, "times": times, "as_of": as_of}) as copy,
    ):
        for block in copy:
            buffer += block
    row = copy_row_fields(buffer)
    if len(row) != 1 + len(fields):
        raise CopyFormatError(f"unexpected COPY layout: {len(row)} fields")
    if row[0] is None:  # no contract: every aggregate is NULL
        return None
    index = np.frombuffer(row[0], dtype=">i4").astype(np.float64)
    decoded = [index]
    for field, value in zip(fields, row[1:], strict=True):
        if value is None:
            raise CopyFormatError(f"no values for {field}")
        decoded.append(_decoded(field, value, binary))
        if len(decoded[-1]) != len(index):
            raise CopyFormatError(f"{field}: {len(decoded[-1])} values for {len(index)} contracts")
    return decoded


def _decoded(field: str, value: memoryview, binary: Collection[str]) -> np.ndarray:
    if field not in binary:
        return float8_array(value)
    if field in PG_NUMERIC_COLUMNS:
        try:
            return numeric_records(value)
        except LongNumeric:
            raise _LongField(field) from None
    integers = np.frombuffer(value, dtype=_BINARY_OTHERS[field][1])
    values = integers.astype(np.float64)
    if field == "dte_days":
        values[integers == _NO_DTE] = np.nan
    return values


def _binary_fields(session: Session, drop: Collection[str] = ()) -> frozenset[str]:
    """The fields read in binary on this engine: those whose column has the type their binary form
    needs (the column types are looked up once)."""
    engine = session.get_bind().engine
    with _BINARY_LOCK:
        known = _BINARY_FIELDS.get(engine)
        if known is None:
            rows = session.execute(
                text(
                    "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                    " WHERE attrelid = 'options_chains'::regclass AND attnum > 0 AND NOT attisdropped"
                )
            )
            types = {str(name): str(kind) for name, kind in rows}
            known = frozenset(
                f for f, (column, kind) in _REQUIRED_TYPES.items() if not column or types.get(column) == kind
            )
        known = known - set(drop)
        _BINARY_FIELDS[engine] = known
    return known
