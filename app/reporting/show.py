"""`kapman show`: one row per watchlist symbol for a session, read from the stored documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import default_session
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import is_session, snapshot_time

log = structlog.get_logger()


class ShowRow(BaseModel):
    symbol: str
    dealer_status: str | None = None
    position: str | None = None
    # §13.1: where spot stands against zero gamma, and the strongest GEX strikes either side of it
    vs_zero_gamma: str | None = None
    spot_vs_zero_gamma_pct: float | None = None
    call_resistance: float | None = None
    put_support: float | None = None
    # §13.3: what changed since the previous dealer document
    gex_net_change: float | None = None
    zero_gamma_change_pct: float | None = None
    changed: str | None = None
    gex_net: float | None = None
    gamma_flip: float | None = None
    zero_gamma: float | None = None  # §12.1: where total dealer gamma changes sign
    call_wall: float | None = None
    put_wall: float | None = None
    call_gex_wall: float | None = None  # §12.1: the strikes of the largest call / put GEX
    put_gex_wall: float | None = None
    dgpi: float | None = None
    average_iv: float | None = None
    iv_rank: float | None = None
    atm_iv_30d: float | None = None  # §12.2: the IV a trader quotes, and its rank
    iv30_rank: float | None = None
    iv_hv_ratio: float | None = None  # §13.4: IV30 over 20-session realized volatility
    vrp_30d: float | None = None  # §13.4: IV30 − HV20 in vol points
    move_pct: float | None = None  # §13.5: the front straddle, ± % of spot
    move_expiry: str | None = None
    put_call_oi: float | None = None
    term_structure: float | None = None
    vol_status: str | None = None
    note: str | None = None


COLUMNS = tuple(ShowRow.model_fields)


class ShowTable(BaseModel):
    date: dt.date
    rows: list[ShowRow]
    is_session: bool = True
    sign_conventions: list[str] = []  # of the dealer documents shown (GEX signs depend on it)


def _sign_convention(dealer: dict | None) -> str | None:
    return ((dealer or {}).get("metadata") or {}).get("sign_convention")


def _wall_strike(wall: dict[str, Any] | None) -> float | None:
    return wall["strike"] if wall else None


def _changed(changes: dict[str, Any]) -> str | None:
    """What moved since the previous document, in a few words (None: nothing, or nothing to compare)."""
    said = []
    if changes.get("regime_changed"):
        said.append("regime")
    if changes.get("position_changed"):
        said.append("position")
    for side in ("call", "put"):
        if changes.get(f"{side}_gex_wall_moved"):
            said.append(f"{side} wall (was {changes.get(f'{side}_gex_wall_previous'):g})")
    return ", ".join(said) or None


def _positioning(row: ShowRow, dealer: dict[str, Any]) -> None:
    """§13.1 and §13.3 columns; a document written before them has neither (left empty)."""
    positioning = dealer.get("positioning") or {}
    vs_zero = positioning.get("position_vs_zero_gamma")
    row.vs_zero_gamma = vs_zero if vs_zero != "unknown" else None
    row.spot_vs_zero_gamma_pct = positioning.get("spot_vs_zero_gamma_pct")
    resistance, support = positioning.get("call_resistance") or [], positioning.get("put_support") or []
    row.call_resistance = resistance[0]["strike"] if resistance else None
    row.put_support = support[0]["strike"] if support else None
    changes = dealer.get("changes") or {}
    row.gex_net_change = changes.get("gex_net_change")
    row.zero_gamma_change_pct = changes.get("zero_gamma_change_pct")
    row.changed = _changed(changes)


def _row(symbol: str, dealer: dict | None, vol: dict | None) -> ShowRow:
    row = ShowRow(symbol=symbol)
    notes = []
    if dealer:
        row.dealer_status = dealer.get("status")
        row.position = dealer.get("position")
        row.gex_net = dealer.get("gex_net")
        row.gamma_flip = dealer.get("gamma_flip")
        row.call_wall = _wall_strike(dealer.get("primary_call_wall"))
        row.put_wall = _wall_strike(dealer.get("primary_put_wall"))
        row.dgpi = dealer.get("dgpi")
        levels = dealer.get("levels") or {}
        row.zero_gamma = levels.get("zero_gamma")
        row.call_gex_wall = levels.get("call_gex_wall")
        row.put_gex_wall = levels.get("put_gex_wall")
        _positioning(row, dealer)
        if dealer.get("status") == "INVALID":
            notes.append(f"dealer: {dealer.get('status_reason')}")
    else:
        notes.append("no dealer document")
    if vol:
        metrics = vol.get("metrics") or {}
        row.average_iv = metrics.get("average_iv")
        row.iv_rank = metrics.get("iv_rank")
        row.atm_iv_30d = metrics.get("atm_iv_30d")
        row.iv30_rank = metrics.get("iv30_rank")
        realized = vol.get("realized") or {}  # documents written before §13.4 have none
        row.iv_hv_ratio = realized.get("iv_hv_ratio")
        row.vrp_30d = realized.get("vrp_30d")
        front = (vol.get("expected_move") or {}).get("front") or {}
        row.move_pct = front.get("straddle_pct")
        row.move_expiry = front.get("expiry")
        row.put_call_oi = metrics.get("put_call_ratio_oi")
        row.term_structure = metrics.get("iv_term_structure")
        row.vol_status = vol.get("status")
        processing = vol.get("processing_status")
        if processing in ("NO_OPTIONS", "ERROR"):
            notes.append(f"vol: {str(processing).lower()}")
    else:
        notes.append("no volatility document")
    row.note = "; ".join(notes) or None
    return row


def build_show_table(
    session_factory: sessionmaker[Session],
    day: dt.date | None = None,
    *,
    watchlist: str | None = None,
    tickers: tuple[str, ...] = (),
) -> ShowTable:
    """Rows for every universe symbol; symbols without a ticker or without documents say why."""
    with session_factory() as session:
        if day is None:
            day = default_session(MarketDataRepository(session).get_latest_ohlcv_date())
        universe = UniverseRepository(session).load_universe(watchlist, list(tickers) or None)
        documents = SnapshotRepository(session).load_documents(
            [t.ticker_id for t in universe.tickers], snapshot_time(day)
        )
    session_day = is_session(day)
    if not session_day:
        log.warning("date_not_a_session", date=day.isoformat(), note="documents are looked up at this date's cut-off")
    rows = [_row(t.symbol, *documents.get(t.ticker_id, (None, None))) for t in universe.tickers]
    rows += [ShowRow(symbol=s, note="no tickers row (unknown symbol)") for s in universe.unknown_symbols]
    rows += [ShowRow(symbol=s, note="several tickers rows differ only in case") for s in universe.ambiguous_symbols]
    rows += [ShowRow(symbol=s, note="not in the watchlist universe") for s in universe.not_in_watchlist]
    conventions = sorted({convention for dealer, _ in documents.values() if (convention := _sign_convention(dealer))})
    return ShowTable(
        date=day, rows=sorted(rows, key=lambda r: r.symbol), is_session=session_day, sign_conventions=conventions
    )
