"""`kapman report`: the data behind the charts, computed by the same domain functions as the documents."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import structlog
from matplotlib.figure import Figure
from sqlalchemy.orm import Session, sessionmaker

from app import MODEL_VERSION
from app.domain.dealer import compute_dealer_metrics, compute_eligibility, compute_gex_profile
from app.domain.models import DealerParams, SnapshotContext
from app.domain.volatility import oi_weighted_iv, smile_and_term_structure
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
from app.services.dates import default_session
from app.time import age_days, snapshot_time

log = structlog.get_logger()
HISTORY_BAND = 252


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


def _gex_data(symbol, day, chain, spot, stored, iv_rank, ctx) -> GexChartData:
    params = _dealer_params(stored)
    if stored and stored.get("spot_price_source") == "override" and stored.get("spot_price"):
        spot = stored["spot_price"]
    doc = compute_dealer_metrics(chain, spot, params, ctx, iv_rank=iv_rank)
    if doc.gex_total is None:
        raise ReportError(f"{symbol} {day}: no GEX profile ({doc.status_reason})")
    # The same eligible contracts and the same (unrounded) spot as the document's sums.
    eligible = chain.take(compute_eligibility(chain, params).mask)
    _, profile = compute_gex_profile(eligible, float(spot), params.sign_convention)
    return GexChartData(
        symbol=symbol,
        session=day.isoformat(),
        status=doc.status,
        sign_convention=params.sign_convention,
        strikes=profile.strikes,
        call_gex=profile.call_gex,
        put_gex=profile.put_gex,
        spot=doc.spot_price,
        gamma_flip=doc.gamma_flip,
        call_walls=[w.strike for w in doc.call_walls],
        put_walls=[w.strike for w in doc.put_walls],
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


def _vol_data(symbol, day, chain, spot) -> VolChartData:
    points = smile_and_term_structure(chain)
    dte = points["dte_days"]
    if dte.size == 0:
        raise ReportError(f"{symbol} {day}: no contract with a usable IV")
    # A smile is drawn from out-of-the-money contracts: puts below spot, calls at or above it.
    otm = np.ones(dte.shape, dtype=bool)
    if spot is not None:
        otm = points["is_call"] == (points["strike"] >= spot)
    smiles = [
        SmileCurve(d, points["strike"][(dte == d) & otm], points["iv"][(dte == d) & otm])
        for d in _nearest_expiries(dte)
    ]
    expiries = np.unique(dte)
    term = np.array([oi_weighted_iv(points["iv"][dte == d], points["open_interest"][dte == d]) for d in expiries])
    return VolChartData(
        symbol=symbol, session=day.isoformat(), spot=spot, smiles=smiles, term_dte=expiries, term_iv=term
    )


def _history_data(symbol, rows) -> HistoryChartData:
    sessions, avg, rank = [], [], []
    for moment, doc in rows:
        metrics = doc.get("metrics") or {}
        if metrics.get("average_iv") is None:
            continue
        sessions.append(moment.date())
        avg.append(metrics["average_iv"])
        rank.append(math.nan if metrics.get("iv_rank") is None else metrics["iv_rank"])
    if len(sessions) < 2:
        raise ReportError(f"{symbol}: fewer than two sessions of volatility documents")
    values = np.array(avg)
    low = np.array([values[max(0, i - HISTORY_BAND) : i].min() if i else np.nan for i in range(len(values))])
    high = np.array([values[max(0, i - HISTORY_BAND) : i].max() if i else np.nan for i in range(len(values))])
    return HistoryChartData(
        symbol=symbol, sessions=sessions, average_iv=values, iv_rank=np.array(rank), band_low=low, band_high=high
    )


def build_report(session_factory: sessionmaker[Session], symbol: str, day: dt.date | None = None) -> Report:
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
        options_time = times[ticker_id]
        ctx = SnapshotContext(symbol, ticker_id, cutoff, day, MODEL_VERSION, options_time, age_days(day, options_time))
        iv_rank = ((vol_doc or {}).get("metrics") or {}).get("iv_rank")
        for name, build, draw in (
            ("gex", lambda: _gex_data(symbol, day, chain, spot, dealer_doc, iv_rank, ctx), gex_profile_figure),
            ("volatility", lambda: _vol_data(symbol, day, chain, spot), volatility_figure),
        ):
            try:
                report.figures[name] = draw(build())
            except ReportError as error:
                report.skipped[name] = str(error)
    try:
        report.figures["history"] = history_figure(_history_data(symbol, history_rows))
    except ReportError as error:
        report.skipped["history"] = str(error)
    return report


def write_report(report: Report, out_dir: Path, image_format: str = "png") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in report.figures.items():
        path = out_dir / f"{report.symbol}_{report.day.isoformat()}_{name}.{image_format}"
        figure.savefig(path, format=image_format)
        report.files.append(path)
    for name, reason in report.skipped.items():
        log.warning("chart_skipped", symbol=report.symbol, chart=name, reason=reason)
    log.info("report_written", symbol=report.symbol, date=report.day.isoformat(), files=[str(p) for p in report.files])
    return report.files
