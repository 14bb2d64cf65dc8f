"""SPEC §8.1 on both backends: every row accounted for, values that do not fit rejected and counted,
the same file storing the same rows and giving the same documents on SQLite and PostgreSQL, and
damaged files loading nothing while the others load."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import tracemalloc
from pathlib import Path

from sqlalchemy import func, select, text

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.db import make_session_factory
from app.importers.cboe_import import run_cboe_import
from app.importers.csv_import import run_import
from app.repositories.orm import DailySnapshot, Ohlcv, OptionContract, Ticker
from app.services.daily import run_daily
from tests.realdata import oracle

HEADER = "time,symbol,expiration_date,strike_price,option_type,bid,ask,last,volume,open_interest,implied_volatility,delta,gamma,theta,vega\n"  # noqa: E501
STAMP = "2024-01-02T21:15:00+00:00"


def _row(strike, kind="C", *, symbol="AAA", bid="1.00", oi="500", volume="10", gamma="0.05") -> str:
    delta = "0.5" if kind == "C" else "-0.5"
    return f"{STAMP},{symbol},2024-01-19,{strike},{kind},{bid},1.05,1.02,{volume},{oi},0.30,{delta},{gamma},-0.01,0.1\n"


# 30 clean contracts (strikes 100..114, calls and puts), then one of each hostile value of the issue
CLEAN = "".join(_row(k, t) for k in range(100, 115) for t in "CP")
HOSTILE = [
    (_row("107.00001"), "out_of_range"),  # numeric(12,4) would round both onto 107.0000
    (_row("107.00002"), "out_of_range"),
    (_row(120, oi="1e30"), "out_of_range"),  # beyond a 32-bit integer
    (_row(121, volume="3000000000"), "out_of_range"),
    (_row("1e9"), "out_of_range"),  # beyond numeric(12,4)
    (_row(122, bid="1e9"), "out_of_range"),
    (_row(123, symbol="ß" * 12), "out_of_range"),  # 12 characters, 24 once upper-cased
    (f"{STAMP},AAA,2024-01-19,124,C,1.0\n", "fewer_fields"),  # short, but not the last line
]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _hostile_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "hostile.csv", HEADER + CLEAN + "".join(r for r, _ in HOSTILE) + _row(114.5, "P"))


def test_every_row_is_accounted_for_and_values_that_do_not_fit_are_rejected(db, tmp_path, logs):
    summary = run_import(db.session_factory, "options-chains", _hostile_file(tmp_path))
    assert summary.exit_code == 0
    assert summary.accounted
    assert (summary.rows_read, summary.loaded, summary.rejected) == (39, 31, 8)
    assert summary.reasons == {"out_of_range": 7, "fewer_fields": 1}
    assert [line for line, _ in summary.rejects] == list(range(32, 40))
    assert "more than 4 decimals" in summary.rejects[0][1]
    assert "once upper-cased" in summary.rejects[6][1]
    finished = next(e for e in logs if e["event"] == "import_finished")
    assert (finished["rows_read"], finished["loaded"], finished["rejected"], finished["accounted"]) == (39, 31, 8, True)
    assert finished["rejected_by_reason"] == {"fewer_fields": 1, "out_of_range": 7}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 31
        assert s.scalars(select(Ticker.symbol)).all() == ["AAA"]


def test_the_same_file_stores_the_same_rows_and_documents_on_both_backends(migrated_engines, tmp_path):
    options = _hostile_file(tmp_path)
    bars = _write(tmp_path / "bars.csv", "symbol,date,close\nAAA,2024-01-02,107\n")
    watch = _write(tmp_path / "watch.csv", "watchlist_id,symbol\ncore,AAA\n")
    stored, documents = {}, {}
    for backend, (_url, engine) in migrated_engines.items():
        factory = make_session_factory(engine)
        try:
            for kind, path in (("options-chains", options), ("ohlcv", bars), ("watchlist", watch)):
                assert run_import(factory, kind, path).exit_code == 0
            assert run_daily(factory, BatchOptions(dates=DateSelection(day=dt.date(2024, 1, 2)))).exit_code == 0
            with factory() as s:
                oc = OptionContract
                stored[backend] = s.execute(
                    select(
                        oc.expiration_date, oc.strike_price, oc.option_type, oc.open_interest, oc.volume, oc.bid
                    ).order_by(oc.strike_price, oc.option_type)
                ).all()
                row = s.execute(select(DailySnapshot.dealer_metrics_json, DailySnapshot.volatility_metrics_json)).one()
                documents[backend] = [json.dumps(doc, sort_keys=True) for doc in row]
        finally:
            with engine.begin() as conn:
                for table in ("daily_snapshots", "options_chains", "ohlcv", "watchlists", "tickers"):
                    conn.execute(text(f"DELETE FROM {table}"))
    assert stored["sqlite"] == stored["postgresql"]
    assert len(stored["sqlite"]) == 31
    assert documents["sqlite"] == documents["postgresql"]
    dealer = json.loads(documents["sqlite"][0])
    # 31 clean contracts, all eligible: DTE 17, OI 500, volume 10, spread 0.05/1.025 = 4.9 %
    assert dealer["eligible_options_count"] == 31


def test_an_ohlcv_bar_with_other_values_is_a_conflicting_duplicate(db, tmp_path):
    first = _write(tmp_path / "a.csv", "symbol,date,open,close\nAAA,2024-01-02,10,11\nAAA,2024-01-03,11,12\n")
    assert run_import(db.session_factory, "ohlcv", first).loaded == 2
    other = _write(tmp_path / "b.csv", "symbol,date,open,close\nAAA,2024-01-02,10,11\nAAA,2024-01-03,11,12.5\n")
    summary = run_import(db.session_factory, "ohlcv", other)
    assert (summary.loaded, summary.already_present, summary.rejected, summary.accounted) == (0, 1, 1, True)
    assert summary.rejects == [(3, "conflicting_duplicate: key loaded with other close")]
    with db.session() as s:
        assert s.scalars(select(Ohlcv.close).order_by(Ohlcv.date)).all() == [11, 12]  # the stored bar is kept


# ------------------------------------------------------------------ damaged files


def _nvda_lines() -> list[bytes]:
    with gzip.open(oracle.DATA / "nvda_20250106.csv.gz", "rb") as handle:
        return handle.read().splitlines(keepends=True)


def test_damaged_downloads_load_nothing_and_the_good_one_loads(db, tmp_path, logs):
    good = oracle.DATA / "nvda_20250106.csv.gz"
    whole = gzip.compress(b"".join(_nvda_lines()))
    cut_gz = _write(tmp_path / "cut.csv.gz", whole[: len(whole) // 2])
    lines = _nvda_lines()
    text_bytes = b"".join(lines)
    cut_plain = _write(tmp_path / "cut.csv", text_bytes[: len(text_bytes) // 2])  # ends inside a line
    no_header = _write(tmp_path / "noheader.csv", b"".join(lines[4:]))
    summaries = run_cboe_import(db.session_factory, [cut_gz, good, cut_plain, no_header])
    assert [s.exit_code for s in summaries] == [1, 0, 1, 1]
    assert "gzip stream ends early" in summaries[0].failure
    assert str(cut_gz) in summaries[0].failure
    assert "is cut short" in summaries[2].failure
    assert str(cut_plain) in summaries[2].failure
    assert "Expiration Date" in summaries[3].failure
    assert summaries[1].loaded == 2 * 543
    assert all(s.accounted for s in summaries)
    assert summaries[0].loaded == 0
    assert summaries[0].rejected == summaries[0].rows_read > 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 2 * 543  # the good file only
    assert sum(1 for e in logs if e["event"] == "import_failed") == 3


def test_a_csv_that_ends_early_or_is_not_utf8_loads_nothing(db, tmp_path):
    cut = _write(tmp_path / "cut.csv", HEADER + CLEAN + f"{STAMP},AAA,2024-01-19,1")
    summary = run_import(db.session_factory, "options-chains", cut)
    assert summary.exit_code == 1
    assert "last line (32) has fewer fields" in summary.failure
    assert (summary.loaded, summary.rejected, summary.reasons) == (0, 31, {"damaged_file": 31})
    latin_row = _row(99, symbol="AAÉ").encode("latin-1")
    latin = _write(tmp_path / "latin.csv", (HEADER + _row(100) + _row(101)).encode() + latin_row)
    summary = run_import(db.session_factory, "options-chains", latin)
    assert summary.exit_code == 1
    assert "line 4: byte 0xc9" in summary.failure
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 0


def test_a_decompression_bomb_is_rejected_before_it_fills_memory(db, tmp_path):
    line = b"," * 60_000 + b"\n"  # compresses about 1000-fold
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as handle:
        handle.write(HEADER.encode())
        for _ in range(3_000):  # 180 MB inflated
            handle.write(line)
    tracemalloc.start()
    try:
        summary = run_import(db.session_factory, "options-chains", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.exit_code == 1
    assert "decompresses beyond" in summary.failure
    assert peak < 40 * 2**20  # the cap is 200× a ~200 KB file; nothing accumulates


def test_repeated_lines_do_not_accumulate(db, tmp_path):
    lines = _nvda_lines()
    repeated = _write(tmp_path / "repeated.csv", b"".join(lines[:4]) + lines[4] * 20_000)
    tracemalloc.start()
    try:
        summary = run_cboe_import(db.session_factory, [repeated])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.loaded, summary.already_present, summary.rows_read, summary.accounted) == (2, 39_998, 40_000, True)
    assert peak < 20 * 2**20  # 40,000 kept contracts would take ~60 MB
