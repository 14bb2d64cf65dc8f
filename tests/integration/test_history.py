"""`kapman history` over stored documents, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib

import numpy as np
from sqlalchemy import event, select
from typer.testing import CliRunner

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.reporting.history import build_history, load_histories
from app.reporting.history_chart import history_figure
from app.repositories.orm import DailySnapshot, Ohlcv, Ticker
from app.sample.market import run_sample_data
from app.services.daily import run_daily
from cli.main import app
from tests.integration.market import DAY, NEXT_DAY, add_chain, build_sessions

runner = CliRunner()


@contextlib.contextmanager
def counted_statements(engine):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_history_reads_in_a_constant_number_of_queries(db):
    days = [DAY, NEXT_DAY]
    tickers = build_sessions(days)
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(start=DAY, end=NEXT_DAY)))
    with db.session() as session:
        ids = {symbol: ticker.id for symbol, ticker in tickers.items()}
        with counted_statements(db.engine) as one:
            load_histories(session, {"AAA": ids["AAA"]}, DAY, NEXT_DAY)
        with counted_statements(db.engine) as five:
            histories = load_histories(session, ids, DAY, NEXT_DAY)
    assert len(one) == len(five) == 2  # the documents, the closes: not one query per ticker or session
    assert histories["CCC"].sessions == days
    np.testing.assert_array_equal(histories["CCC"].spot, [100.0, 101.0])  # build_sessions: close 100 + i


def test_history_over_a_60_session_sample_market(db, tmp_path):
    sample = run_sample_data(db.session_factory, tickers=5, days=60)
    options = BatchOptions(dates=DateSelection(start=sample.sessions[0], end=sample.sessions[-1]), watchlist="sample")
    assert run_daily(db.session_factory, options).exit_code == 0
    with db.session() as session:
        symbol = session.scalars(select(Ticker.symbol).where(Ticker.symbol.not_in(["NOOPT", "THIN", "GAPPY"]))).first()
        closes = session.execute(
            select(Ohlcv.close).join(Ticker, Ticker.id == Ohlcv.ticker_id).where(Ticker.symbol == symbol)
            .order_by(Ohlcv.date)
        ).scalars().all()  # fmt: skip
        stored = session.execute(
            select(DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json)
            .join(Ticker, Ticker.id == DailySnapshot.ticker_id).where(Ticker.symbol == symbol)
            .order_by(DailySnapshot.time)
        ).all()  # fmt: skip
    result = runner.invoke(
        app, ["history", symbol.lower(), "--db-url", db.url, "--out", str(tmp_path), "--log-format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    path = tmp_path / f"{symbol}_{sample.sessions[0]}_{sample.sessions[-1]}_history.png"
    assert result.stdout.strip() == str(path)
    assert path.read_bytes()[:4] == b"\x89PNG"

    history = build_history(db.session_factory, symbol)
    assert history.sessions == sample.sessions
    assert len(stored) == 60
    levels, _, iv, rank, move = history_figure(history).axes[:5]
    lines = {line.get_label(): line.get_ydata() for line in levels.lines}
    np.testing.assert_allclose(lines["spot (close)"], [float(c) for c in closes])
    zero = np.array([d["levels"]["zero_gamma"] if d["levels"]["zero_gamma"] is not None else np.nan for d, _ in stored])
    near = np.abs(zero / history.spot - 1) <= 0.15
    np.testing.assert_allclose(lines["zero gamma"], np.where(near, zero, np.nan))
    np.testing.assert_allclose(iv.lines[0].get_ydata(), [v["metrics"]["atm_iv_30d"] * 100 for _, v in stored])
    ranks = [v["metrics"]["iv30_rank"] for _, v in stored]
    assert ranks[:20] == [None] * 20
    assert all(r is not None for r in ranks[20:])  # 20 prior sessions needed
    np.testing.assert_allclose(rank.lines[0].get_ydata()[20:], ranks[20:])
    # keys of SPEC §13 are drawn when the documents hold them, and named n/a when not
    hv_drawn = np.isfinite(iv.lines[1].get_ydata()).any()
    assert hv_drawn != any(t.get_text().startswith("n/a: HV20") for t in iv.texts)
    band_drawn = bool(move.collections and len(move.collections[0].get_segments()))
    assert band_drawn != any("no expected_move.front" in t.get_text() for t in move.texts)


def test_history_of_an_unknown_symbol_or_an_empty_range_fails_clearly(db, tmp_path):
    tickers = build_sessions([DAY])
    add_chain(tickers["AAA"], NEXT_DAY)
    base = ["--db-url", db.url, "--out", str(tmp_path), "--log-format", "json"]
    unknown = runner.invoke(app, ["history", "ZZZ", *base])
    assert unknown.exit_code == 1
    assert "unknown symbol ZZZ" in unknown.stderr
    empty = runner.invoke(app, ["history", "AAA", "--end-date", "2024-01-02", *base])
    assert empty.exit_code == 1
    assert "fewer than two stored sessions" in empty.stderr
    backwards = runner.invoke(app, ["history", "AAA", "--start-date", "2024-01-03", "--end-date", "2024-01-02", *base])
    assert backwards.exit_code == 1
    assert "is after" in backwards.stderr
