"""`kapman show`: one row per watchlist symbol for a session, read from the stored documents."""

from __future__ import annotations

import datetime as dt

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import default_session
from app.domain.dealer_parts import DealerChanges
from app.domain.models import Wall
from app.reporting.stored import StoredDealer, StoredVolatility, read_dealer, read_volatility
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


def _wall_strike(wall: Wall | None) -> float | None:
    return wall.strike if wall else None


def _changed(changes: DealerChanges) -> str | None:
    """What moved since the previous document, in a few words (None: nothing, or nothing to compare)."""
    said = []
    if changes.regime_changed:
        said.append("regime")
    if changes.position_changed:
        said.append("position")
    if changes.call_gex_wall_moved:
        said.append(f"call wall (was {changes.call_gex_wall_previous:g})")
    if changes.put_gex_wall_moved:
        said.append(f"put wall (was {changes.put_gex_wall_previous:g})")
    return ", ".join(said) or None


def _positioning(row: ShowRow, dealer: StoredDealer) -> None:
    """§12.1, §13.1 and §13.3 columns; a document written before them has none (left empty)."""
    if dealer.levels is not None:
        row.zero_gamma = dealer.levels.zero_gamma
        row.call_gex_wall = dealer.levels.call_gex_wall
        row.put_gex_wall = dealer.levels.put_gex_wall
    if (positioning := dealer.positioning) is not None:
        vs_zero = positioning.position_vs_zero_gamma
        row.vs_zero_gamma = vs_zero if vs_zero != "unknown" else None
        row.spot_vs_zero_gamma_pct = positioning.spot_vs_zero_gamma_pct
        row.call_resistance = positioning.call_resistance[0].strike if positioning.call_resistance else None
        row.put_support = positioning.put_support[0].strike if positioning.put_support else None
    if (changes := dealer.changes) is not None:
        row.gex_net_change = changes.gex_net_change
        row.zero_gamma_change_pct = changes.zero_gamma_change_pct
        row.changed = _changed(changes)


def _dealer_columns(row: ShowRow, dealer: StoredDealer, notes: list[str]) -> None:
    row.dealer_status = dealer.status
    row.position = dealer.position
    row.gex_net = dealer.gex_net
    row.gamma_flip = dealer.gamma_flip
    row.call_wall = _wall_strike(dealer.primary_call_wall)
    row.put_wall = _wall_strike(dealer.primary_put_wall)
    row.dgpi = dealer.dgpi
    _positioning(row, dealer)
    if dealer.status == "INVALID":
        notes.append(f"dealer: {dealer.status_reason}")


def _vol_columns(row: ShowRow, vol: StoredVolatility, notes: list[str]) -> None:
    metrics = vol.metrics
    row.average_iv = metrics.average_iv
    row.iv_rank = metrics.iv_rank
    row.atm_iv_30d = metrics.atm_iv_30d
    row.iv30_rank = metrics.iv30_rank
    if vol.realized is not None:  # documents written before §13.4 have none
        row.iv_hv_ratio = vol.realized.iv_hv_ratio
        row.vrp_30d = vol.realized.vrp_30d
    if vol.expected_move is not None:
        row.move_pct = vol.expected_move.front.straddle_pct
        row.move_expiry = vol.expected_move.front.expiry
    row.put_call_oi = metrics.put_call_ratio_oi
    row.term_structure = metrics.iv_term_structure
    row.vol_status = vol.status
    if vol.processing_status in ("NO_OPTIONS", "ERROR"):
        notes.append(f"vol: {str(vol.processing_status).lower()}")


def _row(symbol: str, dealer_json: dict | None, vol_json: dict | None) -> ShowRow:
    row = ShowRow(symbol=symbol)
    notes: list[str] = []
    dealer, vol = read_dealer(dealer_json), read_volatility(vol_json)
    if dealer is not None:
        _dealer_columns(row, dealer, notes)
    else:
        notes.append("dealer document unreadable" if dealer_json is not None else "no dealer document")
    if vol is not None:
        _vol_columns(row, vol, notes)
    else:
        notes.append("volatility document unreadable" if vol_json is not None else "no volatility document")
    row.note = "; ".join(notes) or None
    return row


def _sign_convention(dealer_json: dict | None) -> str | None:
    dealer = read_dealer(dealer_json)
    return dealer.metadata.sign_convention if dealer is not None else None


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
