"""SPEC §13.4 end to end on SQLite and PostgreSQL: the bars read per chunk, the rules for gaps, invalid and
missing bars, and a range run equal to its dates run one by one."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import text

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.repositories.bars import BarRepository
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.services.volatility_metrics import run_volatility_metrics
from app.time import sessions
from tests.factories import OhlcvFactory, TickerFactory, WatchlistFactory
from tests.integration.market import add_chain
from tests.integration.test_volatility_metrics_pipeline import all_docs, docs
from tests.unit.volatility_metrics.test_realized import (
    _oracle_garman_klass,
    _oracle_hv,
    _oracle_parkinson,
    _oracle_yang_zhang,
    _random_rows,
)

DAYS = sessions(dt.date(2023, 6, 1), dt.date(2024, 1, 2))  # ~150 sessions ending on a Tuesday
LAST = DAYS[-1]
GAP = DAYS[-30]  # a session RVGAP has no bar for
BAD = DAYS[-5]  # RVBAD's bar that day has high < low


def _market():
    rows = _random_rows(random.Random(7), len(DAYS))
    symbols = ("RV", "RVGAP", "RVBAD", "FEW", "NOBAR")
    tickers = {s: TickerFactory(symbol=s, id=ticker_uuid(s)) for s in symbols}
    for symbol, ticker in tickers.items():
        WatchlistFactory(symbol=symbol)
        add_chain(ticker, LAST)
        days = {"FEW": DAYS[-5:], "NOBAR": []}.get(symbol, DAYS)
        for day, (o, h, lo, c) in zip(DAYS, rows, strict=True):
            if day not in days or (symbol == "RVGAP" and day == GAP):
                continue
            if symbol == "RVBAD" and day == BAD:
                h, lo = lo, h
            OhlcvFactory(
                ticker=ticker, date=day, open=round(o, 4), high=round(h, 4), low=round(lo, 4), close=round(c, 4)
            )
        if symbol != "NOBAR":  # a bar after the session must never be read
            OhlcvFactory(ticker=ticker, date=LAST + dt.timedelta(days=1), close=1.0, open=1.0, high=1.0, low=1.0)
    return [(day, tuple(round(v, 4) for v in row)) for day, row in zip(DAYS, rows, strict=True)]


def test_realized_keys_match_the_oracle_on_both_backends(db):
    stored = _market()
    summary = run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=LAST)))
    assert summary.exit_code == 0
    found = docs(db, day=LAST)

    rows = [row for _day, row in stored][-121:]
    closes = [r[3] for r in rows]
    rv = found["RV"]["realized"]
    expected = {f"hv_{n}": _oracle_hv(closes, n) for n in (10, 20, 60, 120)}
    expected |= {
        "parkinson_20": _oracle_parkinson(rows),
        "garman_klass_20": _oracle_garman_klass(rows),
        "yang_zhang_20": _oracle_yang_zhang(rows),
    }
    assert {k: rv[k] for k in expected} == {k: round(v, 4) for k, v in expected.items()}
    assert rv["bars_used"] == 121
    assert rv["session_gaps"] == 0
    assert rv["diagnostics"] == []

    gap = found["RVGAP"]["realized"]
    assert gap["bars_used"] == 121
    assert gap["session_gaps"] == 1
    assert "ohlcv_gap" in gap["diagnostics"]
    # the bars as stored: the 20-return window now reaches one bar further back
    gap_closes = [row[3] for day, row in stored if day != GAP][-21:]
    assert gap["hv_20"] == round(_oracle_hv(gap_closes, 20), 4)

    bad = found["RVBAD"]["realized"]
    assert bad["hv_10"] is None
    assert bad["yang_zhang_20"] is None
    assert bad["hv_120"] is None
    assert bad["diagnostics"] == [f"ohlcv_invalid_bar:{BAD.isoformat()}"]

    few = found["FEW"]["realized"]
    assert few["bars_used"] == 5
    assert few["hv_10"] is None
    assert "hv_10:insufficient_bars(5<11)" in few["diagnostics"]
    nobar = found["NOBAR"]
    assert nobar["realized"]["bars_used"] == 0
    assert "no_bar_for_date" in nobar["realized"]["diagnostics"]
    assert nobar["expected_move"]["diagnostics"] == ["no_spot"]


def test_a_range_run_equals_its_dates_one_by_one(db):
    _market()
    last_three = DateSelection(start=DAYS[-3], end=LAST)
    assert run_daily(db.session_factory, BatchOptions(dates=last_three)).exit_code == 0
    ranged = all_docs(db)
    with db.session() as s:
        s.execute(text("DELETE FROM daily_snapshots"))
        s.commit()
    for day in DAYS[-3:]:
        assert run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=day))).exit_code == 0
    assert all_docs(db) == ranged
    assert len(ranged) == 15


def test_the_bar_read_is_the_last_bars_through_the_session(db):
    _market()
    with db.session() as s:
        bars = BarRepository(s).load_recent_bars(
            [ticker_uuid("RV"), ticker_uuid("FEW"), ticker_uuid("NOBAR")], LAST, 121
        )
    assert set(bars) == {ticker_uuid("RV"), ticker_uuid("FEW")}
    rv = bars[ticker_uuid("RV")]
    assert len(rv) == 121
    assert rv.dates[-1] == LAST
    assert rv.dates[0] == DAYS[-121]
    assert list(rv.dates) == sorted(rv.dates)
