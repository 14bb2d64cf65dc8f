"""Every threshold flag comes from its model field: one default, one help, one validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from app.batch.dealer_job import DEFAULT_HEARTBEAT as DEALER_HEARTBEAT
from app.batch.volatility_job import DEFAULT_HEARTBEAT as VOLATILITY_HEARTBEAT
from app.domain.models import DealerParams, VolatilityParams
from cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def _registered_defaults(command: str) -> dict[str, object]:
    """Each option of the command as Click registered it (what --help renders)."""
    click_command = get_command(app).commands[command]  # type: ignore[attr-defined]
    return {param.opts[0]: param.default for param in click_command.params if param.opts[0].startswith("--")}


@pytest.mark.parametrize(
    ("command", "models", "heartbeat"),
    [
        ("dealer-metrics", [DealerParams], DEALER_HEARTBEAT),
        ("vol-metrics", [VolatilityParams], VOLATILITY_HEARTBEAT),
        ("run-daily", [DealerParams, VolatilityParams], VOLATILITY_HEARTBEAT),
    ],
)
def test_help_shows_the_model_defaults(command, models, heartbeat):
    registered = _registered_defaults(command)
    for model in models:
        for name, field in model.model_fields.items():
            assert registered["--" + name.replace("_", "-")] == field.default, name
    assert registered["--heartbeat"] == heartbeat
    help_text = runner.invoke(app, [command, "--help"]).stdout
    assert "[default: 90" in help_text or command == "vol-metrics"  # defaults are shown


def _one_ticker_database(tmp_path, name: str) -> str:
    """A migrated database whose watchlist holds one ticker (an empty universe fails the batch)."""
    url = f"sqlite:///{tmp_path / name}"
    runner.invoke(app, ["db", "upgrade", "--db-url", url])
    (tmp_path / "tickers.csv").write_text("symbol\nAAA\n")
    (tmp_path / "watchlist.csv").write_text("watchlist_id,symbol\ncore,AAA\n")
    for kind in ("tickers", "watchlist"):
        assert runner.invoke(app, ["import", kind, str(tmp_path / f"{kind}.csv"), "--db-url", url]).exit_code == 0
    return url


def test_a_run_without_flags_uses_the_model_defaults(tmp_path):
    url = _one_ticker_database(tmp_path, "defaults.db")
    result = runner.invoke(app, ["run-daily", "--db-url", url, "--date", "2024-01-02", "--log-format", "json"])
    started = next(e for e in map(json.loads, result.stderr.splitlines()) if e["event"] == "batch_started")
    assert started["params"]["dealer_metrics"] == {**DealerParams().model_dump(), "spot_override": None}
    assert started["params"]["volatility_metrics"] == VolatilityParams().model_dump()
    assert started["flags"]["heartbeat"] == VOLATILITY_HEARTBEAT
    assert started["overrides"] == []


@pytest.mark.parametrize(
    ("module", "command"),
    [("scripts.run_a3_dealer_metrics", "dealer-metrics"), ("scripts.run_a4_volatility_metrics", "vol-metrics")],
)
def test_kapman_pipeline_entry_points_run_the_same_commands(module, command, tmp_path):
    url = _one_ticker_database(tmp_path, "seed.db")
    result = subprocess.run(
        [sys.executable, "-m", module, "--db-url", url, "--date", "2024-01-02", "--log-format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    finished = [e for e in map(json.loads, result.stderr.splitlines()) if e["event"] == "batch_finished"]
    assert finished
    assert finished[0]["job"] == command.replace("-", "_").replace("vol_", "volatility_")
    bad = subprocess.run([sys.executable, "-m", module, "--heartbeat", "0"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "--heartbeat" in bad.stderr
    assert f"Usage: python -m {module} [OPTIONS]" in bad.stderr  # what a user can type as shown
