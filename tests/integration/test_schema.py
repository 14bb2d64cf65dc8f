"""One schema truth: the ORM, the migration and an adopted KapMan database agree (SPEC §2)."""

from __future__ import annotations

import json

import pytest
import structlog
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from app import migrations
from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.db import make_engine, make_session_factory
from app.repositories.orm import Base
from app.services.daily import run_daily
from cli.main import app
from tests.factories import TestSession
from tests.integration.market import DAY, build_market

runner = CliRunner()

# Tables as KapMan's own baseline SQL creates them (types, keys and checks of the other stages
# included), without its TimescaleDB calls (create_hypertable, retention and compression
# policies), which need an extension this machine does not have.
KAPMAN_BASELINE = {
    "postgresql": """
CREATE TABLE tickers (
    id UUID PRIMARY KEY, symbol VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(255), sector VARCHAR(100),
    is_active BOOLEAN NOT NULL DEFAULT TRUE, created_at TIMESTAMPTZ);
CREATE TABLE ohlcv (
    ticker_id UUID NOT NULL REFERENCES tickers(id) ON DELETE CASCADE, date DATE NOT NULL,
    open NUMERIC, high NUMERIC, low NUMERIC, close NUMERIC, volume BIGINT, created_at TIMESTAMPTZ,
    PRIMARY KEY (ticker_id, date));
CREATE TABLE daily_snapshots (
    time TIMESTAMPTZ NOT NULL, ticker_id UUID NOT NULL REFERENCES tickers(id) ON DELETE CASCADE,
    wyckoff_phase VARCHAR(1) CHECK (wyckoff_phase IN ('A', 'B', 'C', 'D', 'E')), phase_score NUMERIC(6, 3),
    phase_confidence NUMERIC(4, 3), wyckoff_regime VARCHAR(20), wyckoff_regime_confidence NUMERIC(4, 3),
    wyckoff_regime_set_by_event VARCHAR(20), events_detected TEXT[], primary_event VARCHAR(20),
    events_json JSONB, bc_score INTEGER, spring_score INTEGER, composite_score NUMERIC(6, 2),
    technical_indicators_json JSONB, dealer_metrics_json JSONB, volatility_metrics_json JSONB,
    price_metrics_json JSONB, model_version VARCHAR(50), created_at TIMESTAMPTZ, PRIMARY KEY (time, ticker_id));
CREATE TABLE watchlists (
    watchlist_id VARCHAR(255) NOT NULL, symbol VARCHAR(20) NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE,
    source TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    effective_date DATE NOT NULL, UNIQUE (watchlist_id, symbol));
CREATE TABLE options_chains (
    time TIMESTAMPTZ NOT NULL, ticker_id UUID NOT NULL REFERENCES tickers(id) ON DELETE CASCADE,
    expiration_date DATE NOT NULL, strike_price NUMERIC(12, 4) NOT NULL, option_type CHAR(1) NOT NULL,
    bid NUMERIC, ask NUMERIC, last NUMERIC, volume INTEGER, open_interest INTEGER, implied_volatility NUMERIC,
    delta NUMERIC, gamma NUMERIC, theta NUMERIC, vega NUMERIC, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ux_options_chains_snapshot_identity UNIQUE (time, ticker_id, expiration_date, strike_price, option_type),
    CONSTRAINT chk_options_chains_option_type CHECK (option_type IN ('C', 'P')));
CREATE INDEX idx_options_chains_ticker_time_desc ON options_chains (ticker_id, time DESC);
""",
    "sqlite": """
CREATE TABLE tickers (id CHAR(32) PRIMARY KEY, symbol VARCHAR(20) NOT NULL UNIQUE, name TEXT, sector TEXT,
    is_active BOOLEAN DEFAULT 1, created_at DATETIME);
CREATE TABLE ohlcv (ticker_id CHAR(32) NOT NULL REFERENCES tickers(id), date DATE NOT NULL, open REAL, high REAL,
    low REAL, close REAL, volume BIGINT, created_at DATETIME, PRIMARY KEY (ticker_id, date));
CREATE TABLE daily_snapshots (time DATETIME NOT NULL, ticker_id CHAR(32) NOT NULL REFERENCES tickers(id),
    wyckoff_phase VARCHAR(1), phase_score REAL, phase_confidence REAL, wyckoff_regime VARCHAR(20),
    wyckoff_regime_confidence REAL, wyckoff_regime_set_by_event VARCHAR(20), events_detected JSON,
    primary_event VARCHAR(20), events_json JSON, bc_score INTEGER, spring_score INTEGER, composite_score REAL,
    technical_indicators_json JSON, dealer_metrics_json JSON, volatility_metrics_json JSON,
    price_metrics_json JSON, model_version VARCHAR(50), created_at DATETIME, PRIMARY KEY (time, ticker_id));
CREATE TABLE watchlists (watchlist_id VARCHAR(255) NOT NULL, symbol VARCHAR(20) NOT NULL, active BOOLEAN DEFAULT 1,
    source TEXT, created_at DATETIME, updated_at DATETIME, effective_date DATE, UNIQUE (watchlist_id, symbol));
CREATE TABLE options_chains (time DATETIME NOT NULL, ticker_id CHAR(32) NOT NULL REFERENCES tickers(id),
    expiration_date DATE NOT NULL, strike_price REAL NOT NULL, option_type CHAR(1) NOT NULL, bid REAL, ask REAL,
    last REAL, volume INTEGER, open_interest INTEGER, implied_volatility REAL, delta REAL, gamma REAL, theta REAL,
    vega REAL, created_at DATETIME, UNIQUE (time, ticker_id, expiration_date, strike_price, option_type));
""",
}


