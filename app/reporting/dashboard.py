"""`kapman dashboard`: a static site over the stored documents, readable from the file system.

No server and no network: every page carries its style and script inline, and charts are PNG
files beside the pages, loaded through <img> tags (browsers refuse fetch/XHR of file:// URLs).
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker

from app.reporting.history import HistoryError, TickerHistory, load_histories, read_number, resolve_range
from app.reporting.history_chart import history_figure
from app.reporting.report import ReportError, build_report
from app.reporting.scales import money_text
from app.reporting.show import build_show_table
from app.reporting.stored import StoredDealer, StoredVolatility, read_dealer, read_volatility
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import snapshot_time

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = structlog.get_logger()
TEMPLATES = Path(__file__).parent / "templates"
IMAGE_DIR = "img"
CHANGE_FLAGS = (  # SPEC 13.3 flags shown in the index, when the documents carry them
    ("regime_changed", "regime"),
    ("position_changed", "position"),
    ("call_gex_wall_moved", "call wall"),
    ("put_gex_wall_moved", "put wall"),
)


@dataclass
class TickerPage:
    symbol: str
    file: str | None  # the page's file name; None for a symbol without documents
    cells: dict[str, Any]  # display text and sort key per index column
    facts: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (caption, relative path)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class DashboardResult:
    out_dir: Path
    day: dt.date
    pages: list[Path]
    images: list[Path]
    symbols: list[str]


def _sort_key(value: Any) -> str:
    """data-sort attribute: numbers as plain text, a missing value empty (sorted last)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) else str(value)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a misspelt field fails the build, not a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sortkey"] = _sort_key
    return env


def _number(value: float, pattern: str) -> str:
    return pattern.format(value) if math.isfinite(value) else "n/a"


def _cells(dealer: StoredDealer | None, vol: StoredVolatility | None) -> dict[str, Any]:
    """Index columns: (text, sort key, css class) each; a key the document lacks reads n/a."""
    spot = read_number(dealer, ("spot_price",))
    zero = read_number(dealer, ("levels", "zero_gamma"))
    versus = read_number(dealer, ("positioning", "spot_vs_zero_gamma_pct"))
    if not math.isfinite(versus) and math.isfinite(zero) and zero:
        versus = (spot / zero - 1) * 100  # documents before SPEC 13.1 hold spot and zero gamma only
    gamma = read_number(dealer, ("levels", "gamma_at_spot"))
    regime = "n/a" if not math.isfinite(gamma) or gamma == 0 else ("long gamma" if gamma > 0 else "short gamma")
    straddle = read_number(vol, ("expected_move", "front", "straddle_pct"))
    changes = dealer.changes if dealer is not None else None
    changed = [label for key, label in CHANGE_FLAGS if getattr(changes, key, None) is True]
    status = dealer.status if dealer is not None else None
    return {
        "status": (status or "n/a", status or "", ""),
        "regime": (regime, regime, {"long gamma": "long", "short gamma": "short"}.get(regime, "")),
        "spot": (_number(spot, "{:,.2f}"), spot, ""),
        "zero_gamma": (_number(zero, "{:,.2f}"), zero, ""),
        "vs_zero_gamma": (_number(versus, "{:+.2f}%"), versus, _side(versus)),
        "call_gex_wall": _plain(read_number(dealer, ("levels", "call_gex_wall")), "{:,g}"),
        "put_gex_wall": _plain(read_number(dealer, ("levels", "put_gex_wall")), "{:,g}"),
        "gamma_at_spot": (money_text(gamma if math.isfinite(gamma) else None), gamma, ""),
        "gex_net": (money_text(_or_none(read_number(dealer, ("gex_net",)))), read_number(dealer, ("gex_net",)), ""),
        "iv30": _plain(read_number(vol, ("metrics", "atm_iv_30d")) * 100, "{:.1f}%"),
        "iv30_rank": _plain(read_number(vol, ("metrics", "iv30_rank")), "{:.0f}"),
        "iv_hv": _plain(read_number(vol, ("realized", "iv_hv_ratio")), "{:.2f}"),
        "expected_move": _plain(straddle, "±{:.2f}%"),
        "changes": (", ".join(changed) or ("none" if changes else "n/a"), len(changed), "changed" if changed else ""),
    }


def _side(versus: float) -> str:
    return "above" if versus > 0 else "below" if versus < 0 else ""


def _plain(value: float, pattern: str) -> tuple[str, float, str]:
    return _number(value, pattern), value, ""


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


