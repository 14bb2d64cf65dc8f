"""`kapman report`: the data behind the charts, computed by the same domain functions as the documents."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import structlog
from matplotlib.figure import Figure
from sqlalchemy.orm import Session, sessionmaker

from app.batch.dates import default_session
from app.domain.chain import OptionChain
from app.domain.dealer import DealerResult, compute_dealer
from app.domain.models import DealerParams
from app.domain.volatility import usable_iv_contracts
from app.domain.volatility.constant_maturity import constant_maturity
from app.reporting.charts import (
    GexChartData,
    HistoryChartData,
    SmileCurve,
    VolChartData,
    gex_profile_figure,
    history_figure,
    volatility_figure,
)
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import snapshot_time, trading_date_of

log = structlog.get_logger()
HISTORY_BAND = 252
DEFAULT_STRIKE_RANGE = 0.20  # strikes within ±20% of spot: index chains list 200 to 7,200


class ReportError(ValueError):
    """The report cannot be drawn (unknown symbol, no data for the session)."""


@dataclass
class Report:
    symbol: str
    day: dt.date
    figures: dict[str, Figure] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _dealer_params(stored: dict | None) -> DealerParams:
    """The thresholds the stored document was computed with (defaults when there is none)."""
    if stored:
        params = stored.get("metadata", {}).get("params") or {}
        try:
            return DealerParams(**{k: v for k, v in params.items() if k in DealerParams.model_fields})
        except ValueError:
            pass
    return DealerParams()


def dealer_result(chain, spot, stored: dict | None, iv_rank) -> DealerResult:
    """The result behind a stored dealer document: its thresholds, its spot override, the same chain."""
    params = _dealer_params(stored)
    if stored and stored.get("spot_price_source") == "override" and stored.get("spot_price"):
        spot = stored["spot_price"]
    return compute_dealer(chain, spot, params, iv_rank=iv_rank, whole_profile=True)  # the chart draws Γ(s)


def _gex_data(symbol: str, day: dt.date, result: DealerResult, strike_range: float) -> GexChartData:
    profile, levels = result.profile, result.levels
    if profile is None or result.spot is None or not result.gex_total:
        raise ReportError(f"{symbol} {day}: no GEX profile ({result.reason})")
    return GexChartData(
        symbol=symbol,
        session=day.isoformat(),
        status=result.status,
        sign_convention=result.params.sign_convention,
        strikes=profile.strikes,
        call_gex=profile.call_gex,
        put_gex=profile.put_gex,
        spot=result.spot,
        gamma_flip=result.gamma_flip,
        call_walls=[w.strike for w in result.call_walls],
        put_walls=[w.strike for w in result.put_walls],
        strike_range=strike_range,
        profile_spots=levels.spots if levels is not None and levels.gamma_profile.size else None,
        profile_gex=levels.gamma_profile if levels is not None and levels.gamma_profile.size else None,
        zero_gamma=levels.zero_gamma if levels is not None else None,
        call_gex_wall=levels.call_gex_wall if levels is not None else None,
        put_gex_wall=levels.put_gex_wall if levels is not None else None,
    )


def _nearest_expiries(dte: np.ndarray, targets=(30, 90)) -> list[int]:
    unique = np.unique(dte)
    chosen: list[int] = []
    for target in targets:
        if unique.size:
            best = int(unique[np.argmin(np.abs(unique - target))])
            if best not in chosen:
                chosen.append(best)
    return chosen


def _move_bands(vol_doc: dict | None) -> dict[str, tuple[float, float, str] | None]:
    """§13.5 bands of the stored volatility document, labelled for the smile panel."""
    moves = (vol_doc or {}).get("expected_move") or {}
    front, d30 = moves.get("front") or {}, moves.get("d30") or {}
    bands: dict[str, tuple[float, float, str] | None] = {"front_move": None, "d30_move": None}
    if front.get("lower") is not None and front.get("upper") is not None:
        label = f"front straddle ±{front['straddle_pct']:.2f}% ({front['expiry']})"
        bands["front_move"] = (front["lower"], front["upper"], label)
    if d30.get("lower") is not None and d30.get("upper") is not None:
        bands["d30_move"] = (d30["lower"], d30["upper"], f"30-day 1σ IV move ±{d30['iv_move_pct']:.2f}%")
    return bands


def _vol_data(
    symbol: str, day: dt.date, chain: OptionChain, spot: float | None, vol_doc: dict | None = None
) -> VolChartData:
    usable = usable_iv_contracts(chain)
    dte, iv, strike = usable.dte_days, usable.implied_volatility, usable.strike
    if dte.size == 0:
        raise ReportError(f"{symbol} {day}: no contract with a usable IV")
    # A smile is drawn from out-of-the-money contracts: puts below spot, calls at or above it.
    otm = np.ones(dte.shape, dtype=bool)
    if spot is not None:
        otm = usable.is_call == (strike >= spot)
    smiles = [SmileCurve(d, strike[(dte == d) & otm], iv[(dte == d) & otm]) for d in _nearest_expiries(dte)]
    levels = constant_maturity(usable, spot)
    term = levels.atm_curve
    constant = {days: value for days, value in ((30, levels.atm_iv_30d), (90, levels.atm_iv_90d)) if value is not None}
    return VolChartData(
        symbol=symbol,
        session=day.isoformat(),
        spot=spot,
        smiles=smiles,
        term_dte=term.dte_days if term is not None else np.empty(0),
        term_iv=term.iv if term is not None else np.empty(0),
        constant_maturity=constant,
        **_move_bands(vol_doc),
    )


def _history_data(symbol: str, rows: list[tuple[dt.datetime, dict]]) -> HistoryChartData:
    days, avg, rank = [], [], []
    for moment, doc in rows:
        metrics = doc.get("metrics") or {}
        if metrics.get("average_iv") is None:
            continue
        # The trading date the document is about (the UTC date of its 23:59 New York cut-off is the next day).
        snapshot_date = (doc.get("metadata") or {}).get("snapshot_date")
        days.append(dt.date.fromisoformat(snapshot_date) if snapshot_date else trading_date_of(moment))
        avg.append(metrics["average_iv"])
        rank.append(math.nan if metrics.get("iv_rank") is None else metrics["iv_rank"])
    if len(days) < 2:
        raise ReportError(f"{symbol}: fewer than two sessions of volatility documents")
    values = np.array(avg)
    low = np.array([values[max(0, i - HISTORY_BAND) : i].min() if i else np.nan for i in range(len(values))])
    high = np.array([values[max(0, i - HISTORY_BAND) : i].max() if i else np.nan for i in range(len(values))])
    return HistoryChartData(
        symbol=symbol, sessions=days, average_iv=values, iv_rank=np.array(rank), band_low=low, band_high=high
    )


def build_report(
    session_factory: sessionmaker[Session],
    symbol: str,
    day: dt.date | None = None,
    *,
    strike_range: float = DEFAULT_STRIKE_RANGE,
) -> Report:
    """Figures for one ticker and session; charts without data are listed in `skipped` with the reason."""
    symbol = symbol.strip().upper()
    with session_factory() as session:
        market = MarketDataRepository(session)
        if day is None:
            day = default_session(market.get_latest_ohlcv_date())
        ids = UniverseRepository(session).map_symbols([symbol])
        if symbol not in ids:
            raise ReportError(f"unknown symbol {symbol}: no tickers row")
        ticker_id = ids[symbol]
        cutoff = snapshot_time(day)
        times = market.load_options_snapshot_times([ticker_id], cutoff)
        chains = market.load_chains(times, day)
        spot = market.load_spots([ticker_id], day).get(ticker_id)
        snapshots = SnapshotRepository(session)
        dealer_doc, vol_doc = snapshots.load_documents([ticker_id], cutoff).get(ticker_id, (None, None))
        history_rows = snapshots.list_volatility_history(ticker_id, cutoff)
    report = Report(symbol=symbol, day=day)
    chain = chains.get(ticker_id)
    if chain is None:
        report.skipped["gex"] = report.skipped["volatility"] = f"no options snapshot at or before {day}"
    else:
        iv_rank = ((vol_doc or {}).get("metrics") or {}).get("iv_rank")
        result = dealer_result(chain, spot, dealer_doc, iv_rank)
        _add_figure(report, "gex", lambda: gex_profile_figure(_gex_data(symbol, day, result, strike_range)))
        _add_figure(report, "volatility", lambda: volatility_figure(_vol_data(symbol, day, chain, spot, vol_doc)))
    _add_figure(report, "history", lambda: history_figure(_history_data(symbol, history_rows)))
    return report


def _add_figure(report: Report, name: str, draw: Callable[[], Figure]) -> None:
    """Draw one chart; a chart without data is listed in `skipped` with the reason."""
    try:
        report.figures[name] = draw()
    except ReportError as error:
        report.skipped[name] = str(error)


_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]|\.{2,}|^\.")


def report_file_name(symbol: str, day: dt.date, chart: str, image_format: str) -> str:
    """A file name for one chart that stays inside --out whatever the symbol holds: a symbol is data
    (BRK/B is a real one, `../../PWN` a hostile one), so path separators, `..` and a leading dot
    become `_`."""
    return _UNSAFE_IN_FILE_NAME.sub("_", f"{symbol}_{day.isoformat()}_{chart}.{image_format}")


def write_report(report: Report, out_dir: Path, image_format: str = "png") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in report.figures.items():
        path = out_dir / report_file_name(report.symbol, report.day, name, image_format)
        figure.savefig(path, format=image_format)
        report.files.append(path)
    for name, reason in report.skipped.items():
        log.warning("chart_skipped", symbol=report.symbol, chart=name, reason=reason)
    log.info("report_written", symbol=report.symbol, date=report.day.isoformat(), files=[str(p) for p in report.files])
    return report.files
