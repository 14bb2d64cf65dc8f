"""`kapman import` of KapMan CSV files: bad rows, --strict, tickers and watchlists, bad files, duplicates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.importers.csv_import import run_import
from app.repositories.orm import Ohlcv, OptionContract, Ticker, Watchlist


def _write(path, text_content):
    path.write_text(text_content)
    return path


def test_import_rejects_bad_rows_and_loads_the_rest_idempotently(db, tmp_path, logs):
    options = _write(
        tmp_path / "options.csv",
        "\n".join(
            [
                "time,symbol,expiration_date,strike_price,option_type,bid,ask,last,volume,open_interest,implied_volatility,delta,gamma,theta,vega",
                "2024-01-02T21:15:00+00:00,aapl,2024-01-19,100,C,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,100,P,1.0,1.1,1.05,10,500,0.3,-0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-13-19,105,C,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,105,X,1.0,1.1,1.05,10,500,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,110,C,1.0,1.1,1.05,10,-5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,115,C,1.0,1.1,1.05,10,lots,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00:00,AAPL,2024-01-19,NaN,C,1.0,1.1,1.05,10,5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02 16:15:00,AAPL,2024-01-19,120,C,1.0,1.1,1.05,10,5,0.3,0.5,0.05,-0.1,0.2",
                "2024-01-02T21:15:00+00,AAPL,2024-01-19,125,C,,,,,,,,,,",
            ]
        )
        + "\n",
    )
    summary = run_import(db.session_factory, "options-chains", options)
    assert (summary.rows_read, summary.loaded, summary.rejected, summary.exit_code) == (9, 3, 6, 0)
    assert [line for line, _ in summary.rejects] == [4, 5, 6, 7, 8, 9]
    reasons = dict(summary.rejects)
    assert "expiration_date is not a date" in reasons[4]
    assert "option_type must be C or P" in reasons[5]
    assert "open_interest is negative" in reasons[6]
    assert "open_interest is not a number" in reasons[7]
    assert "strike_price is not finite" in reasons[8]
    assert "no UTC offset" in reasons[9]
    assert sum(1 for e in logs if e["event"] == "row_rejected") == 6
    again = run_import(db.session_factory, "options-chains", options)
    assert (again.loaded, again.already_present) == (0, 3)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OptionContract)) == 3
        assert s.scalars(select(Ticker.symbol)).all() == ["AAPL"]
        row = s.scalars(select(OptionContract).where(OptionContract.strike_price == 125)).one()
        assert row.gamma is None
        assert row.open_interest is None


def test_strict_import_writes_nothing(db, tmp_path):
    path = _write(
        tmp_path / "ohlcv.csv",
        "symbol,date,open,high,low,close,volume\nAAA,2024-01-02,1,2,0.5,1.5,100\nAAA,2024-01-03,1,2,0.5,,100\n",
    )
    summary = run_import(db.session_factory, "ohlcv", path, strict=True)
    assert summary.exit_code == 1
    assert "nothing written" in summary.failure
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ohlcv)) == 0
        assert s.scalar(select(func.count()).select_from(Ticker)) == 0
    loaded = run_import(db.session_factory, "ohlcv", path)
    assert (loaded.loaded, loaded.rejected) == (1, 1)


def test_import_tickers_and_watchlist(db, tmp_path):
    tickers = _write(tmp_path / "t.csv", "symbol,name,sector,is_active\nmsft,Microsoft,Tech,true\nX,,,maybe\n")
    watch = _write(
        tmp_path / "w.csv",
        "watchlist_id,symbol,active,source,effective_date\ncore,MSFT,1,manual,2024-01-01\n"
        "core,GHOST,,manual,\n,NOID,,,\n",
    )
    assert run_import(db.session_factory, "tickers", tickers).rejected == 1
    summary = run_import(db.session_factory, "watchlist", watch)
    assert (summary.loaded, summary.rejected) == (2, 1)
    with db.session() as s:
        assert s.scalars(select(Ticker.symbol)).all() == ["MSFT"]
        assert sorted(s.scalars(select(Watchlist.symbol)).all()) == ["GHOST", "MSFT"]


def test_import_bad_files(db, tmp_path):
    missing = run_import(db.session_factory, "ohlcv", tmp_path / "nope.csv")
    assert missing.exit_code == 1
    assert "no such file" in missing.failure
    header = run_import(db.session_factory, "ohlcv", _write(tmp_path / "h.csv", "symbol,day\nA,2024-01-01\n"))
    assert header.exit_code == 1
    assert "missing column(s) date, close" in header.failure


# ------------------------------------------------------------------ sample data


OPTION_HEADER = (
    "time,symbol,expiration_date,strike_price,option_type,bid,ask,volume,open_interest,implied_volatility,gamma\n"
)
# SPX's AM monthly and SPXW's PM weekly of one third Friday, exported under one key
AM_ROW = "2023-09-14T20:31:00+00:00,SPX,2023-09-15,4500,C,10.0,10.4,5,1000,0.20,0.010\n"
PM_ROW = "2023-09-14T20:31:00+00:00,SPX,2023-09-15,4500,C,10.1,10.3,7,3000,0.16,0.014\n"


def test_a_key_with_other_values_is_a_conflicting_duplicate_never_dropped_silently(db, tmp_path, logs):
    path = _write(tmp_path / "dupes.csv", OPTION_HEADER + AM_ROW + PM_ROW + AM_ROW)
    summary = run_import(db.session_factory, "options-chains", path)
    assert (summary.loaded, summary.already_present, summary.conflicting_duplicates) == (1, 1, 1)
    assert summary.rejects == [(3, "conflicting_duplicate: key loaded with other bid, ask, volume, open_interest, "
                                   "implied_volatility, gamma")]  # fmt: skip
    warning = next(e for e in logs if e["event"] == "row_rejected")
    assert warning["line"] == 3
    assert warning["log_level"] == "warning"
    again = run_import(db.session_factory, "options-chains", _write(tmp_path / "pm.csv", OPTION_HEADER + PM_ROW))
    assert (again.loaded, again.conflicting_duplicates) == (0, 1)  # against the stored row, too


def test_merge_duplicates_applies_the_merge_rule(db, tmp_path):
    path = _write(tmp_path / "dupes.csv", OPTION_HEADER + AM_ROW + PM_ROW)
    summary = run_import(db.session_factory, "options-chains", path, merge_duplicates=True)
    assert (summary.loaded, summary.merged_keys, summary.conflicting_duplicates) == (1, 1, 0)
    with db.session() as s:
        row = s.execute(select(OptionContract)).scalar_one()
    # OI and volume summed; greeks OI-weighted (Σ gamma·OI exact); quotes of the row read last
    assert (row.open_interest, row.volume, row.bid, row.ask) == (4000, 12, 10.1, 10.3)
    assert row.gamma == pytest.approx((0.010 * 1000 + 0.014 * 3000) / 4000)
    assert row.implied_volatility == pytest.approx((0.20 * 1000 + 0.16 * 3000) / 4000)