COLUMNS = (
    ("status", "dealer"), ("regime", "regime at spot"), ("spot", "spot"), ("zero_gamma", "zero γ"),
    ("vs_zero_gamma", "spot vs zero γ"), ("call_gex_wall", "call GEX wall"), ("put_gex_wall", "put GEX wall"),
    ("gamma_at_spot", "Γ at spot /1%"), ("gex_net", "net GEX /1%"), ("iv30", "IV30"), ("iv30_rank", "IV30 rank"),
    ("iv_hv", "IV/HV"), ("expected_move", "front exp. move"), ("changes", "changes"),
)  # fmt: skip


def _facts(cells: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, cells[key][0]) for key, label in COLUMNS]


def _save(figure: Figure, path: Path, images: list[Path]) -> None:
    figure.savefig(path, format="png")
    images.append(path)


def _ticker_page(
    session_factory: sessionmaker[Session], out_dir: Path, day: dt.date, page: TickerPage, history: TickerHistory | None
) -> list[Path]:
    images: list[Path] = []
    try:
        report = build_report(session_factory, page.symbol, day, with_history=False)
    except ReportError as error:
        page.skipped["report"] = str(error)
    else:
        page.skipped.update(report.skipped)
        for name, caption in (("gex", "GEX by strike and gamma profile"), ("volatility", "smile and term structure")):
            if name in report.figures:
                path = out_dir / IMAGE_DIR / f"{page.symbol}_{name}.png"
                _save(report.figures[name], path, images)
                page.images.append((caption, f"{IMAGE_DIR}/{path.name}"))
    if history is not None and len(history.sessions) >= 2:
        path = out_dir / IMAGE_DIR / f"{page.symbol}_history.png"
        _save(history_figure(history), path, images)
        page.images.append((f"history, {history.sessions[0]} to {history.sessions[-1]}", f"{IMAGE_DIR}/{path.name}"))
    else:
        page.skipped["history"] = "fewer than two stored sessions"
    return images


def build_dashboard(
    session_factory: sessionmaker[Session],
    out_dir: Path,
    day: dt.date | None = None,
    *,
    watchlist: str | None = None,
    tickers: tuple[str, ...] = (),
    progress: Callable[..., None] | None = None,
) -> DashboardResult:
    """index.html (the watchlist for the session) and one page per ticker with documents;
    `progress(done, total, label)` after each ticker."""
    table = build_show_table(session_factory, day, watchlist=watchlist, tickers=tickers)
    day = table.date
    with session_factory() as session:
        ids = UniverseRepository(session).map_symbols([row.symbol for row in table.rows])
        documents = SnapshotRepository(session).load_documents(list(ids.values()), snapshot_time(day))
        start, _ = resolve_range(session, None, day)
        histories = load_histories(session, ids, start, day)
    if out_dir.exists():
        shutil.rmtree(out_dir / IMAGE_DIR, ignore_errors=True)
    (out_dir / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    env = _environment()
    pages, images = [], []
    entries = []
    for done, row in enumerate(table.rows, start=1):
        dealer_json, vol_json = documents.get(ids[row.symbol], (None, None)) if row.symbol in ids else (None, None)
        dealer, vol = read_dealer(dealer_json), read_volatility(vol_json)  # show's note says when unreadable
        has_page = dealer is not None or vol is not None
        entry = TickerPage(row.symbol, f"{row.symbol}.html" if has_page else None, _cells(dealer, vol))
        entry.cells["note"] = (row.note or "", row.note or "", "")
        entries.append(entry)
        if has_page:
            entry.facts = _facts(entry.cells)
            try:
                images += _ticker_page(session_factory, out_dir, day, entry, histories.get(row.symbol))
            except HistoryError as error:
                entry.skipped["history"] = str(error)
            path = out_dir / str(entry.file)
            path.write_text(env.get_template("ticker.html.j2").render(page=entry, day=day), encoding="utf-8")
            pages.append(path)
        if progress is not None:
            progress(done, len(table.rows), "dashboard pages")
    index = out_dir / "index.html"
    columns = [*COLUMNS, ("note", "note")]
    index.write_text(
        env.get_template("index.html.j2").render(entries=entries, columns=columns, day=day, table=table),
        encoding="utf-8",
    )
    log.info("dashboard_written", date=day.isoformat(), index=str(index), pages=len(pages), images=len(images))
    return DashboardResult(out_dir, day, [index, *pages], images, [e.symbol for e in entries])
