"""The previous dealer document of each ticker (SPEC §13.3), read the way the IV history is read.

Only the few figures the changes compare are extracted in SQL (never the whole
document), from the most recent row strictly before a cut-off whose dealer
document exists and is not ERROR; a key an older version did not write reads as null.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Float, String, cast, func
from sqlalchemy.orm import Session

from app.domain.previous import DealerSnapshot
from app.repositories.carried_rows import carried_rows
from app.repositories.orm import DailySnapshot

ERROR_STATUS = "ERROR"
# DealerSnapshot field → path in the stored dealer document
_FLOATS = {
    "spot": ("spot_price",),
    "gex_net": ("gex_net",),
    "gamma_at_spot": ("levels", "gamma_at_spot"),
    "zero_gamma": ("levels", "zero_gamma"),
    "call_gex_wall": ("levels", "call_gex_wall"),
    "put_gex_wall": ("levels", "put_gex_wall"),
}
_TEXTS = {"snapshot_date": ("metadata", "snapshot_date"), "position": ("position",)}
SNAPSHOT_FIELDS = (*_TEXTS, *_FLOATS)


def dealer_snapshot_columns() -> list[Any]:
    """The figures of a row's dealer document, labelled by DealerSnapshot field (SNAPSHOT_FIELDS order)."""
    document = DailySnapshot.dealer_metrics_json
    texts = [cast(document[path].as_string(), String).label(name) for name, path in _TEXTS.items()]
    floats = [cast(document[path].as_float(), Float).label(name) for name, path in _FLOATS.items()]
    return texts + floats


def usable_dealer_document() -> ColumnElement[bool]:
    """A row whose dealer document exists and is not an ERROR document."""
    status = DailySnapshot.dealer_metrics_json["processing_status"].as_string()
    return DailySnapshot.dealer_metrics_json.is_not(None) & (func.coalesce(status, "") != ERROR_STATUS)


def snapshot_of(values: Collection[Any]) -> DealerSnapshot:
    return DealerSnapshot(**dict(zip(SNAPSHOT_FIELDS, values, strict=True)))


def load_previous_dealer(
    session: Session,
    ticker_ids: list[uuid.UUID],
    snapshot_time: dt.datetime,
    *,
    through: dt.datetime | None = None,
    excluding: Collection[dt.datetime] = (),
) -> dict[uuid.UUID, list[tuple[dt.datetime, DealerSnapshot]]]:
    """Per ticker (ascending): its most recent usable dealer document strictly before `snapshot_time`, then the
    usable ones from `snapshot_time` through `through` whose time is not in `excluding` (rows other stages
    wrote inside a range this run computes itself). One query."""
    if not ticker_ids:
        return {}
    rows = carried_rows(
        session,
        ticker_ids,
        snapshot_time,
        1,
        dealer_snapshot_columns(),
        usable=usable_dealer_document(),
        through=through,
        excluding=excluding,
    )
    found: dict[uuid.UUID, list[tuple[dt.datetime, DealerSnapshot]]] = {tid: [] for tid in ticker_ids}
    for tid, time, *values in rows:
        found[tid].append((time, snapshot_of(values)))
    return found
