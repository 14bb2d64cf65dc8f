"""What a person at a terminal sees: the batch end, the show table at the screen's width, the demo's summary."""

from __future__ import annotations

import io
import json

from rich.console import Console
from typer.testing import CliRunner

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.logging import console_batch_end
from app.reporting.show import COLUMNS, build_show_table
from app.sample.market import run_sample_data
from app.services.daily import run_daily
from cli.main import app
from cli.progress import progress_reporter
from cli.render import HEADERS, render_show_table
from tests.integration.market import DAY, NEXT_DAY, build_market, build_sessions

runner = CliRunner()


def test_a_console_batch_end_gives_the_dates_as_a_range_and_counts_by_outcome_and_reason():
    event = {
        "event": "batch_finished", "job": "dealer_metrics", "dates": ["2024-01-02", "2024-01-03", "2024-01-04"],
        "first_cutoff_utc": "x", "tickers": 4, "processed": 12, "success": 9, "partial": 2, "missing_options": 1,
        "soft_failed": 0, "errors": 0, "soft_failed_symbols": [], "data_gaps": {"no_spot": 1, "no_options": 1,
        "too_few_eligible": 2}, "unknown_symbols": ["GHOST"], "exit_code": 0, "failure": None, "total_seconds": 1.5,
    }  # fmt: skip
    assert console_batch_end(None, "info", dict(event)) == {
        "outcomes": "12 ticker-days: success 9, partial 2, missing_options 1",
        "event": "batch_finished",
        "job": "dealer_metrics",
        "tickers": 4,
        "data_gaps": "too_few_eligible 2, no_options 1, no_spot 1",
        "unknown_symbols": ["GHOST"],
        "total_seconds": 1.5,
        "dates": "2024-01-02..2024-01-04 (3 sessions)",
    }
    other = {"event": "data_gap", "reason": "no_spot", "date": "2024-01-02"}
    assert console_batch_end(None, "info", dict(other)) == other


def test_the_batch_end_on_a_console_is_short_and_in_json_complete(db):
    build_sessions([DAY, NEXT_DAY], symbols=("AAA", "BBB"))
    args = ["run-daily", "--db-url", db.url, "--start-date", "2024-01-02", "--end-date", "2024-01-03"]
    console = runner.invoke(app, [*args, "--log-format", "console"])
    assert console.exit_code == 0, console.stderr
    (end,) = [line for line in console.stderr.splitlines() if "daily_run_finished" in line]
    assert "dates='2024-01-02..2024-01-03 (2 sessions)'" in end
    assert "cutoff" not in end
    # 2 tickers × 2 sessions: no 20 prior sessions for IV rank, no expiry near 90 days for the term structure
    assert "data_gaps='volatility: iv_term_structure:no_back_month_contracts 4, short_history 4'" in end
    logged = runner.invoke(app, [*args, "--log-format", "json"])
    (daily,) = [e for e in map(json.loads, logged.stderr.splitlines()) if e["event"] == "daily_run_finished"]
    assert daily["dates"] == ["2024-01-02", "2024-01-03"]
    assert daily["data_gaps"]["volatility"] == {"short_history": 4, "iv_term_structure:no_back_month_contracts": 4}


def test_show_fits_the_terminal_and_says_what_it_left_out(db):
    build_market()
    run_daily(db.session_factory, BatchOptions(dates=DateSelection(day=DAY)))
    table = build_show_table(db.session_factory, DAY)
    screen = io.StringIO()
    render_show_table(table, "table", Console(file=screen, width=80, force_terminal=True, color_system=None))
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "symbol" in line)
    assert "zero γ" in header
    assert "GEX call" in header
    assert "IV30" in header  # what traders read comes first
    footnote = screen.getvalue().split("Not shown at this width:")[1]
    assert "DGPI" in footnote
    assert "--format json|csv gives every column" in " ".join(footnote.split())
    piped = io.StringIO()  # off a terminal there is no screen to fit: every column
    render_show_table(table, "table", Console(file=piped, width=80))
    piped_header = next(line for line in piped.getvalue().splitlines() if "symbol" in line)
    assert all(HEADERS[name] in piped_header for name in COLUMNS)


def test_the_demo_on_a_console_is_a_summary_not_every_event(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--tickers", "5", "--days", "2", "--log-format", "console"])
    assert result.exit_code == 0, result.stderr
    assert "data_gap" not in result.stderr
    assert "batch_finished" not in result.stderr
    assert "Sample market: 5 tickers × 2 sessions" in result.stdout
    assert "Volatility documents, 10 ticker-days:" in result.stdout
    assert "GHOST" in result.stdout
    assert "Dashboard (open it in a browser, no server needed): kapman-dashboard/index.html" in result.stdout
    assert (tmp_path / "kapman-dashboard" / "index.html").is_file()
    logged = runner.invoke(app, ["demo", "--tickers", "5", "--days", "2", "--log-format", "json"])
    events = [json.loads(line)["event"] for line in logged.stderr.splitlines()]
    assert "data_gap" in events
    assert "batch_finished" in events  # JSON logs stay complete


def test_sample_data_reports_progress_per_session(db):
    calls = []
    run_sample_data(db.session_factory, tickers=5, days=3, progress=lambda *args: calls.append(args))
    assert calls == [(1, 3, "sample sessions"), (2, 3, "sample sessions"), (3, 3, "sample sessions")]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with progress_reporter("console", stream=Terminal()) as progress:
        assert progress is not None
        progress(1, 3, "sample sessions")
        progress(5, 10)  # a second stage starts its own bar
