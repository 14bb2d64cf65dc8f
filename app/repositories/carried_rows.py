"""Rows a run carries forward per ticker (SPEC §6.2 IV history, §13.3 previous dealer document): each
ticker's most recent rows before a snapshot time, plus the rows inside the range the run computes
itself that other stages wrote. One query per chunk, through the (ticker_id, time DESC) index."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, Uuid, func, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.repositories.orm import DailySnapshot


def carried_rows(
    session: Session,
    ticker_ids: list[uuid.UUID],
    snapshot_time: dt.datetime,
    limit: int,
    values: Sequence[Any],
    *,
    usable: ColumnElement[bool] | None = None,
    through: dt.datetime | None = None,
    excluding: Collection[dt.datetime] = (),
) -> Sequence[Any]:
    """(ticker_id, time, *values) ordered by ticker and time: per ticker the `limit` most recent `usable`
    rows strictly before `snapshot_time`, then the usable ones from `snapshot_time` through `through`
    whose time is not in `excluding`. `values` are labelled column expressions of daily_snapshots."""
    keep = usable if usable is not None else true()
    names = [value.name for value in values]
    latest = _latest(session, ticker_ids, snapshot_time, limit, values, keep)
    rows: Select[Any] | CompoundSelect[Any] = latest
    if through is not None:
        inside = select(DailySnapshot.ticker_id, DailySnapshot.time, *values).where(
            DailySnapshot.ticker_id.in_(ticker_ids),
            DailySnapshot.time >= snapshot_time,
            DailySnapshot.time <= through,
            DailySnapshot.time.not_in(sorted(excluding)) if excluding else true(),
            keep,
        )
        rows = latest.union_all(inside)
    picked = rows.subquery()
    stmt = select(picked.c.ticker_id, picked.c.time, *(picked.c[n] for n in names)).order_by(
        picked.c.ticker_id, picked.c.time
    )
    return session.execute(stmt).all()


def _latest(
    session: Session,
    ticker_ids: list[uuid.UUID],
    snapshot_time: dt.datetime,
    limit: int,
    values: Sequence[Any],
    keep: ColumnElement[bool],
) -> Select[Any]:
    """On PostgreSQL a lateral LIMIT per ticker (its cost does not grow with other tickers' history);
    SQLite ranks each ticker's rows with a window."""
    snap = DailySnapshot
    names = [value.name for value in values]
    if session.get_bind().dialect.name == "postgresql":
        tickers = func.unnest(postgresql.array(ticker_ids, type_=Uuid())).table_valued("tid").render_derived("s")
        latest = (
            select(snap.time, *values)
            .where(snap.ticker_id == tickers.c.tid, snap.time < snapshot_time, keep)
            .order_by(snap.time.desc())
            .limit(limit)
            .lateral("h")
        )
        return select(tickers.c.tid.label("ticker_id"), latest.c.time, *(latest.c[n] for n in names)).join(
            latest, true()
        )
    rank = func.row_number().over(partition_by=snap.ticker_id, order_by=snap.time.desc())
    ranked = (
        select(snap.ticker_id, snap.time, *values, rank.label("rn"))
        .where(snap.ticker_id.in_(ticker_ids), snap.time < snapshot_time, keep)
        .subquery()
    )
    return select(ranked.c.ticker_id, ranked.c.time, *(ranked.c[n] for n in names)).where(ranked.c.rn <= limit)
