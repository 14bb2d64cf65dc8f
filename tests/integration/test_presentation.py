"""show, report and demo: what a person looks at."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.db import make_session_factory
from app.reporting.report import ReportError, build_report, write_report
from app.reporting.show import build_show_table
from app.repositories.orm import DailySnapshot, Ticker, Watchlist
from app.services.daily import run_daily
from cli.main import app
from cli.progress import progress_reporter
from tests.factories import OhlcvFactory
from tests.integration.market import DAY, NEXT_DAY, add_chain, build_market

runner = CliRunner()


def test_show_lists_every_watchlist_symbol_with_a_reason(db):
    build_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY), tickers=("AAA", "THIN", "NOOPT")))
    table = build_show_table(db.session_factory, DAY)
    rows = {r.symbol: r for r in table.rows}
    assert list(rows) == ["AAA", "GHOST", "NOOPT", "NOSPOT", "THIN"]
    aaa = rows["AAA"]
    assert (aaa.dealer_status, aaa.gex_net, aaa.gamma_flip, aaa.call_wall, aaa.put_wall) == (
        "LIMITED",
        -300_000.0,
        103.33,
        105.0,
        95.0,
    )
    assert aaa.average_iv == 0.3
    assert aaa.put_call_oi == 0.8
    assert aaa.note is None
    assert rows["GHOST"].note == "no tickers row (unknown symbol)"
    assert rows["NOSPOT"].note == "no dealer document; no volatility document"  # not processed in this run
    assert "no_options" in rows["NOOPT"].note


@pytest.mark.parametrize("output", ["table", "json", "csv"])
def test_show_formats(db, output):
    build_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY)))
    result = runner.invoke(
        app, ["show", "--db-url", db.url, "--date", "2024-01-02", "--format", output, "--log-format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    if output == "json":
        payload = json.loads(result.stdout)
        assert payload["date"] == "2024-01-02"
        assert [r["symbol"] for r in payload["rows"]] == ["AAA", "GHOST", "NOOPT", "NOSPOT", "THIN"]
    elif output == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["symbol"] for r in rows] == ["AAA", "GHOST", "NOOPT", "NOSPOT", "THIN"]
        assert rows[0]["gex_net"] == "-300000.0"
        assert rows[1]["dealer_status"] == ""
    else:
        for symbol in ("AAA", "GHOST", "NOOPT", "NOSPOT", "THIN"):
            assert symbol in result.stdout
        assert "-0.30" in result.stdout  # net GEX in $ millions


def test_report_figures_carry_the_strikes_spot_flip_and_walls(db, tmp_path):
    build_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY)))
    report = build_report(db.session_factory, "aaa", DAY)
    gex_ax = report.figures["gex"].axes[0]
    bar_centres = sorted({round(p.get_x() + p.get_width() / 2, 6) for p in gex_ax.patches})
    assert bar_centres == [95.0, 100.0, 105.0]
    vertical = {
        round(float(line.get_xdata()[0]), 2)
        for line in gex_ax.lines
        if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2
    }
    assert {100.0, 103.33} <= vertical  # spot and gamma flip
    # strike GEX in $ millions: puts +1.6 at 95, calls -1.0 at 100 and -0.9 at 105 (two expiries each)
    heights = sorted(round(p.get_height(), 6) for p in gex_ax.patches if p.get_height() != 0)
    assert heights == [-1.0, -0.9, 1.6]
    # §12.1 GEX walls: the largest |call GEX| is the 100 strike's, the only put GEX the 95's
    labels = {line.get_label() for line in gex_ax.lines}
    assert {"call GEX wall 100.00", "put GEX wall 95.00"} <= labels
    assert "AAA 2024-01-02" in gex_ax.get_title()
    assert "kapman" in gex_ax.get_title()
    smile_ax, term_ax = report.figures["volatility"].axes[:2]
    assert {int(line.get_label().split()[0]) for line in smile_ax.lines if "days" in line.get_label()} == {17, 45}
    np.testing.assert_allclose(term_ax.lines[0].get_xdata(), [17, 45])
    assert report.skipped["history"] == "AAA: fewer than two sessions with IV30 in the stored documents"
    files = write_report(report, tmp_path)
    assert [f.name for f in files] == ["AAA_2024-01-02_gex.png", "AAA_2024-01-02_volatility.png"]
    for path in files:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000


def test_report_history_over_two_sessions(db):
    tickers = build_market()
    add_chain(tickers["AAA"], NEXT_DAY, iv=0.4)
    OhlcvFactory(ticker=tickers["AAA"], date=NEXT_DAY, close=100.0)  # IV30 is taken at spot
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(start=DAY, end=NEXT_DAY), tickers=("AAA",)))
    report = build_report(db.session_factory, "AAA", NEXT_DAY)
    iv_ax, rank_ax = report.figures["history"].axes[:2]
    # IV30 in percent: both expiries (17 and 45 days) carry the chain's flat IV, so IV30 is that IV
    np.testing.assert_allclose(iv_ax.lines[0].get_ydata(), [30.0, 40.0])
    assert iv_ax.lines[0].get_label().startswith("IV30")
    assert rank_ax.get_ylim() == (-5, 105)  # rank on its own axes


def test_report_without_data_is_a_clear_error(db, tmp_path):
    build_market()
    with pytest.raises(ReportError, match="unknown symbol GHOST"):
        build_report(db.session_factory, "GHOST", DAY)
    report = build_report(db.session_factory, "NOOPT", DAY)
    assert report.figures == {}
    assert "no options snapshot" in report.skipped["gex"]
    result = runner.invoke(
        app,
        [
            "report",
            "NOOPT",
            "--db-url",
            db.url,
            "--date",
            "2024-01-02",
            "--out",
            str(tmp_path / "out"),
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert "no chart had data" in result.stderr


def test_demo_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--tickers", "6", "--days", "3", "--log-format", "json"])
    assert result.exit_code == 0, result.stderr
    named = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("kapman-report/")]
    assert len(named) >= 4
    assert all((tmp_path / name).is_file() for name in named)
    factory = make_session_factory(f"sqlite:///{tmp_path / 'kapman.db'}")
    with factory() as s:
        symbols = set(s.scalars(select(Watchlist.symbol)))
        tickers = set(s.scalars(select(Ticker.symbol)))
        rows = s.execute(
            select(Ticker.symbol, DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json).join(
                DailySnapshot, DailySnapshot.ticker_id == Ticker.id
            )
        ).all()
    assert symbols - tickers == {"GHOST"}
    assert len(rows) == len(tickers) * 3  # every ticker, every session
    assert all(dealer is not None and vol is not None for _, dealer, vol in rows)
    assert "GHOST" in result.stdout  # shown with its reason
    rerun = runner.invoke(app, ["demo", "--tickers", "6", "--days", "3", "--log-format", "json"])
    assert rerun.exit_code == 0


def test_no_progress_bar_off_a_terminal():
    with progress_reporter("console", stream=io.StringIO()) as progress:
        assert progress is None


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with progress_reporter("console", stream=stream) as progress:
        assert callable(progress)
        progress(1, 10)
        progress(10, 10)
    with progress_reporter("json", stream=stream) as progress:
        assert progress is None


def test_show_gives_iv_in_percent_the_sign_convention_and_warns_on_a_non_session(db):
    build_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY)))
    table = runner.invoke(app, ["show", "--db-url", db.url, "--date", "2024-01-02", "--log-format", "json"])
    assert table.exit_code == 0
    assert "GEX kapman sign: calls −, puts +" in table.stdout
    assert "30.0%" in table.stdout  # AAA's IV, 0.30
    saturday = runner.invoke(app, ["show", "--db-url", db.url, "--date", "2024-01-06", "--log-format", "json"])
    assert saturday.exit_code == 0
    assert "(not an NYSE session)" in saturday.stdout
    warning = [json.loads(line) for line in saturday.stderr.splitlines() if "date_not_a_session" in line]
    assert warning
    assert warning[0]["level"] == "warning"


def test_iv_history_is_drawn_by_trading_date_with_gaps_left_open():
    import datetime as dt

    from app.reporting.history import history_from_rows
    from app.reporting.history_chart import with_gaps
    from app.time import snapshot_time

    days = [dt.date(2022, 2, 4), dt.date(2022, 2, 7), dt.date(2023, 9, 14)]  # a 19-month gap
    rows = [
        (
            snapshot_time(d),
            None,
            {"metrics": {"atm_iv_30d": 0.2 + i / 100, "iv30_rank": None}, "metadata": {"snapshot_date": d.isoformat()}},
        )
        for i, d in enumerate(days)
    ]
    data = history_from_rows("AAA", rows, [])
    # the cut-off is 23:59 New York, i.e. the next day in UTC: the chart uses the session's own date
    assert data.sessions == days
    assert snapshot_time(days[0]).date() == dt.date(2022, 2, 5)
    x, values = with_gaps(data.sessions, data["iv30"])
    assert len(x) == 4
    assert np.isnan(values[2])  # a break, not a step across 19 months


@pytest.mark.parametrize(("symbol", "stem"), [("BRK/B", "BRK_B"), ("../../PWN", "____PWN")])
def test_report_files_stay_inside_out_whatever_the_symbol(db, tmp_path, symbol, stem):
    """A symbol is data: a real one holds a '/', a hostile one climbs out of --out."""
    from tests.factories import OhlcvFactory, TickerFactory

    ticker = TickerFactory(symbol=symbol)
    OhlcvFactory(ticker=ticker, date=DAY, close=100.0)
    add_chain(ticker, DAY)
    out = tmp_path / "a" / "b"
    result = runner.invoke(app, ["report", symbol, "--date", DAY.isoformat(), "--out", str(out), "--db-url", db.url])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [str(p) for p in written] == [f"a/b/{stem}_2024-01-02_gex.png", f"a/b/{stem}_2024-01-02_volatility.png"]
