"""`run_volatility_metrics` and `run_daily` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import delete, select

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.repositories.orm import DailySnapshot, Ticker
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.services.dealer_metrics import run_dealer_metrics
from app.services.volatility_metrics import run_volatility_metrics
from app.time import sessions, snapshot_time
from tests.factories import OhlcvFactory, OptionContractFactory, TickerFactory, WatchlistFactory, chain_time
from tests.integration.market import DAY, NEXT_DAY, add_chain, build_market

ONE_DAY = BatchOptions(dates=DateSelection(day=DAY))
SESSIONS = sessions(dt.date(2024, 1, 2), dt.date(2024, 2, 15))[:21]
# 20 distinct IVs 0.20 … 0.39 in a scrambled order (7 is coprime to 20), then 0.30 on the 21st session
IV_PATH = [round(0.20 + 0.01 * ((i * 7) % 20), 2) for i in range(20)] + [0.30]


def docs(db, column="volatility_metrics_json", day=DAY) -> dict[str, dict]:
    with db.session() as s:
        rows = s.execute(
            select(Ticker.symbol, getattr(DailySnapshot, column))
            .join(DailySnapshot, DailySnapshot.ticker_id == Ticker.id)
            .where(DailySnapshot.time == snapshot_time(day))
        )
        return {symbol: doc for symbol, doc in rows}


def all_docs(db) -> dict[tuple[str, str], str]:
    with db.session() as s:
        rows = s.execute(
            select(Ticker.symbol, DailySnapshot.time, DailySnapshot.volatility_metrics_json).join(
                DailySnapshot, DailySnapshot.ticker_id == Ticker.id
            )
        )
        return {(sym, t.isoformat()): json.dumps(doc, sort_keys=True) for sym, t, doc in rows}


def build_iv_history_market():
    ticker = TickerFactory(symbol="IVX", id=ticker_uuid("IVX"))
    WatchlistFactory(symbol="IVX")
    for day, iv in zip(SESSIONS, IV_PATH, strict=True):
        OhlcvFactory(ticker=ticker, date=day, close=100.0)
        for option_type, strike in (("C", 105.0), ("P", 95.0)):
            OptionContractFactory(
                ticker=ticker,
                time=chain_time(day),
                expiration_date=day + dt.timedelta(days=30),
                strike_price=strike,
                option_type=option_type,
                implied_volatility=iv,
                delta=0.25 if option_type == "C" else -0.25,
            )
    return ticker


def test_every_watchlist_ticker_gets_a_document(db, logs):
    build_market()
    summary = run_volatility_metrics(db.session_factory, ONE_DAY)
    found = docs(db)
    assert set(found) == {"AAA", "THIN", "NOSPOT", "NOOPT"}
    assert summary.unknown_symbols == ["GHOST"]
    assert summary.exit_code == 0
    aaa = found["AAA"]
    # every AAA contract has IV 0.30, so every IV average is 0.30
    assert aaa["metrics"]["average_iv"] == 0.3
    assert aaa["metrics"]["iv_skew"] == 0.0
    # puts: 2000 OI per expiry; calls: 1000 + 1500 -> 4000 / 5000
    assert aaa["metrics"]["put_call_ratio_oi"] == 0.8
    assert aaa["metrics"]["oi_ratio"] == round(60 / 9000, 4)
    assert aaa["metrics"]["iv_rank"] is None
    assert "iv_rank:insufficient_history(0<20)" in aaa["diagnostics"]
    assert aaa["processing_status"] == "PARTIAL"
    assert found["NOOPT"]["processing_status"] == "NO_OPTIONS"
    started = next(e for e in logs if e["event"] == "batch_started")
    finished = next(e for e in logs if e["event"] == "batch_finished")
    assert started["log_level"] == "info"
    assert started["job"] == "volatility_metrics"
    assert started["tickers"] == 4
    assert finished["log_level"] == "info"
    assert finished["missing_options"] == 1
    assert finished["partial"] == 3
    assert finished["unknown_symbols"] == ["GHOST"]
    assert "total_seconds" in finished
    assert ("AAA", "short_history") in {(e["symbol"], e["reason"]) for e in logs if e["event"] == "data_gap"}


def test_rerun_is_identical_and_the_dealer_document_is_untouched(db):
    build_market()
    run_dealer_metrics(db.session_factory, ONE_DAY)
    dealer_before = docs(db, "dealer_metrics_json")
    run_volatility_metrics(db.session_factory, ONE_DAY)
    first = {k: json.dumps(v, sort_keys=True) for k, v in docs(db).items()}
    run_volatility_metrics(db.session_factory, ONE_DAY)
    assert {k: json.dumps(v, sort_keys=True) for k, v in docs(db).items()} == first
    assert docs(db, "dealer_metrics_json") == dealer_before


def test_later_snapshot_is_ignored(db):
    tickers = build_market()
    add_chain(tickers["AAA"], NEXT_DAY, hour=9, iv=0.9)
    run_volatility_metrics(db.session_factory, ONE_DAY)
    aaa = docs(db)["AAA"]
    assert aaa["metrics"]["average_iv"] == 0.3
    assert aaa["options_snapshot_time"] == chain_time(DAY).isoformat(timespec="microseconds")


def test_iv_rank_null_for_twenty_sessions_then_exact(db):
    build_iv_history_market()
    options = BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[-1]))
    summary = run_volatility_metrics(db.session_factory, options)
    assert summary.processed == 21
    ranks = [docs(db, day=d)["IVX"]["metrics"]["iv_rank"] for d in SESSIONS]
    assert ranks[:20] == [None] * 20
    last = docs(db, day=SESSIONS[-1])["IVX"]
    # H = 0.20 … 0.39 (20 points); (0.30 - 0.20) / (0.39 - 0.20) * 100 = 52.63; 11 of 20 points <= 0.30
    assert last["metrics"]["iv_rank"] == 52.63
    assert last["metrics"]["iv_percentile"] == 55.0
    assert last["metadata"]["history"] == {"points": 20, "min": 0.2, "max": 0.39}
    assert last["processing_status"] == "PARTIAL"  # no back-month contracts -> no term structure


def test_range_run_equals_date_by_date(db):
    build_iv_history_market()
    run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[-1])))
    ranged = all_docs(db)
    with db.session_factory.begin() as s:
        s.execute(delete(DailySnapshot))
    for day in SESSIONS:
        run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=day)))
    assert all_docs(db) == ranged
    assert len(ranged) == 21


def test_fill_missing_keeps_history_of_existing_rows(db):
    build_iv_history_market()
    # first 20 sessions one way, then resume the whole range with --fill-missing
    run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[19])))
    summary = run_volatility_metrics(
        db.session_factory,
        BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[-1]), fill_missing=True),
    )
    assert summary.skipped_existing == 20
    assert summary.processed == 1
    assert docs(db, day=SESSIONS[-1])["IVX"]["metrics"]["iv_rank"] == 52.63


def test_run_daily_fills_both_documents_and_dgpi_uses_iv_rank(db, logs):
    build_iv_history_market()
    summary = run_daily(db.session_factory, BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[-1])))
    assert summary.exit_code == 0
    with db.session() as s:
        rows = s.execute(select(DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json)).all()
    assert len(rows) == 21
    assert all(d is not None and v is not None for d, v in rows)
    dealer = docs(db, "dealer_metrics_json", SESSIONS[-1])["IVX"]
    assert dealer["metadata"]["dgpi_iv_rank"] == 52.63
    first_dealer = docs(db, "dealer_metrics_json", SESSIONS[0])["IVX"]
    assert first_dealer["metadata"]["dgpi_iv_rank"] is None
    assert any(e["event"] == "daily_run_finished" for e in logs)


def build_iv30_market(days):
    """One ticker whose ATM IV at 30 days exists every session: expiries 20 and 40 days out."""
    ticker = TickerFactory(symbol="ATM", id=ticker_uuid("ATM"))
    WatchlistFactory(symbol="ATM")
    for i, day in enumerate(days):
        OhlcvFactory(ticker=ticker, date=day, close=100.0)
        level = 0.20 + 0.01 * ((i * 7) % 20)
        for dte in (20, 40):
            for strike, call_delta in ((95.0, 0.7), (100.0, 0.5), (105.0, 0.3)):
                for option_type in ("C", "P"):
                    OptionContractFactory(
                        ticker=ticker,
                        time=chain_time(day),
                        expiration_date=day + dt.timedelta(days=dte),
                        strike_price=strike,
                        option_type=option_type,
                        implied_volatility=level + (0.01 if dte == 40 else 0.0),
                        delta=call_delta if option_type == "C" else call_delta - 1,
                    )


def test_iv30_history_carries_forward_in_a_range_exactly_as_date_by_date(db):
    build_iv30_market(SESSIONS)
    run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(start=SESSIONS[0], end=SESSIONS[-1])))
    ranged = all_docs(db)
    written = [docs(db, day=d)["ATM"]["metrics"]["atm_iv_30d"] for d in SESSIONS]
    assert all(v is not None for v in written)
    last = docs(db, day=SESSIONS[-1])["ATM"]["metrics"]
    history = written[:-1]  # 20 earlier sessions: enough for a rank
    assert last["iv30_rank"] == round((written[-1] - min(history)) / (max(history) - min(history)) * 100, 2)
    assert last["iv30_percentile"] == round(sum(v <= written[-1] for v in history) / len(history) * 100, 2)
    with db.session_factory.begin() as s:
        s.execute(delete(DailySnapshot))
    for day in SESSIONS:
        run_volatility_metrics(db.session_factory, BatchOptions(dates=DateSelection(day=day)))
    assert all_docs(db) == ranged
