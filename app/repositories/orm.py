"""ORM mapping of the KapMan tables this project reads and writes (SPEC §2)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.repositories.types import UTCDateTime, json_column_type, numeric_type, text_array_type

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Mapped[dt.datetime | None]:
    return mapped_column(UTCDateTime(), server_default=func.now(), nullable=True)


class Ticker(Base):
    __tablename__ = "tickers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    symbol: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default="true", default=True)
    created_at: Mapped[dt.datetime | None] = _created_at()


class Watchlist(Base):
    __tablename__ = "watchlists"
    __table_args__ = (UniqueConstraint("watchlist_id", "symbol", name="uq_watchlists_watchlist_id_symbol"),)
    # The KapMan table has no primary key, only unique (watchlist_id, symbol): that pair is the ORM
    # identity (mapper-level), so the table this metadata describes is the migrated one.
    __mapper_args__ = {"primary_key": ["watchlist_id", "symbol"]}  # noqa: RUF012 (SQLAlchemy's declarative hook)

    watchlist_id: Mapped[str] = mapped_column(String(255), nullable=False)
    symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool | None] = mapped_column(Boolean, server_default="true", default=True)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = _created_at()
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), server_default=func.now())
    effective_date: Mapped[dt.date | None] = mapped_column(Date)


class Ohlcv(Base):
    __tablename__ = "ohlcv"

    ticker_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("tickers.id"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[float | None] = mapped_column(numeric_type())
    high: Mapped[float | None] = mapped_column(numeric_type())
    low: Mapped[float | None] = mapped_column(numeric_type())
    close: Mapped[float | None] = mapped_column(numeric_type())
    volume: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime | None] = _created_at()


class OptionContract(Base):
    """One row of an option-chain snapshot."""

    __tablename__ = "options_chains"
    __table_args__ = (
        UniqueConstraint(
            "time",
            "ticker_id",
            "expiration_date",
            "strike_price",
            "option_type",
            name="uq_options_chains_contract",
        ),
        CheckConstraint("option_type IN ('C', 'P')", name="option_type"),
    )
    # KapMan's table has no primary key; the unique contract key serves as the ORM identity.
    __mapper_args__ = {  # noqa: RUF012 (SQLAlchemy's declarative hook)
        "primary_key": ["time", "ticker_id", "expiration_date", "strike_price", "option_type"]
    }

    time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    ticker_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("tickers.id"), nullable=False)
    expiration_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    strike_price: Mapped[float] = mapped_column(numeric_type(12, 4), nullable=False)
    option_type: Mapped[str] = mapped_column(String(1), nullable=False)
    bid: Mapped[float | None] = mapped_column(numeric_type())
    ask: Mapped[float | None] = mapped_column(numeric_type())
    last: Mapped[float | None] = mapped_column(numeric_type())
    volume: Mapped[int | None] = mapped_column(Integer)
    open_interest: Mapped[int | None] = mapped_column(Integer)
    implied_volatility: Mapped[float | None] = mapped_column(numeric_type())
    delta: Mapped[float | None] = mapped_column(numeric_type())
    gamma: Mapped[float | None] = mapped_column(numeric_type())
    theta: Mapped[float | None] = mapped_column(numeric_type())
    vega: Mapped[float | None] = mapped_column(numeric_type())
    created_at: Mapped[dt.datetime | None] = _created_at()


class DailySnapshot(Base):
    __tablename__ = "daily_snapshots"

    time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    ticker_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("tickers.id"), primary_key=True)
    wyckoff_phase: Mapped[str | None] = mapped_column(String(50))
    phase_score: Mapped[float | None] = mapped_column(numeric_type())
    phase_confidence: Mapped[float | None] = mapped_column(numeric_type())
    wyckoff_regime: Mapped[str | None] = mapped_column(String(50))
    wyckoff_regime_confidence: Mapped[float | None] = mapped_column(numeric_type())
    wyckoff_regime_set_by_event: Mapped[str | None] = mapped_column(String(50))
    events_detected: Mapped[list[str] | None] = mapped_column(text_array_type())
    primary_event: Mapped[str | None] = mapped_column(String(50))
    events_json: Mapped[Any | None] = mapped_column(json_column_type(), nullable=True)
    bc_score: Mapped[float | None] = mapped_column(numeric_type())
    spring_score: Mapped[float | None] = mapped_column(numeric_type())
    composite_score: Mapped[float | None] = mapped_column(numeric_type())
    technical_indicators_json: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(), nullable=True)
    dealer_metrics_json: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(), nullable=True)
    volatility_metrics_json: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(), nullable=True)
    price_metrics_json: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime | None] = _created_at()


# The newest snapshot per ticker is what the jobs look up: (ticker_id, time DESC), as in KapMan's schema.
Index("ix_options_chains_ticker_time", OptionContract.ticker_id, OptionContract.time.desc())
Index("ix_daily_snapshots_ticker_time", DailySnapshot.ticker_id, DailySnapshot.time.desc())
