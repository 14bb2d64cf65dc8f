"""Imports as real processes (SPEC §8.1): two imports of one snapshot at once never leave a mix of both
files, and SIGINT/SIGTERM end an import with its summary so far and exit 130/143, nothing of the
interrupted file written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.repositories.orm import OptionContract

ROOT = Path(__file__).resolve().parents[2]
HEADER = "time,symbol,expiration_date,strike_price,option_type,bid,ask,volume,open_interest,gamma\n"


def _snapshot(path: Path, rows: int, open_interest: int) -> Path:
    """One snapshot of `rows` contracts; every row carries the same open interest."""
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            strike = 50 + (i // 2) * 0.5
            out.write(f"2024-01-02T21:15:00+00:00,BIG,2024-02-16,{strike},{'CP'[i % 2]},1,1.1,5,{open_interest},0.01\n")
    return path


def _import(url: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = ["import", "options-chains", str(path), "--db-url", url, "--log-format", "json"]
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _events(stderr: str) -> dict[str, dict]:
    return {e["event"]: e for e in (json.loads(line) for line in stderr.splitlines() if line.startswith("{"))}


def test_two_imports_of_one_snapshot_at_once_never_mix(db, tmp_path):
    rows = 20_000
    first, second = _snapshot(tmp_path / "a.csv", rows, 100), _snapshot(tmp_path / "b.csv", rows, 200)
    processes = [_import(db.url, first), _import(db.url, second)]
    results = [(p.wait(timeout=600), _events(p.communicate()[1])) for p in processes]
    assert [code for code, _ in results] == [0, 0]
    summaries = [events["import_finished"] for _, events in results]
    assert all(s["rows_read"] == rows and s["accounted"] for s in summaries)
    # one loaded everything; the other found every key stored with another open interest
    assert sorted((s["loaded"], s["rejected"]) for s in summaries) == [(0, rows), (rows, 0)]
    loser = next(s for s in summaries if s["loaded"] == 0)
    assert loser["rejected_by_reason"] == {"conflicting_duplicate": rows}
    with db.session() as s:
        stored = s.execute(select(func.count(), func.count(func.distinct(OptionContract.open_interest)))).one()
    assert tuple(stored) == (rows, 1)  # one file's values, never a mix


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_an_import_with_its_summary_and_nothing_half_loaded(db, tmp_path, signum, code):
    path = _snapshot(tmp_path / "big.csv", 150_000, 100)
    process = _import(db.url, path)
    started = time.monotonic()
    lines = []
    assert process.stderr is not None
    for line in process.stderr:  # the file's transaction is open once this is logged
        lines.append(line)
        if '"import_started"' in line:
            break
    time.sleep(1.0)
    assert process.poll() is None, "the import finished before it could be interrupted"
    process.send_signal(signum)
    assert process.wait(timeout=60) == code
    assert time.monotonic() - started < 120
    events = _events("".join(lines) + process.stderr.read())
    interrupted = events["import_interrupted"]
    assert interrupted["signal"] == signal.Signals(signum).name
    assert interrupted["exit_code"] == code
    assert 0 < interrupted["rows_read"] <= 150_000
    assert interrupted["loaded"] == 0
    assert interrupted["accounted"]
    assert interrupted["rejected_by_reason"] == {"interrupted": interrupted["rows_read"]}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 0
