"""The `kapman` commands through Typer's CliRunner: happy paths, usage errors, batch failures, logging."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.db import make_session_factory
from app.logging import ALWAYS_SHOWN_EVENTS, resolve_level
from app.repositories.orm import DailySnapshot
from cli.main import app

runner = CliRunner()
SAMPLE_END = "2026-11-20"


def events(result) -> list[dict]:
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def sample_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db-url", url]).exit_code == 0
    result = runner.invoke(
        app, ["sample-data", "--tickers", "6", "--days", "2", "--db-url", url, "--log-format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    return url


def test_db_upgrade_twice_and_masks_the_password(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = runner.invoke(app, ["db", "upgrade", "--db-url", url, "--log-format", "json"])
    second = runner.invoke(app, ["db", "upgrade", "--db-url", url, "--log-format", "json"])
    assert first.exit_code == second.exit_code == 0
    assert events(first)[-1]["changed"] is True
    assert events(second)[-1]["changed"] is False


def test_dead_database_is_exit_1_without_the_password():
    result = runner.invoke(
        app,
        [
            "dealer-metrics",
            "--db-url",
            "postgresql://kapman:hunter2@127.0.0.1:1/db",
            "--date",
            "2024-01-02",
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 1
    assert "hunter2" not in result.output + result.stderr
    failure = [e for e in events(result) if e["event"] == "batch_failed"]
    assert failure
    assert failure[0]["reason"].startswith("database unavailable")


@pytest.mark.parametrize("command", ["dealer-metrics", "vol-metrics", "run-daily"])
def test_metric_commands_complete_on_the_sample_market(sample_db, command):
    result = runner.invoke(
        app,
        [
            command,
            "--db-url",
            sample_db,
            "--start-date",
            "2026-11-19",
            "--end-date",
            SAMPLE_END,
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    logged = events(result)
    assert logged[-1]["event"] in ("batch_finished", "daily_run_finished")
    with make_session_factory(sample_db)() as s:
        assert s.scalar(select(func.count()).select_from(DailySnapshot)) == 6 * 2


def test_overrides_are_logged_and_stored(sample_db):
    result = runner.invoke(
        app,
        [
            "dealer-metrics",
            "--db-url",
            sample_db,
            "--date",
            SAMPLE_END,
            "--min-open-interest",
            "50",
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0
    started = next(e for e in events(result) if e["event"] == "batch_started")
    assert started["overrides"] == ["min_open_interest"]
    assert started["params"]["min_open_interest"] == 50
    with make_session_factory(sample_db)() as s:
        doc = s.scalars(select(DailySnapshot.dealer_metrics_json)).first()
    assert doc["metadata"]["overrides"] == ["min_open_interest"]
    assert doc["metadata"]["params"]["min_open_interest"] == 50


@pytest.mark.parametrize(
    "args",
    [
        ["--start-date", "2024-01-05", "--end-date", "2024-01-01"],
        ["--start-date", "2024-01-01"],
        ["--end-date", "2024-01-01"],
        ["--date", "2024-13-01"],
        ["--shard", "3/2"],
        ["--shard", "x"],
        ["--min-open-interest", "-1"],
        ["--max-spread-pct", "-0.5"],
        ["--gex-slope-range-pct", "0"],
        ["--spot-override", "-5"],
        ["--spot-override", "abc"],
        ["--sign-convention", "retail"],
        ["--snapshot-time", "2024-01-02T10:00:00"],
        ["--heartbeat", "0"],
        ["--log-level", "LOUD"],
    ],
)
def test_bad_flags_are_usage_errors(args):
    result = runner.invoke(app, ["dealer-metrics", "--db-url", "sqlite:///unused.db", *args])
    assert result.exit_code == 2, result.output
    assert "Error" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args", [["--lookback", "10", "--min-history", "20"], ["--start-date", "2024-01-01"], ["--lookback", "0"]]
)
def test_vol_usage_errors(args):
    result = runner.invoke(app, ["vol-metrics", "--db-url", "sqlite:///unused.db", *args])
    assert result.exit_code == 2


def test_date_overrides_a_range(sample_db):
    result = runner.invoke(
        app,
        [
            "vol-metrics",
            "--db-url",
            sample_db,
            "--date",
            SAMPLE_END,
            "--start-date",
            "2026-11-01",
            "--end-date",
            "2026-11-10",
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0
    started = next(e for e in events(result) if e["event"] == "batch_started")
    assert started["date"] == SAMPLE_END


def test_snapshot_time_timestamp_is_used_as_is(sample_db):
    result = runner.invoke(
        app,
        [
            "vol-metrics",
            "--db-url",
            sample_db,
            "--snapshot-time",
            "2026-11-20T22:00:00+00:00",
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0
    with make_session_factory(sample_db)() as s:
        times = set(s.scalars(select(DailySnapshot.time)))
    assert [t.isoformat() for t in times] == ["2026-11-20T22:00:00+00:00"]


def test_quiet_keeps_only_warnings_and_batch_start_end(sample_db):
    result = runner.invoke(
        app,
        [
            "vol-metrics",
            "--db-url",
            sample_db,
            "--date",
            SAMPLE_END,
            "--quiet",
            "--log-format",
            "json",
            "--heartbeat",
            "1",
        ],
    )
    names = {e["event"] for e in events(result)}
    assert {"batch_started", "batch_finished", "unknown_symbol"} <= names
    assert "heartbeat" not in names
    assert "data_gap" not in names


def test_verbose_and_debug(sample_db):
    verbose = runner.invoke(
        app,
        ["dealer-metrics", "--db-url", sample_db, "--date", SAMPLE_END, "--verbose", "--log-format", "json"],
    )
    done = [e for e in events(verbose) if e["event"] == "ticker_done"]
    assert len(done) == 6
    assert {e["level"] for e in done} == {"info"}
    debug = runner.invoke(
        app,
        ["dealer-metrics", "--db-url", sample_db, "--date", SAMPLE_END, "--debug", "--log-format", "json"],
    )
    assert {e["level"] for e in events(debug) if e["event"] == "ticker_done"} == {"info"}
    details = [e for e in events(debug) if e["event"] == "ticker_details"]
    assert len(details) == 6
    assert {"filter_stats", "gex_net", "dgpi_iv_rank"} <= set(details[0])
    plain = runner.invoke(app, ["dealer-metrics", "--db-url", sample_db, "--date", SAMPLE_END, "--log-format", "json"])
    assert not [e for e in events(plain) if e["event"] in ("ticker_done", "ticker_details")]


def test_heartbeat_every_n_tickers(sample_db):
    result = runner.invoke(
        app,
        [
            "dealer-metrics",
            "--db-url",
            sample_db,
            "--date",
            SAMPLE_END,
            "--heartbeat",
            "2",
            "--log-format",
            "json",
        ],
    )
    beats = [(e["done"], e["total"]) for e in events(result) if e["event"] == "heartbeat"]
    assert beats == [(2, 6), (4, 6), (6, 6)]


def test_console_format(sample_db):
    result = runner.invoke(
        app, ["dealer-metrics", "--db-url", sample_db, "--date", SAMPLE_END, "--log-format", "console"]
    )
    assert result.exit_code == 0
    assert "batch_finished" in result.stderr
    assert not result.stderr.startswith("{")


def test_import_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'imp.db'}"
    runner.invoke(app, ["db", "upgrade", "--db-url", url])
    csv = tmp_path / "tickers.csv"
    csv.write_text("symbol,name\nAAA,A\n,missing\n")
    loose = runner.invoke(app, ["import", "tickers", str(csv), "--db-url", url, "--log-format", "json"])
    assert loose.exit_code == 0
    finished = events(loose)[-1]
    assert (finished["loaded"], finished["rejected"]) == (1, 1)
    strict = runner.invoke(app, ["import", "tickers", str(csv), "--db-url", url, "--strict", "--log-format", "json"])
    assert strict.exit_code == 1
    for kind in ("watchlist", "ohlcv", "options-chains"):
        missing = runner.invoke(app, ["import", kind, str(tmp_path / "none.csv"), "--db-url", url])
        assert missing.exit_code == 1


def test_unexpected_error_is_one_line_and_exit_1(sample_db, monkeypatch):
    import app.services.volatility_metrics as service

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "run_volatility_metrics", boom)  # the command imports it when it runs
    result = runner.invoke(app, ["vol-metrics", "--db-url", sample_db, "--date", SAMPLE_END, "--log-format", "json"])
    assert result.exit_code == 1
    assert events(result)[-1] == {
        **events(result)[-1],
        "event": "command_failed",
        "error": "RuntimeError: disk on fire",
    }


def test_bad_database_url_is_a_usage_error():
    result = runner.invoke(app, ["dealer-metrics", "--db-url", "nosuchdriver://x/y", "--date", "2024-01-02"])
    assert result.exit_code == 2


def test_level_resolution():
    assert resolve_level(None, False, False, False) == logging.INFO
    assert resolve_level(None, False, True, False) == logging.DEBUG
    assert resolve_level(None, False, False, True) == logging.WARNING
    assert resolve_level("warning", False, True, False) == logging.WARNING
    assert "batch_started" in ALWAYS_SHOWN_EVENTS


def test_import_into_a_dead_database_hides_the_password(tmp_path):
    csv = tmp_path / "tickers.csv"
    csv.write_text("symbol\nAAA\n")
    result = runner.invoke(
        app,
        ["import", "tickers", str(csv), "--db-url", "postgresql://u:sw0rdfish@127.0.0.1:1/x", "--log-format", "json"],
    )
    assert result.exit_code == 1
    assert "sw0rdfish" not in result.stdout + result.stderr
    assert any(e["event"] == "import_failed" and e["reason"].startswith("database error") for e in events(result))


def test_import_cboe_onto_a_watchlist_then_run_daily_and_show(tmp_path):
    url = f"sqlite:///{tmp_path / 'cboe.db'}"
    spy = Path(__file__).resolve().parents[1] / "data" / "cboe" / "spy_20230914.csv.gz"
    assert runner.invoke(app, ["db", "upgrade", "--db-url", url]).exit_code == 0
    flags = ["--db-url", url, "--log-format", "json"]
    imported = runner.invoke(app, ["import", "cboe", str(spy), "--watchlist", "real", *flags])
    assert imported.exit_code == 0, imported.stderr
    (finished,) = [e for e in events(imported) if e["event"] == "cboe_import_finished"]
    assert (finished["symbol"], finished["watchlist"], finished["rejected"]) == ("SPY", "real", 0)
    again = runner.invoke(app, ["import", "cboe", str(spy), "--watchlist", "real", *flags])
    assert again.exit_code == 0
    assert [e["loaded"] for e in events(again) if "loaded" in e] == [0]

    ran = runner.invoke(app, ["run-daily", "--date", "2023-09-14", "--watchlist", "real", *flags])
    assert ran.exit_code == 0, ran.stderr
    (daily,) = [e for e in events(ran) if e["event"] == "daily_run_finished"]
    assert daily["tickers"] == 1
    assert daily["dealer"]["success"] == 1
    shown = runner.invoke(app, ["show", "--date", "2023-09-14", "--format", "json", *flags])
    (row,) = json.loads(shown.stdout)["rows"]
    assert row["symbol"] == "SPY"
    assert row["call_gex_wall"] == row["put_gex_wall"] == 450.0
