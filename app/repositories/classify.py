"""Insert rows whose key is new and say, for every other row, whether it is already stored with the
same values or conflicts with what is stored (SPEC §8.1: a duplicate key is never dropped silently).

A batch goes to a staging table, one join against the target finds the stored rows of the batch's
keys and one INSERT … SELECT adds the new ones: the cost is the batch's, whatever the target already
holds (a snapshot's earlier batches are not read again). Rows sharing a key inside the batch are
compared with the first of them in Python. The caller holds the import lock (`import_lock`), so no
other import writes these keys between the join and the insert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, MetaData, Table, and_, select, text
from sqlalchemy.orm import Session

from app.repositories.bulk import TABLES, fill_stage, stage_name
from app.repositories.types import driver_connection

_STAGES: dict[str, Table] = {}


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    return bool(a == b)


def differences(row: dict[str, Any], stored: dict[str, Any], columns: Sequence[str]) -> list[str]:
    """The value columns in which two rows with one key disagree."""
    return [c for c in columns if not _same(row.get(c), stored.get(c))]


@dataclass
class InsertOutcome:
    inserted: int = 0
    already_present: list[int] = field(default_factory=list)  # positions of rows stored with the same values
    conflicting: list[tuple[int, list[str]]] = field(default_factory=list)  # positions and differing columns


def _stage(table_name: str) -> Table:
    """The staging table's shape for building statements (created by `fill_stage`)."""
    if table_name not in _STAGES:
        target = TABLES[table_name]
        _STAGES[table_name] = Table(
            stage_name(table_name), MetaData(), *(Column(c.name, c.type) for c in target.columns)
        )
    return _STAGES[table_name]


def _normal(value: Any) -> Any:
    """One spelling of a key value, whichever driver path read it (numeric arrives as Decimal)."""
    return float(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else value


def insert_classified(
    session: Session,
    table_name: str,
    keys: Sequence[str],
    values: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> InsertOutcome:
    """Insert the rows whose key is not stored; report the others as already present (same
    values) or conflicting (the differing columns; the stored row is left as it is)."""
    outcome = InsertOutcome()
    first: dict[tuple[Any, ...], int] = {}
    for position, row in enumerate(rows):
        key = tuple(_normal(row[k]) for k in keys)
        earlier = first.setdefault(key, position)
        if earlier != position:
            _judge(outcome, position, row, rows[earlier], values)
    if not first:
        return outcome
    unique = [rows[p] for p in first.values()]
    fill_stage(session, table_name, {c: [r.get(c) for r in unique] for c in (*keys, *values)})
    target, stage = TABLES[table_name], _stage(table_name)
    if session.get_bind().dialect.name == "postgresql":
        inserted = _insert_new_pg(session, target.name, stage.name, keys, values)
        stored = {}
        if len(inserted) < len(first):
            _analyze_once(session, target.name)
            stored = _stored(session, target, stage, keys, values, skip=inserted)
        outcome.inserted = len(inserted)
    else:
        stored = _stored(session, target, stage, keys, values, skip=set())
        outcome.inserted = _insert_new_sqlite(session, target.name, stage.name, keys, values)
    for key, record in stored.items():
        _judge(outcome, first[key], rows[first[key]], record, values)
    if outcome.inserted != len(first) - len(stored):
        raise RuntimeError(f"{table_name}: {outcome.inserted} rows inserted, {len(first) - len(stored)} expected")
    outcome.already_present.sort()
    outcome.conflicting.sort()
    return outcome


def _stored(
    session: Session, target: Table, stage: Table, keys: Sequence[str], values: Sequence[str], skip: set
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored values of the staged keys (but those in `skip`, inserted just now)."""
    same_key = and_(*(target.c[k] == stage.c[k] for k in keys))
    found = session.execute(select(*(stage.c[k] for k in keys), *(target.c[v] for v in values)).join(target, same_key))
    stored = {}
    for record in found:
        key = tuple(_normal(v) for v in record[: len(keys)])
        if key not in skip:
            stored[key] = dict(zip(values, record[len(keys) :], strict=True))
    return stored


def _insert_new_sqlite(session: Session, target: str, stage: str, keys: Sequence[str], values: Sequence[str]) -> int:
    # SQLite's planner probes the unique index (all its columns are bound by equality).
    columns = ", ".join((*keys, *values))
    matches = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    result = session.connection().execute(
        text(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {matches})"
        )
    )
    return int(result.rowcount)


def _insert_new_pg(
    session: Session, target: str, stage: str, keys: Sequence[str], values: Sequence[str]
) -> set[tuple[Any, ...]]:
    """Insert the staged rows whose key is not stored; the keys inserted.

    ON CONFLICT's arbiter is the unique index itself. A join against the target was planned from
    statistics that predate the rows this file adds (a new snapshot looks empty), and probed the
    (ticker_id, time) index, scanning the whole snapshot for every staged row: minutes per chunk.
    The stored values are looked up only for the rows not inserted, after an ANALYZE."""
    driver_connection(session).prepare_threshold = None  # no plan kept from when the table was small
    columns = ", ".join((*keys, *values))
    result = session.connection().execute(
        text(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} "
            f"ON CONFLICT DO NOTHING RETURNING {', '.join(keys)}"
        )
    )
    return {tuple(_normal(v) for v in record) for record in result}


def _analyze_once(session: Session, target: str) -> None:
    """Fresh statistics (this transaction's rows included) before the first join against the target."""
    analyzed = session.info.setdefault("analyzed_for_import", set())
    if target not in analyzed:
        session.execute(text(f"ANALYZE {target}"))
        analyzed.add(target)


def _judge(
    outcome: InsertOutcome, position: int, row: dict[str, Any], stored: dict[str, Any], values: Sequence[str]
) -> None:
    diff = differences(row, stored, values)
    if diff:
        outcome.conflicting.append((position, diff))
    else:
        outcome.already_present.append(position)
