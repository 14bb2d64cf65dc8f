"""A help screen imports only Typer, Pydantic and the parameter models (SPEC §11: `kapman --help`
under 0.4 s). Checked by what is imported, which does not depend on the machine's speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "numpy", "psycopg", "structlog", "pandas", "scipy", "matplotlib", "alembic", "rich")


def _modules_after(argv: list[str]) -> set[str]:
    script = (
        "import json, sys\n"
        "from cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True, text=True, check=True)
    assert "Usage:" in result.stdout
    return set(json.loads(result.stderr.splitlines()[-1]))


HELP_SCREENS = [["--help"], ["run-daily", "--help"], ["dealer-metrics", "--help"], ["demo", "--help"]]


@pytest.mark.parametrize("argv", HELP_SCREENS)
def test_help_imports_no_heavy_library(argv):
    loaded = _modules_after(argv)
    assert not [name for name in HEAVY if name in loaded]


def test_the_help_still_shows_the_models_flags_and_defaults():
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "run-daily", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    text = " ".join(result.stdout.split())
    for flag in ("--min-open-interest", "--lookback", "--heartbeat", "--spot-override", "--db-url"):
        assert flag in text
    assert "default: 50" in text  # run-daily's heartbeat is the volatility job's
