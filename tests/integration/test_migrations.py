"""Alembic migrations on SQLite and PostgreSQL: up twice, then down."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from app import migrations
from app.db import make_engine

KAPMAN_TABLES = {"tickers", "watchlists", "ohlcv", "options_chains", "daily_snapshots"}


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_up_twice_then_down(fresh_url):
    engine = make_engine(fresh_url)
    migrations.upgrade(engine)
    migrations.upgrade(engine)  # a no-op the second time
    assert migrations.current_revision(engine) == "0001_baseline"
    assert set(inspect(engine).get_table_names()) >= KAPMAN_TABLES
    columns = {c["name"] for c in inspect(engine).get_columns("daily_snapshots")}
    assert {"dealer_metrics_json", "volatility_metrics_json", "events_detected", "model_version"} <= columns
    migrations.downgrade(engine)
    assert not KAPMAN_TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
