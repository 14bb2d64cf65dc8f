"""The batch's reads are index-driven on an ANALYZEd PostgreSQL table holding long history (SPEC §11).

The tables hold 150 sessions of chains and a year of daily snapshots for 40 tickers,
with planner statistics, as any real database has. Every statement a chunk read
sends is EXPLAINed with its own parameters; a sequential scan of options_chains,
daily_snapshots or ohlcv fails the test. Chunks are asked for 200 tickers at once
(the list repeats the 40), the size at which a plain join was planned as a
parallel scan of the whole table.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, text

from app.repositories.bars import _PG_BARS_COPY, BarRepository
from app.repositories.chain_copy import pg_chain_copy
from app.repositories.market import BASE_FIELDS, GREEK_FIELDS, MarketDataRepository
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import sessions, snapshot_time

TICKERS, SESSIONS, CONTRACTS = 40, 150, 40
BIG_TABLES = ("options_chains", "daily_snapshots", "ohlcv")
LAST = dt.date(2024, 11, 29)


def _long_history(engine) -> list[dt.date]:
    days = sessions(dt.date(2023, 1, 1), LAST)
    chain_days = days[-SESSIONS:]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickers (id, symbol, is_active) SELECT md5('t' || i)::uuid, 'T' || lpad(i::text, 3, '0'),"
                " true FROM generate_series(1, :n) i"
            ),
            {"n": TICKERS},
        )
        conn.execute(
            text("INSERT INTO watchlists (watchlist_id, symbol, active) SELECT 'core', symbol, true FROM tickers")
        )
        conn.execute(
            text("INSERT INTO ohlcv (ticker_id, date, close) SELECT t.id, d, 100 FROM tickers t, unnest(:days) d"),
            {"days": days},
        )
        conn.execute(
            text(
                "INSERT INTO options_chains (time, ticker_id, expiration_date, strike_price, option_type, bid, ask,"
                " volume, open_interest, implied_volatility, delta, gamma) "
                "SELECT (d + time '21:15') AT TIME ZONE 'UTC', t.id, d + 30, 80 + k, CASE WHEN k % 2 = 0 THEN 'C'"
                " ELSE 'P' END, 1, 1.05, 10, 500, 0.3, 0.25, 0.05 "
                "FROM tickers t, unnest(:days) d, generate_series(1, :k) k"
            ),
            {"days": chain_days, "k": CONTRACTS},
        )
        conn.execute(
            text(
                "INSERT INTO daily_snapshots (time, ticker_id, volatility_metrics_json) "
                "SELECT (d + time '23:59:59.999999') AT TIME ZONE 'America/New_York', t.id,"
                " jsonb_build_object('metrics', jsonb_build_object('average_iv', 0.3, 'iv_rank', 50)) "
                "FROM tickers t, unnest(:days) d"
            ),
            {"days": days[:-1]},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return chain_days


def _plan(conn, statement: str, parameters) -> str:
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


def _assert_no_seq_scan(plan: str, what: str) -> None:
    for table in BIG_TABLES:
        assert f"Seq Scan on {table}" not in plan, f"{what} scans all of {table}:\n{plan}"


@pytest.fixture
def long_history(pg_db):
    return _long_history(pg_db.engine)


def test_every_chunk_read_is_index_driven(pg_db, long_history):
    day = long_history[-1]
    cutoff = snapshot_time(day)
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    with pg_db.session() as session:
        ids = [r.ticker_id for r in UniverseRepository(session).load_universe().tickers]
        many = ids * 5  # 200 tickers in one chunk
        event.listen(pg_db.engine, "before_cursor_execute", capture)
        try:
            market = MarketDataRepository(session)
            snapshots = SnapshotRepository(session)
            market.get_latest_ohlcv_date()
            times = market.load_snapshot_times(many, cutoff)
            market.load_spots(many, day)
            snapshots.load_row_states(many, cutoff)
            history = snapshots.load_iv_history(ids, cutoff, 252)
            snapshots.load_iv_history(ids, snapshot_time(long_history[-5]), 252, through=cutoff, excluding={cutoff})
            bars = BarRepository(session).load_recent_bars(many, day, 121)
        finally:
            event.remove(pg_db.engine, "before_cursor_execute", capture)
        assert len(times) == TICKERS
        assert len(history[ids[0]]) == 252
        assert len(bars[ids[0]]) == 121
        conn = session.connection()
        for statement, parameters in captured:
            _assert_no_seq_scan(_plan(conn, statement, parameters), statement.split("FROM")[0][:80])
        # the chain read is a COPY on the driver connection: EXPLAIN its query with its parameters
        copy = pg_chain_copy(BASE_FIELDS + GREEK_FIELDS, BASE_FIELDS + GREEK_FIELDS)
        query = copy[copy.index("SELECT") : copy.rindex(") TO STDOUT")]
        chain_ids = [tid for tid in many if tid in times]
        parameters = {"ids": chain_ids, "times": [times[t].time for t in chain_ids], "as_of": day}
        with session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        _assert_no_seq_scan(plan, "the chain read")
        assert "Index" in plan
        # so is the bar read (§13.4): a lateral LIMIT per ticker through the (ticker_id, date) key
        query = _PG_BARS_COPY[_PG_BARS_COPY.index("SELECT") : _PG_BARS_COPY.rindex(") TO STDOUT")]
        with session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query, {"ids": ids, "day": day, "limit": 121})
            plan = "\n".join(row[0] for row in cursor.fetchall())
        _assert_no_seq_scan(plan, "the bar read")
        assert "Index" in plan
        assert "Limit" in plan


def test_the_join_the_chain_read_replaced_would_scan_the_table(pg_db, long_history):
    """Guards the guard: on this table a plain join of 200 (ticker, time) pairs is a full scan."""
    day = long_history[-1]
    with pg_db.session() as session:
        ids = [r.ticker_id for r in UniverseRepository(session).load_universe().tickers] * 5
        times = MarketDataRepository(session).load_snapshot_times(ids, snapshot_time(day))
        with session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT count(*) FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[]) AS s(tid, t) "
                "JOIN options_chains oc ON oc.ticker_id = s.tid AND oc.time = s.t",
                {"ids": ids, "times": [times[t].time for t in ids]},
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on options_chains" in plan


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
def test_the_chain_read_prunes_time_partitions(fresh_url):
    """TimescaleDB is not available here; a hypertable's chunks are time partitions with their own
    indexes, so the chain read is checked on a natively time-partitioned options_chains."""
    from app.db import make_engine

    engine = make_engine(fresh_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text(
                "CREATE TABLE options_chains (time timestamptz NOT NULL, ticker_id uuid NOT NULL,"
                " expiration_date date NOT NULL, strike_price numeric(12,4) NOT NULL, option_type char(1) NOT NULL,"
                " bid numeric, ask numeric, volume int, open_interest int, implied_volatility numeric, delta numeric,"
                " gamma numeric, UNIQUE (time, ticker_id, expiration_date, strike_price, option_type))"
                " PARTITION BY RANGE (time)"
            )
        )
        conn.execute(text("CREATE INDEX ON options_chains (ticker_id, time DESC)"))
        monday = dt.date(2024, 1, 1)
        for week in range(30):
            start, end = monday + dt.timedelta(weeks=week), monday + dt.timedelta(weeks=week + 1)
            conn.execute(
                text(f"CREATE TABLE oc_{week} PARTITION OF options_chains FOR VALUES FROM ('{start}') TO ('{end}')")
            )
        conn.execute(
            text(
                "INSERT INTO options_chains SELECT (d::date + time '21:15') AT TIME ZONE 'UTC', md5('t' || i)::uuid,"
                " d::date + 30, 80 + k, 'C', 1, 1.05, 10, 500, 0.3, 0.25, 0.05 FROM generate_series(1, 40) i,"
                " generate_series('2024-01-02'::date, '2024-07-26'::date, '1 day') d, generate_series(1, 20) k"
            )
        )
        conn.execute(text("ANALYZE"))
        ids = [row[0] for row in conn.execute(text("SELECT md5('t' || i)::uuid FROM generate_series(1, 40) i"))] * 5
        moment = dt.datetime(2024, 7, 26, 21, 15, tzinfo=dt.UTC)
        copy = pg_chain_copy(BASE_FIELDS + GREEK_FIELDS, BASE_FIELDS + GREEK_FIELDS)
        query = copy[copy.index("SELECT") : copy.rindex(") TO STDOUT")]
        with conn.connection.driver_connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, COSTS OFF) " + query,
                {"ids": ids, "times": [moment] * len(ids), "as_of": moment.date()},
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
    engine.dispose()
    assert "Seq Scan" not in plan
    assert "Nested Loop" in plan
    assert plan.count("never executed") >= 29  # every other week's partition pruned at run time