def _diffs(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_the_orm_and_the_migration_describe_the_same_schema(db):
    """The CI check: Alembic's comparison of the ORM metadata with the migrated database finds nothing."""
    assert _diffs(db.engine) == []


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_create_all_gives_the_migrated_schema_and_jobs_can_write_to_it(fresh_url):
    engine = make_engine(fresh_url)
    Base.metadata.create_all(engine)
    assert _diffs(engine) == []
    TestSession.configure(bind=engine)
    try:
        build_market()
        summary = run_daily(make_session_factory(engine), BatchOptions(dates=DateSelection(day=DAY)))
    finally:
        TestSession.remove()
        engine.dispose()
    assert summary.exit_code == 0
    assert summary.dealer.processed == 4


def _kapman_tables(url: str, backend: str, *, drop: str | None = None) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in KAPMAN_BASELINE[backend].split(";"):
            if statement.strip():
                conn.execute(text(statement))
        if drop:
            conn.execute(text(drop))
    engine.dispose()


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_db_upgrade_adopts_matching_kapman_tables(fresh_url):
    backend = "sqlite" if fresh_url.startswith("sqlite") else "postgresql"
    _kapman_tables(fresh_url, backend)
    result = runner.invoke(app, ["db", "upgrade", "--db-url", fresh_url, "--log-format", "json"])
    assert result.exit_code == 0, result.stderr
    structlog.reset_defaults()  # the runner's stream is closed now
    events = {e["event"]: e for e in map(json.loads, result.stderr.splitlines())}
    assert events["db_adopted"]["stamped"] == migrations.BASELINE_REVISION
    assert events["db_upgraded"]["to_revision"] == migrations.BASELINE_REVISION
    engine = make_engine(fresh_url)
    TestSession.configure(bind=engine)
    try:
        build_market()
        summary = run_daily(make_session_factory(engine), BatchOptions(dates=DateSelection(day=DAY)))
        again = runner.invoke(app, ["db", "upgrade", "--db-url", fresh_url, "--log-format", "json"])
    finally:
        TestSession.remove()
        engine.dispose()
    assert summary.exit_code == 0
    assert summary.dealer.success == 1
    assert summary.volatility.processed == 4
    assert again.exit_code == 0
    assert "db_adopted" not in again.stderr


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_db_upgrade_refuses_differing_tables_and_lists_every_difference(fresh_url):
    backend = "sqlite" if fresh_url.startswith("sqlite") else "postgresql"
    _kapman_tables(fresh_url, backend, drop="ALTER TABLE daily_snapshots DROP COLUMN volatility_metrics_json")
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE watchlists"))
    result = runner.invoke(app, ["db", "upgrade", "--db-url", fresh_url, "--log-format", "json"])
    assert result.exit_code == 1
    failed = next(e for e in map(json.loads, result.stderr.splitlines()) if e["event"] == "db_upgrade_failed")
    assert failed["differences"] == [
        "table watchlists is missing",
        "column daily_snapshots.volatility_metrics_json is missing",
    ]
    assert "alembic_version" not in inspect(engine).get_table_names()  # nothing was changed
    engine.dispose()
