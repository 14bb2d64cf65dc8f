"""Baseline: the KapMan tables this project reads and writes (SPEC §2).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa

from alembic import op
from app.repositories.types import UTCDateTime, json_column_type, numeric_type, text_array_type

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "tickers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("sector", sa.Text()),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true()),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_tickers"),
        sa.UniqueConstraint("symbol", name="uq_tickers_symbol"),
    )
    op.create_table(
        "watchlists",
        sa.Column("watchlist_id", sa.String(255), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true()),
        sa.Column("source", sa.Text()),
        _created_at(),
        sa.Column("updated_at", UTCDateTime(), server_default=sa.func.now()),
        sa.Column("effective_date", sa.Date()),
        sa.UniqueConstraint("watchlist_id", "symbol", name="uq_watchlists_watchlist_id_symbol"),
    )
    op.create_table(
        "ohlcv",
        sa.Column(
            "ticker_id",
            sa.Uuid(),
            sa.ForeignKey("tickers.id", name="fk_ohlcv_ticker_id_tickers"),
            nullable=False,
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("open", numeric_type()),
        sa.Column("high", numeric_type()),
        sa.Column("low", numeric_type()),
        sa.Column("close", numeric_type()),
        sa.Column("volume", sa.BigInteger()),
        _created_at(),
        sa.PrimaryKeyConstraint("ticker_id", "date", name="pk_ohlcv"),
    )
    op.create_table(
        "options_chains",
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column(
            "ticker_id",
            sa.Uuid(),
            sa.ForeignKey("tickers.id", name="fk_options_chains_ticker_id_tickers"),
            nullable=False,
        ),
        sa.Column("expiration_date", sa.Date(), nullable=False),
        sa.Column("strike_price", numeric_type(12, 4), nullable=False),
        sa.Column("option_type", sa.String(1), nullable=False),
        sa.Column("bid", numeric_type()),
        sa.Column("ask", numeric_type()),
        sa.Column("last", numeric_type()),
        sa.Column("volume", sa.Integer()),
        sa.Column("open_interest", sa.Integer()),
        sa.Column("implied_volatility", numeric_type()),
        sa.Column("delta", numeric_type()),
        sa.Column("gamma", numeric_type()),
        sa.Column("theta", numeric_type()),
        sa.Column("vega", numeric_type()),
        _created_at(),
        sa.UniqueConstraint(
            "time",
            "ticker_id",
            "expiration_date",
            "strike_price",
            "option_type",
            name="uq_options_chains_contract",
        ),
        sa.CheckConstraint("option_type IN ('C', 'P')", name="ck_options_chains_option_type"),
    )
    op.create_index("ix_options_chains_ticker_time", "options_chains", ["ticker_id", sa.text("time DESC")])
    op.create_table(
        "daily_snapshots",
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column(
            "ticker_id",
            sa.Uuid(),
            sa.ForeignKey("tickers.id", name="fk_daily_snapshots_ticker_id_tickers"),
            nullable=False,
        ),
        sa.Column("wyckoff_phase", sa.String(50)),
        sa.Column("phase_score", numeric_type()),
        sa.Column("phase_confidence", numeric_type()),
        sa.Column("wyckoff_regime", sa.String(50)),
        sa.Column("wyckoff_regime_confidence", numeric_type()),
        sa.Column("wyckoff_regime_set_by_event", sa.String(50)),
        sa.Column("events_detected", text_array_type()),
        sa.Column("primary_event", sa.String(50)),
        sa.Column("events_json", json_column_type()),
        sa.Column("bc_score", numeric_type()),
        sa.Column("spring_score", numeric_type()),
        sa.Column("composite_score", numeric_type()),
        sa.Column("technical_indicators_json", json_column_type()),
        sa.Column("dealer_metrics_json", json_column_type()),
        sa.Column("volatility_metrics_json", json_column_type()),
        sa.Column("price_metrics_json", json_column_type()),
        sa.Column("model_version", sa.String(50)),
        _created_at(),
        sa.PrimaryKeyConstraint("time", "ticker_id", name="pk_daily_snapshots"),
    )
    op.create_index("ix_daily_snapshots_ticker_time", "daily_snapshots", ["ticker_id", sa.text("time DESC")])
    _make_hypertables_if_timescale()


def _make_hypertables_if_timescale() -> None:
    """Hypertables only where TimescaleDB can be loaded; plain tables everywhere else."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar()
    if not available:
        return
    savepoint = bind.begin_nested()
    try:
        # Fails when the library is not in shared_preload_libraries; that server keeps plain tables.
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        bind.execute(
            sa.text("SELECT create_hypertable('options_chains', 'time', if_not_exists => TRUE, migrate_data => TRUE)")
        )
        bind.execute(sa.text("SELECT create_hypertable('ohlcv', 'date', if_not_exists => TRUE, migrate_data => TRUE)"))
        savepoint.commit()
    except sa.exc.DBAPIError:
        savepoint.rollback()


def downgrade() -> None:
    op.drop_index("ix_daily_snapshots_ticker_time", table_name="daily_snapshots")
    op.drop_table("daily_snapshots")
    op.drop_index("ix_options_chains_ticker_time", table_name="options_chains")
    op.drop_table("options_chains")
    op.drop_table("ohlcv")
    op.drop_table("watchlists")
    op.drop_table("tickers")
