"""show and report with SPEC §13.4–13.5: IV/HV, the volatility risk premium and the expected move."""

from __future__ import annotations

import math

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.reporting.report import build_report
from app.reporting.show import build_show_table
from app.repositories.tickers import ticker_uuid
from app.services.daily import run_daily
from app.time import previous_sessions
from tests.factories import OhlcvFactory, TickerFactory, WatchlistFactory
from tests.integration.market import DAY, THREE_STRIKES, add_chain

A = math.log(1.1)


def _straddle_market():
    """STR: the hand chain plus a put at 100 (a straddle at spot), IV 0.30 on both expiries (DTE 17, 45),
    and 21 closes alternating 100, 110, …, 100 ending on DAY."""
    ticker = TickerFactory(symbol="STR", id=ticker_uuid("STR"))
    WatchlistFactory(symbol="STR")
    add_chain(ticker, DAY, contracts=(*THREE_STRIKES, ("P", 100.0, 0.05, 1000)))
    for i, day in enumerate(previous_sessions(DAY, 21)):
        close = 100.0 if i % 2 == 0 else 110.0
        OhlcvFactory(ticker=ticker, date=day, open=close, high=close, low=close, close=close)


def test_show_and_the_document_give_iv_hv_vrp_and_the_front_move(db):
    _straddle_market()
    assert run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY))).exit_code == 0
    row = {r.symbol: r for r in build_show_table(db.session_factory, DAY).rows}["STR"]
    # 20 returns ±ln 1.1 alternating: mean 0, sample variance 20a²/19, HV20 = a·√(20/19 · 252) = 1.55231
    hv20 = A * math.sqrt(20 / 19 * 252)
    assert row.atm_iv_30d == 0.3
    assert row.iv_hv_ratio == round(0.3 / hv20, 4) == 0.1933
    assert row.vrp_30d == round((0.3 - hv20) * 100, 2) == -125.23
    # call and put mids 1.025 each at the 100 strike: a 2.05 straddle, ±2.05% of spot 100
    assert (row.move_pct, row.move_expiry) == (2.05, "2024-01-19")


def test_report_draws_the_expected_move_band_on_the_smile(db):
    _straddle_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY)))
    smile_ax = build_report(db.session_factory, "STR", DAY).figures["volatility"].axes[0]
    bands = [p for p in smile_ax.patches if p.get_label().startswith("front straddle")]
    assert len(bands) == 1
    assert bands[0].get_label() == "front straddle ±2.05% (2024-01-19)"
    x0, x1 = bands[0].get_x(), bands[0].get_x() + bands[0].get_width()
    assert (round(x0, 2), round(x1, 2)) == (97.95, 102.05)
    # 30-day 1σ move: 100 · 0.30 · √(30/365) = 8.60, drawn as two dashed lines
    dashed = sorted(round(float(line.get_xdata()[0]), 2) for line in smile_ax.lines if line.get_linestyle() == "--")
    assert dashed == [91.4, 108.6]
