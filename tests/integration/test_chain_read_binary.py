"""The PostgreSQL chain read sends NUMERIC in binary: every value must equal PostgreSQL's own
float8 cast of it (the oracle), NULL/NaN/±Infinity included, whatever the column holds."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from sqlalchemy import text

from app import migrations
from app.db import make_engine, make_session_factory
from app.repositories import chain_copy
from app.repositories.market import MarketDataRepository
from app.time import snapshot_time
from tests.factories import chain_time

DAY = dt.date(2024, 1, 2)
COLUMNS = ("bid", "ask", "implied_volatility", "delta", "gamma")
FIELDS = {"bid": "bid", "ask": "ask", "implied_volatility": "implied_volatility", "delta": "delta", "gamma": "gamma"}
VALUES = [
    None, "NaN", "Infinity", "-Infinity", "0", "-0.0001", "0.95", "450.5", "123456789.1234", "0.000000000001",
    "1e-20", "1e20", "0.9999999999999999", "0.1234567890123457", "-7.25", "9999.9999", "0.00012345",
]  # fmt: skip


def _store(conn, values_by_column: dict[str, list[str | None]]) -> uuid.UUID:
    ticker = uuid.uuid4()
    conn.execute(text("INSERT INTO tickers (id, symbol) VALUES (:id, 'BIN')"), {"id": ticker})
    count = len(next(iter(values_by_column.values())))
    for i in range(count):
        row = {c: values_by_column.get(c, ["1"] * count)[i] for c in COLUMNS}
        conn.execute(
            text(
                "INSERT INTO options_chains (time, ticker_id, expiration_date, strike_price, option_type, bid, ask,"
                " volume, open_interest, implied_volatility, delta, gamma)"
                " VALUES (:t, :id, :exp, :strike, 'C', CAST(:bid AS numeric), CAST(:ask AS numeric), 1, 1,"
                " CAST(:implied_volatility AS numeric), CAST(:delta AS numeric), CAST(:gamma AS numeric))"
            ),
            {"t": chain_time(DAY), "id": ticker, "exp": DAY + dt.timedelta(days=30), "strike": 10 + i, **row},
        )
    return ticker


def _read_and_oracle(session, ticker: uuid.UUID):
    repo = MarketDataRepository(session)
    chain = repo.load_chains(repo.load_options_snapshot_times([ticker], snapshot_time(DAY)), DAY)[ticker]
    oracle = session.execute(
        text(
            "SELECT strike_price::float8, " + ", ".join(f"coalesce({c}::float8, 'NaN')" for c in COLUMNS)
            + " FROM options_chains WHERE ticker_id = :id ORDER BY strike_price"
        ),
        {"id": ticker},
    ).all()  # fmt: skip
    return chain, np.array(oracle, dtype=np.float64)


def _assert_equal_bits(chain, oracle) -> None:
    assert chain.strike.tobytes() == oracle[:, 0].tobytes()
    for i, column in enumerate(COLUMNS, start=1):
        assert getattr(chain, FIELDS[column]).tobytes() == oracle[:, i].tobytes(), column


def test_numeric_values_read_in_binary_equal_the_servers_cast(pg_db):
    rotated = {c: VALUES[k:] + VALUES[:k] for k, c in enumerate(COLUMNS)}  # each value in each column
    with pg_db.engine.begin() as conn:
        ticker = _store(conn, rotated)
    with pg_db.session() as session:
        chain, oracle = _read_and_oracle(session, ticker)
        assert chain_copy._binary_fields(session) == set(chain_copy._REQUIRED_TYPES)  # every field, no fallback
    _assert_equal_bits(chain, oracle)
    assert np.isnan(chain.bid[:2]).all()
    assert chain.bid[2:4].tolist() == [np.inf, -np.inf]  # NULL, NaN, ±Infinity


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
def test_a_value_longer_than_a_record_is_read_with_the_cast(fresh_url):
    engine = make_engine(fresh_url)
    migrations.upgrade(engine)
    long_gamma = ["0.12345678901234567890123", "0.5", "1e-40"]
    with engine.begin() as conn:
        ticker = _store(conn, {"gamma": long_gamma})
    with make_session_factory(engine)() as session:
        chain, oracle = _read_and_oracle(session, ticker)
        binary = chain_copy._binary_fields(session)
    engine.dispose()
    _assert_equal_bits(chain, oracle)
    assert chain.gamma.tolist() == [float(v) for v in long_gamma]
    assert "gamma" not in binary
    assert {"strike", "bid", "delta"} <= binary  # only the long field falls back


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
def test_a_float8_column_is_read_as_stored_not_through_numeric(fresh_url):
    """float8 -> numeric keeps 15 digits: a column of another type must be read with the cast."""
    engine = make_engine(fresh_url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE options_chains ALTER COLUMN bid TYPE double precision"))
        ticker = _store(conn, {"bid": ["0.1", "0.2"]})
        conn.execute(text("UPDATE options_chains SET bid = bid + 0.2::float8"))  # 0.30000000000000004, 0.4
    with make_session_factory(engine)() as session:
        chain, oracle = _read_and_oracle(session, ticker)
        binary = chain_copy._binary_fields(session)
    engine.dispose()
    _assert_equal_bits(chain, oracle)
    assert chain.bid.tolist() == [0.1 + 0.2, 0.2 + 0.2]
    assert "bid" not in binary
