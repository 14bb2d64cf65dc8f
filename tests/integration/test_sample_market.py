"""The synthetic market: deterministic, idempotent, read identically on both backends."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, text

from app.db import make_session_factory
from app.repositories.market import MarketDataRepository
from app.repositories.orm import Ohlcv, OptionContract, Ticker, Watchlist
from app.repositories.universe import UniverseRepository
from app.sample.market import run_sample_data
from app.time import snapshot_time


def _table_digest(session) -> dict:
    return {
        "tickers": session.execute(select(Ticker.symbol, Ticker.id).order_by(Ticker.symbol)).all(),
        "ohlcv": session.execute(
            select(Ohlcv.ticker_id, Ohlcv.date, Ohlcv.close).order_by(Ohlcv.ticker_id, Ohlcv.date)
        ).all(),
        "options": session.execute(
            select(func.count(), func.sum(OptionContract.open_interest), func.sum(OptionContract.strike_price))
        ).one(),
        "watchlist": session.execute(select(Watchlist.symbol).order_by(Watchlist.symbol)).all(),
    }


def test_sample_data_is_deterministic_and_idempotent(db):
    first = run_sample_data(db.session_factory, tickers=6, days=3, seed=11)
    with db.session() as s:
        digest = _table_digest(s)
    again = run_sample_data(db.session_factory, tickers=6, days=3, seed=11)
    assert again.option_rows == 0
    assert again.ohlcv_rows == 0  # nothing new
    with db.session() as s:
        assert _table_digest(s) == digest
    symbols = [symbol for symbol, _ in digest["tickers"]]
    assert {"NOOPT", "THIN", "GAPPY"} <= set(symbols)
    assert len(symbols) == 6
    assert ("GHOST",) in digest["watchlist"]
    # one missing OHLCV day (GAPPY) and no options for NOOPT
    assert first.ohlcv_rows == 6 * 3 - 1
    with db.session() as s:
        noopt = s.scalar(select(Ticker.id).where(Ticker.symbol == "NOOPT"))
        assert s.scalar(select(func.count()).where(OptionContract.ticker_id == noopt)) == 0
        per_chain = (
            s.execute(
                select(func.count()).select_from(OptionContract).group_by(OptionContract.ticker_id, OptionContract.time)
            )
            .scalars()
            .all()
        )
        assert min(per_chain) == 6  # the thin chain: 3 strikes x 1 expiry x 2 types
        assert max(per_chain) > 700


def test_sample_data_reads_identically_on_both_backends(migrated_engines):
    chains = {}
    for backend, (_url, engine) in migrated_engines.items():
        factory = make_session_factory(engine)
        summary = run_sample_data(factory, tickers=5, days=2, seed=3)
        day = summary.sessions[-1]
        with factory() as s:
            ids = [t.ticker_id for t in UniverseRepository(s).load_universe().tickers]
            repo = MarketDataRepository(s)
            chains[backend] = repo.load_chains(repo.load_options_snapshot_times(ids, snapshot_time(day)), day)
        with engine.begin() as conn:
            for table in ("daily_snapshots", "options_chains", "ohlcv", "watchlists", "tickers"):
                conn.execute(text(f"DELETE FROM {table}"))
    assert chains["sqlite"].keys() == chains["postgresql"].keys()
    for tid, chain in chains["sqlite"].items():
        other = chains["postgresql"][tid]
        for field in (
            "strike",
            "dte_days",
            "open_interest",
            "volume",
            "bid",
            "ask",
            "implied_volatility",
            "delta",
            "gamma",
        ):
            np.testing.assert_array_equal(getattr(chain, field), getattr(other, field), err_msg=field)


# ------------------------------------------------------------------ duplicate keys (SPEC §8.1)
