"""Loading option-chain rows without ever dropping a duplicate key silently (SPEC §8.1)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.repositories.bulk import bulk_insert_ignore
from app.repositories.orm import OptionContract

KEY_COLUMNS = ("time", "ticker_id", "expiration_date", "strike_price", "option_type")
VALUE_COLUMNS = (
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "implied_volatility",
    "delta",
    "gamma",
    "theta",
    "vega",
)

OptionKey = tuple[dt.datetime, uuid.UUID, dt.date, float, str]


def option_key(row: dict[str, Any]) -> OptionKey:
    return (row["time"], row["ticker_id"], row["expiration_date"], float(row["strike_price"]), row["option_type"])


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    return bool(a == b)


def differences(row: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """The value columns in which two rows with one key disagree."""
    return [c for c in VALUE_COLUMNS if not _same(row.get(c), stored.get(c))]


@dataclass
class InsertOutcome:
    inserted: int = 0
    already_present: list[int] = field(default_factory=list)  # positions of rows stored with the same values
    conflicting: list[tuple[int, list[str]]] = field(default_factory=list)  # positions and differing columns


def insert_option_rows(session: Session, rows: Sequence[dict[str, Any]]) -> InsertOutcome:
    """Insert rows whose key is new; report rows whose key is stored (or came earlier in `rows`)
    with the same values (already_present) or with different ones (conflicting, left as stored)."""
    outcome = InsertOutcome()
    if not rows:
        return outcome
    oc = OptionContract
    snapshots = sorted({(r["time"], r["ticker_id"]) for r in rows}, key=str)
    stored: dict[OptionKey, dict[str, Any]] = {}
    stmt = select(*(getattr(oc, c) for c in KEY_COLUMNS + VALUE_COLUMNS)).where(
        tuple_(oc.time, oc.ticker_id).in_(snapshots)
    )
    for values in session.execute(stmt):
        record = dict(zip(KEY_COLUMNS + VALUE_COLUMNS, values, strict=True))
        stored[option_key(record)] = record
    new: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        key = option_key(row)
        existing = stored.get(key)
        if existing is None:
            new.append(row)
            stored[key] = row  # a second row with this key in the batch is compared with this one
            continue
        diff = differences(row, existing)
        if diff:
            outcome.conflicting.append((position, diff))
        else:
            outcome.already_present.append(position)
    if new:
        columns = {name: [r.get(name) for r in new] for name in KEY_COLUMNS + VALUE_COLUMNS}
        outcome.inserted = bulk_insert_ignore(session, "options_chains", columns)
    return outcome
