"""factory-boy factories for every table, bound to a test-only scoped session."""

from __future__ import annotations

import datetime as dt
import uuid

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import scoped_session, sessionmaker

from app.repositories.orm import DailySnapshot, Ohlcv, OptionContract, Ticker, Watchlist
from app.time import snapshot_time

TestSession = scoped_session(sessionmaker())


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = TestSession
        sqlalchemy_session_persistence = "commit"


class TickerFactory(_Base):
    class Meta:
        model = Ticker

    id = factory.LazyFunction(uuid.uuid4)
    symbol = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Inc")
    sector = "Technology"
    is_active = True


class WatchlistFactory(_Base):
    class Meta:
        model = Watchlist

    watchlist_id = "core"
    symbol = factory.Sequence(lambda n: f"T{n:03d}")
    active = True
    source = "tests"
    effective_date = dt.date(2024, 1, 2)  # NOT NULL in KapMan's own table


class OhlcvFactory(_Base):
    class Meta:
        model = Ohlcv

    ticker_id = factory.LazyAttribute(lambda o: o.ticker.id)
    date = dt.date(2024, 1, 2)
    open = 100.0
    high = 101.0
    low = 99.0
    close = 100.0
    volume = 1_000_000

    class Params:
        ticker = factory.SubFactory(TickerFactory)


def chain_time(day: dt.date, hour: int = 16, minute: int = 15) -> dt.datetime:
    """A snapshot time on `day` in New York, as UTC."""
    from app.time import NEW_YORK

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK).astimezone(dt.UTC)


class OptionContractFactory(_Base):
    class Meta:
        model = OptionContract

    time = factory.LazyFunction(lambda: chain_time(dt.date(2024, 1, 2)))
    ticker_id = factory.LazyAttribute(lambda o: o.ticker.id)
    expiration_date = dt.date(2024, 1, 19)
    strike_price = 100.0
    option_type = "C"
    bid = 1.00
    ask = 1.05
    last = 1.02
    volume = 50
    open_interest = 1000
    implied_volatility = 0.30
    delta = 0.5
    gamma = 0.05
    theta = -0.05
    vega = 0.10

    class Params:
        ticker = factory.SubFactory(TickerFactory)


class DailySnapshotFactory(_Base):
    class Meta:
        model = DailySnapshot

    time = factory.LazyFunction(lambda: snapshot_time(dt.date(2024, 1, 2)))
    ticker_id = factory.LazyAttribute(lambda o: o.ticker.id)
    wyckoff_phase = "accumulation"
    phase_score = 0.5
    model_version = "wyckoff/1.0"

    class Params:
        ticker = factory.SubFactory(TickerFactory)
