"""The batched reads: options snapshot resolution, chains, UTC times, the universe, spots, IV history."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from sqlalchemy import select

from app.repositories.market import MarketDataRepository
from app.repositories.orm import OptionContract
from app.repositories.snapshots import DEALER_COLUMN, VOLATILITY_COLUMN, SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import snapshot_time
from tests.factories import (
    DailySnapshotFactory,
    OhlcvFactory,
    OptionContractFactory,
    TickerFactory,
    WatchlistFactory,
    chain_time,
)

DAY = dt.date(2024, 1, 2)


def test_snapshot_resolution_picks_the_latest_time_at_or_before_the_cutoff(db_tx):
    ticker = TickerFactory()
    morning, evening = chain_time(DAY, 10, 0), chain_time(DAY, 16, 15)
    next_day = chain_time(DAY + dt.timedelta(days=1), 9, 0)
    for moment, strike in ((morning, 90.0), (evening, 100.0), (next_day, 110.0)):
        OptionContractFactory(ticker=ticker, time=moment, strike_price=strike)
        OptionContractFactory(ticker=ticker, time=moment, strike_price=strike, option_type="P")
    with db_tx.session() as s:
        repo = MarketDataRepository(s)
        times = repo.load_options_snapshot_times([ticker.id], snapshot_time(DAY))
        assert times == {ticker.id: evening}
        chains = repo.load_chains(times, DAY)
    assert chains[ticker.id].strike.tolist() == [100.0, 100.0]  # only the evening snapshot, never a mix
    assert chains[ticker.id].dte_days.tolist() == [17.0, 17.0]


def test_ticker_without_a_snapshot_yet_is_absent(db_tx):
    ticker = TickerFactory()
    OptionContractFactory(ticker=ticker, time=chain_time(DAY + dt.timedelta(days=3)))
    with db_tx.session() as s:
        assert MarketDataRepository(s).load_options_snapshot_times([ticker.id], snapshot_time(DAY)) == {}


def test_chain_read_converts_nulls(db_tx):
    ticker = TickerFactory()
    OptionContractFactory(
        ticker=ticker,
        time=chain_time(DAY),
        volume=None,
        open_interest=None,
        gamma=None,
        bid=None,
        implied_volatility=None,
        delta=None,
    )
    with db_tx.session() as s:
        repo = MarketDataRepository(s)
        chain = repo.load_chains(repo.load_options_snapshot_times([ticker.id], snapshot_time(DAY)), DAY)[ticker.id]
    assert chain.volume.tolist() == [0.0]
    assert chain.open_interest.tolist() == [0.0]
    assert np.isnan(chain.gamma[0])
    assert np.isnan(chain.bid[0])
    assert chain.ask[0] == 1.05
    assert chain.is_call.tolist() == [True]


def test_utc_round_trip(db_tx):
    ticker = TickerFactory()
    eastern = dt.datetime(2024, 7, 1, 16, 15, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    OptionContractFactory(ticker=ticker, time=eastern)
    with db_tx.session() as s:
        stored = s.scalar(select(OptionContract.time))
        assert stored == eastern
        assert stored.tzinfo is not None
        assert stored.utcoffset() == dt.timedelta(0)
        assert stored.hour == 20
        with pytest.raises(Exception, match="naive"):
            s.execute(select(OptionContract).where(OptionContract.time == dt.datetime(2024, 1, 1))).all()


def test_universe_reports_unknown_symbols_and_narrows(db_tx):
    TickerFactory(symbol="AAA")
    TickerFactory(symbol="BBB")
    WatchlistFactory(symbol="aaa")
    WatchlistFactory(symbol="BBB")
    WatchlistFactory(symbol="GHOST")
    WatchlistFactory(symbol="OFF", active=False)
    WatchlistFactory(watchlist_id="other", symbol="BBB")
    with db_tx.session() as s:
        repo = UniverseRepository(s)
        universe = repo.load_universe()
        assert [t.symbol for t in universe.tickers] == ["AAA", "BBB"]
        assert universe.unknown_symbols == ["GHOST"]
        narrowed = repo.load_universe(symbols=["bbb", "ZZZ"])
        assert [t.symbol for t in narrowed.tickers] == ["BBB"]
        assert narrowed.not_in_watchlist == ["ZZZ"]
        assert [t.symbol for t in repo.load_universe(watchlist="other").tickers] == ["BBB"]


def test_spots(db_tx):
    bar = OhlcvFactory(close=123.45)
    with db_tx.session() as s:
        repo = MarketDataRepository(s)
        assert repo.load_spots([bar.ticker_id, uuid.uuid4()], DAY) == {bar.ticker_id: 123.45}
        assert repo.get_latest_ohlcv_date() == DAY


def test_iv_history_reads(db_tx):
    ticker = TickerFactory()
    days = [DAY + dt.timedelta(days=i) for i in range(5)]
    for i, day in enumerate(days):
        DailySnapshotFactory(
            ticker=ticker,
            time=snapshot_time(day),
            volatility_metrics_json={"metrics": {"average_iv": round(0.2 + i / 100, 2)}} if i != 2 else None,
        )
    with db_tx.session() as s:
        repo = SnapshotRepository(s)
        history = repo.load_iv_history([ticker.id], snapshot_time(days[4]), limit=3)[ticker.id]
        assert [v for _, v, _iv30 in history] == [0.21, None, 0.23]
        # rows inside a range the run computes itself come from memory; other stages' rows are read
        inside = repo.load_iv_history(
            [ticker.id],
            snapshot_time(days[1]),
            limit=1,
            through=snapshot_time(days[3]),
            excluding={snapshot_time(days[1]), snapshot_time(days[3])},
        )[ticker.id]
        assert [v for _, v, _iv30 in inside] == [0.2, None]
        states = repo.load_row_states([ticker.id], snapshot_time(days[1]))
        assert states[ticker.id].column(VOLATILITY_COLUMN).complete
        assert states[ticker.id].average_iv == 0.21
        assert not states[ticker.id].column(DEALER_COLUMN).has_document


# ------------------------------------------------------------------ import
