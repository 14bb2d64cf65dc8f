"""The dashboard opened in a real headless browser from the file system: the sample market and the
real Cboe downloads imported into one database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.batch.dates import DateSelection
from app.batch.options import BatchOptions
from app.importers.cboe_import import run_cboe_import
from app.reporting.dashboard import build_dashboard
from app.sample.market import run_sample_data
from app.sample.spec import DEFAULT_WATCHLIST
from app.services.daily import run_daily
from cli.main import app

pytestmark = pytest.mark.browser
CBOE = sorted((Path(__file__).parents[1] / "data" / "cboe").glob("*.csv.gz"))
REAL_SESSIONS = (dt.date(2023, 9, 14), dt.date(2024, 3, 22), dt.date(2025, 1, 6))
runner = CliRunner()

SYMBOLS_JS = "Array.from(document.querySelectorAll('#watchlist tbody tr')).map(r => r.dataset.symbol)"
LINKS_JS = "Array.from(document.querySelectorAll('#watchlist a')).map(a => a.getAttribute('href'))"
IMAGES_JS = "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight])"


@pytest.fixture
def market(sqlite_db):
    sample = run_sample_data(sqlite_db.session_factory, tickers=6, days=22)
    run_daily(
        sqlite_db.session_factory,
        BatchOptions(
            dates=DateSelection(start=sample.sessions[0], end=sample.sessions[-1]), watchlist=DEFAULT_WATCHLIST
        ),
    )
    assert all(s.exit_code == 0 for s in run_cboe_import(sqlite_db.session_factory, CBOE, watchlist="real"))
    for day in REAL_SESSIONS:
        run_daily(sqlite_db.session_factory, BatchOptions(dates=DateSelection(day=day), watchlist="real"))
    return sqlite_db, sample


def _check_site(browser, index: Path, expected: list[str]) -> dict[str, list]:
    """Every page loads without a console error and every image renders; returns each page's images."""
    assert browser.open(index.as_uri()) == []
    assert browser.evaluate(SYMBOLS_JS) == expected
    images = {}
    for link in browser.evaluate(LINKS_JS):
        page = index.parent / link
        assert browser.open(page.as_uri()) == [], link
        images[link] = browser.evaluate(IMAGES_JS)
        if not images[link]:  # a ticker-day without a chart says why
            assert browser.evaluate("document.querySelectorAll('ul.skipped li').length") > 0, link
        for src, complete, width, height in images[link]:
            assert complete, f"{link}: {src} does not render"
            assert width > 0, f"{link}: {src} does not render"
            assert height > 0, f"{link}: {src} does not render"
        assert browser.evaluate("document.querySelector('a[href=\"index.html\"]') !== null")
    return images


def test_the_sample_market_dashboard_loads_and_sorts(browser, market, tmp_path):
    db, _ = market
    out = tmp_path / "site"
    result = runner.invoke(app, ["dashboard", "--db-url", db.url, "--out", str(out), "--watchlist", "sample",
                                 "--log-format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    index = out / "index.html"
    assert result.stdout.strip() == str(index)
    symbols = sorted(["GHOST", "NOOPT", "THIN", "GAPPY", *_regular(db)])
    images = _check_site(browser, index, symbols)
    assert "GHOST" not in {link.removesuffix(".html") for link in images}  # no ticker row: listed, no page
    regular = _regular(db)[0]
    assert [src for src, *_ in images[f"{regular}.html"]] == [
        f"img/{regular}_gex.png", f"img/{regular}_volatility.png", f"img/{regular}_history.png"
    ]  # fmt: skip
    # sorting: the spot column ascending, then descending; symbols without a spot go last both ways
    browser.open(index.as_uri())
    spot_column = browser.evaluate(
        "Array.from(document.querySelectorAll('#watchlist th')).findIndex(t => t.textContent === 'spot')"
    )
    keys = f"Array.from(document.querySelectorAll('#watchlist tbody tr')).map(r => r.cells[{spot_column}].dataset.sort)"
    browser.evaluate(f"document.querySelectorAll('#watchlist th')[{spot_column}].click()")
    ascending = browser.evaluate(keys)
    numbers = [float(k) for k in ascending if k]
    assert numbers == sorted(numbers)
    assert len(numbers) >= 4
    assert ascending[len(numbers) :] == [""] * (len(ascending) - len(numbers))
    browser.evaluate(f"document.querySelectorAll('#watchlist th')[{spot_column}].click()")
    descending = [float(k) for k in browser.evaluate(keys) if k]
    assert descending == sorted(numbers, reverse=True)
    # regime colours: a long-gamma row is green, a short-gamma one red
    cells = "Array.from(document.querySelectorAll('#watchlist td.long, #watchlist td.short'))"
    classes = browser.evaluate(cells + ".map(c => getComputedStyle(c).backgroundColor)")
    assert classes
    assert set(classes) <= {"rgb(198, 246, 213)", "rgb(254, 215, 215)"}


def test_the_real_cboe_dashboards_load(browser, market, tmp_path):
    db, _ = market
    for day, symbol in zip(REAL_SESSIONS, ("SPX", "NDX", "NVDA"), strict=True):
        site = build_dashboard(db.session_factory, tmp_path / day.isoformat(), day, watchlist="real")
        images = _check_site(browser, site.pages[0], ["NDX", "NVDA", "SPX", "SPY"])
        # every ticker has documents on each session (an old or no snapshot gives an INVALID one): a page each
        assert set(images) == {"NDX.html", "NVDA.html", "SPX.html", "SPY.html"}
        assert [src for src, *_ in images[f"{symbol}.html"]][:2] == [
            f"img/{symbol}_gex.png",
            f"img/{symbol}_volatility.png",
        ]


def _regular(db) -> list[str]:
    from sqlalchemy import select

    from app.repositories.orm import Ticker

    with db.session() as session:
        symbols = session.scalars(
            select(Ticker.symbol).where(Ticker.symbol.not_in(["NOOPT", "THIN", "GAPPY", "SPX", "SPY", "NDX", "NVDA"]))
        )
        return sorted(symbols)
