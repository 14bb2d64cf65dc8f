"""The column-scoped upsert of daily_snapshots: only its column, idempotent, nothing else."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from app.repositories.orm import DailySnapshot
from app.repositories.snapshots import DEALER_COLUMN, VOLATILITY_COLUMN, SnapshotRepository
from app.time import snapshot_time
from tests.factories import (
    DailySnapshotFactory,
    TickerFactory,
)

DAY = dt.date(2024, 1, 2)


def test_upsert_writes_only_its_column_and_is_idempotent(db_tx):
    ticker = TickerFactory()
    existing = DailySnapshotFactory(
        ticker=ticker,
        technical_indicators_json={"rsi": 55.5},
        volatility_metrics_json={"metrics": {"average_iv": 0.3}},
    )
    with db_tx.session() as s:
        created_before = s.get(DailySnapshot, (existing.time, ticker.id)).created_at
    for _ in range(2):
        with db_tx.session_factory.begin() as s:
            SnapshotRepository(s).upsert_document(DEALER_COLUMN, existing.time, ticker.id, {"status": "FULL", "x": 1.5})
    with db_tx.session() as s:
        row = s.get(DailySnapshot, (existing.time, ticker.id))
        assert row.dealer_metrics_json == {"status": "FULL", "x": 1.5}
        assert row.volatility_metrics_json == {"metrics": {"average_iv": 0.3}}
        assert row.technical_indicators_json == {"rsi": 55.5}
        assert row.model_version == "wyckoff/1.0"
        assert row.wyckoff_phase == "accumulation"
        assert row.created_at == created_before
        assert s.scalar(select(func.count()).select_from(DailySnapshot)) == 1


def test_upsert_inserts_a_row_with_only_the_job_column(db_tx):
    ticker = TickerFactory()
    moment = snapshot_time(DAY)
    with db_tx.session_factory.begin() as s:
        SnapshotRepository(s).upsert_document(VOLATILITY_COLUMN, moment, ticker.id, {"status": "LIMITED"})
    with db_tx.session() as s:
        row = s.get(DailySnapshot, (moment, ticker.id))
        assert row.volatility_metrics_json == {"status": "LIMITED"}
        assert row.dealer_metrics_json is None
        assert row.model_version is None
        assert row.created_at is not None


def test_upsert_refuses_other_columns(db_tx):
    with db_tx.session() as s, pytest.raises(ValueError, match="not a column this project writes"):
        SnapshotRepository(s).upsert_document("events_json", snapshot_time(DAY), uuid.uuid4(), {})
