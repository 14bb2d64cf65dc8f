"""The data layer on SQLite and PostgreSQL: schema, upsert, reads, imports, sample data."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from sqlalchemy import func, inspect, select, text

from app import migrations
from app.db import make_engine, make_session_factory
from app.importers.csv_import import run_import
from app.repositories.market import MarketDataRepository
from app.repositories.orm import DailySnapshot, Ohlcv, OptionContract, Ticker, Watchlist
from app.repositories.snapshots import DEALER_COLUMN, VOLATILITY_COLUMN, SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.sample.market import run_sample_data
from app.time import snapshot_time
from tests.factories import (
    DailySnapshotFactory,
    OhlcvFactory,
    OptionContractFactory,
    TickerFactory,
    WatchlistFactory,
    chain_time,
)

KAPMAN_TABLES = {"tickers", "watchlists", "ohlcv", "options_chains", "daily_snapshots"}
DAY = dt.date(2024, 1, 2)


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


def _write(path, text_content):
    path.write_text(text_content)
    return path


def test_import_rejects_bad_rows_and_loads_the_rest_idempotently(db, tmp_path, logs):
    options = _write(
        tmp_path / "options.csv",
        "\n".join(
            [
                "time,symbol,expiration_date,strike_price,option_type,bid,ask,last,volume,open_interest,implied_volatility,delta,gamma,theta,vega",
                "2024-01-02T21:15:00+00:00,aapl,2024-01-19,100,C,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,100,P,1.0,1.1,1.05,10,500,0.3,-0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-13-19,105,C,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,105,X,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,110,C,1.0,1.1,1.05,10,-5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,115,C,1.0,1.1,1.05,10,lots,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,NaN,C,1.0,1.1,1.05,10,5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02 16:15:00,AAPL,2024-01-19,120,C,1.0,1.1,1.05,10,5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00,AAPL,2024-01-19,125,C,,,,,,,,,,",
            ]
        )
        + "\n",
    )
    summary = run_import(db.session_factory, "options-chains", options)
    assert (summary.rows_read, summary.loaded, summary.rejected, summary.exit_code) == (9, 3, 6, 0)
    assert [line for line, _ in summary.rejects] == [4, 5, 6, 7, 8, 9]
    reasons = dict(summary.rejects)
    assert "expiration_date is not a date" in reasons[4]
    assert "option_type must be C or P" in reasons[5]
    assert "open_interest is negative" in reasons[6]
    assert "open_interest is not a number" in reasons[7]
    assert "strike_price is not finite" in reasons[8]
    assert "no UTC offset" in reasons[9]
    assert sum(1 for e in logs if e["event"] == "row_rejected") == 6
    again = run_import(db.session_factory, "options-chains", options)
    assert (again.loaded, again.already_present) == (0, 3)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 3
        assert s.scalars(select(Ticker.symbol)).all() == ["AAPL"]
        row = s.scalars(select(OptionContract).where(OptionContract.strike_price == 125)).one()
        assert row.gamma is None
        assert row.open_interest is None


def test_strict_import_writes_nothing(db, tmp_path):
    path = _write(
        tmp_path / "ohlcv.csv",
        "symbol,date,open,high,low,close,volume\nAAA,2024-01-02,1,2,0.5,1.5,100\nAAA,2024-01-03,1,2,0.5,,100\n",
    )
    summary = run_import(db.session_factory, "ohlcv", path, strict=True)
    assert summary.exit_code == 1
    assert "nothing written" in summary.failure
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ohlcv)) == 0
        assert s.scalar(select(func.count()).select_from(Ticker)) == 0
    loaded = run_import(db.session_factory, "ohlcv", path)
    assert (loaded.loaded, loaded.rejected) == (1, 1)


def test_import_tickers_and_watchlist(db, tmp_path):
    tickers = _write(tmp_path / "t.csv", "symbol,name,sector,is_active\nmsft,Microsoft,Tech,true\nX,,,maybe\n")
    watch = _write(
        tmp_path / "w.csv",
        "watchlist_id,symbol,active,source,effective_date\ncore,MSFT,1,manual,2024-01-01\n"
        "core,GHOST,,manual,\n,NOID,,,\n",
    )
    assert run_import(db.session_factory, "tickers", tickers).rejected == 1
    summary = run_import(db.session_factory, "watchlist", watch)
    assert (summary.loaded, summary.rejected) == (2, 1)
    with db.session() as s:
        assert s.scalars(select(Ticker.symbol)).all() == ["MSFT"]
        assert sorted(s.scalars(select(Watchlist.symbol)).all()) == ["GHOST", "MSFT"]


def test_import_bad_files(db, tmp_path):
    missing = run_import(db.session_factory, "ohlcv", tmp_path / "nope.csv")
    assert missing.exit_code == 1
    assert "no such file" in missing.failure
    header = run_import(db.session_factory, "ohlcv", _write(tmp_path / "h.csv", "symbol,day\nA,2024-01-01\n"))
    assert header.exit_code == 1
    assert "missing column(s) date, close" in header.failure


# ------------------------------------------------------------------ sample data


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

OPTION_HEADER = (
    "time,symbol,expiration_date,strike_price,option_type,bid,ask,volume,open_interest,implied_volatility,gamma\n"
)
# SPX's AM monthly and SPXW's PM weekly of one third Friday, exported under one key
AM_ROW = "2023-09-14T20:31:00+00:00,SPX,2023-09-15,4500,C,10.0,10.4,5,1000,0.20,0.010\n"
PM_ROW = "2023-09-14T20:31:00+00:00,SPX,2023-09-15,4500,C,10.1,10.3,7,3000,0.16,0.014\n"


def test_a_key_with_other_values_is_a_conflicting_duplicate_never_dropped_silently(db, tmp_path, logs):
    path = _write(tmp_path / "dupes.csv", OPTION_HEADER + AM_ROW + PM_ROW + AM_ROW)
    summary = run_import(db.session_factory, "options-chains", path)
    assert (summary.loaded, summary.already_present, summary.conflicting_duplicates) == (1, 1, 1)
    assert summary.rejects == [(3, "conflicting_duplicate: key loaded with other bid, ask, volume, open_interest, "
                                   "implied_volatility, gamma")]  # fmt: skip
    warning = next(e for e in logs if e["event"] == "row_rejected")
    assert warning["line"] == 3
    assert warning["log_level"] == "warning"
    again = run_import(db.session_factory, "options-chains", _write(tmp_path / "pm.csv", OPTION_HEADER + PM_ROW))
    assert (again.loaded, again.conflicting_duplicates) == (0, 1)  # against the stored row, too


def test_merge_duplicates_applies_the_merge_rule(db, tmp_path):
    path = _write(tmp_path / "dupes.csv", OPTION_HEADER + AM_ROW + PM_ROW)
    summary = run_import(db.session_factory, "options-chains", path, merge_duplicates=True)
    assert (summary.loaded, summary.merged_keys, summary.conflicting_duplicates) == (1, 1, 0)
    with db.session() as s:
        row = s.execute(select(OptionContract)).scalar_one()
    # OI and volume summed; greeks OI-weighted (Σ gamma·OI exact); quotes of the row read last
    assert (row.open_interest, row.volume, row.bid, row.ask) == (4000, 12, 10.1, 10.3)
    assert row.gamma == pytest.approx((0.010 * 1000 + 0.014 * 3000) / 4000)
    assert row.implied_volatility == pytest.approx((0.20 * 1000 + 0.16 * 3000) / 4000)
