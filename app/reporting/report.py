"""`kapman report`: the data behind the charts, computed by the same domain functions as the documents."""

from __future__ import annotations

import datetime as dt
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
from app.reporting.charts import GexChartData, SmileCurve, VolChartData, gex_profile_figure, volatility_figure
from app.reporting.history import HistoryError, TickerHistory, load_histories, resolve_range
from app.reporting.history_chart import iv_history_figure
from app.reporting.scales import adaptive_strike_range
from app.reporting.stored import StoredDealer, StoredVolatility, read_dealer, read_volatility
from app.repositories.market import MarketDataRepository
from app.repositories.snapshots import SnapshotRepository
from app.repositories.universe import UniverseRepository
from app.time import snapshot_time

log = structlog.get_logger()


class ReportError(ValueError):
    """The report cannot be drawn (unknown symbol, no data for the session)."""


@dataclass
class Report:
    symbol: str
    day: dt.date
    figures: dict[str, Figure] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _dealer_params(stored: StoredDealer | None) -> DealerParams:
    """The thresholds the stored document was computed with (defaults when there is none)."""
    if stored is not None:
        params = stored.metadata.params
        try:
            return DealerParams.model_validate({k: v for k, v in params.items() if k in DealerParams.model_fields})
        except ValueError:
            pass
    return DealerParams()


def dealer_result(
    chain: OptionChain, spot: float | None, stored: StoredDealer | None, iv_rank: float | None
) -> DealerResult:
    """The result behind a stored dealer document: its thresholds, its spot override, the same chain."""
    params = _dealer_params(stored)
    if stored is not None and stored.spot_price_source == "override" and stored.spot_price:
        spot = stored.spot_price
    return compute_dealer(chain, spot, params, iv_rank=iv_rank, whole_profile=True)  # the chart draws Γ(s)


def _gex_data(symbol: str, day: dt.date, result: DealerResult, strike_range: float | None) -> GexChartData:
    profile, levels = result.profile, result.levels
    if profile is None or result.spot is None or not result.gex_total:
        raise ReportError(f"{symbol} {day}: no GEX profile ({result.reason})")
    zero_gamma = levels.zero_gamma if levels is not None else None
    if strike_range is None:  # where the GEX is: index chains list strikes from 10% to 160% of spot
        gex_abs = np.abs(profile.call_gex) + np.abs(profile.put_gex)
        strike_range = adaptive_strike_range(profile.strikes, gex_abs, result.spot, must_show=(zero_gamma,))
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
        zero_gamma=zero_gamma,
        call_gex_wall=levels.call_gex_wall if levels is not None else None,
        put_gex_wall=levels.put_gex_wall if levels is not None else None,
        gex_net=result.gex_net,
        gamma_at_spot=levels.gamma_at_spot if levels is not None else None,
    )


def _nearest_expiries(dte: np.ndarray, targets: tuple[int, ...] = (30, 90)) -> list[int]:
    unique = np.unique(dte)
    chosen: list[int] = []
    for target in targets:
        if unique.size:
            best = int(unique[np.argmin(np.abs(unique - target))])
            if best not in chosen:
                chosen.append(best)
    return chosen


def _move_bands(vol: StoredVolatility | None) -> dict[str, tuple[float, float, str] | None]:
    """§13.5 bands of the stored volatility document, labelled for the smile panel (none before §13.5)."""
    bands: dict[str, tuple[float, float, str] | None] = {"front_move": None, "d30_move": None}
    if vol is None or vol.expected_move is None:
        return bands
    front, d30 = vol.expected_move.front, vol.expected_move.d30
    if front.lower is not None and front.upper is not None:
        label = f"front straddle ±{front.straddle_pct:.2f}% ({front.expiry})"
        bands["front_move"] = (front.lower, front.upper, label)
    if d30.lower is not None and d30.upper is not None:
        bands["d30_move"] = (d30.lower, d30.upper, f"30-day 1σ IV move ±{d30.iv_move_pct:.2f}%")
    return bands


def _vol_data(
    symbol: str, day: dt.date, chain: OptionChain, spot: float | None, vol: StoredVolatility | None = None
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
        **_move_bands(vol),
    )


def build_report(
    session_factory: sessionmaker[Session],
    symbol: str,
    day: dt.date | None = None,
    *,
    strike_range: float | None = None,
    with_history: bool = True,
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
        dealer_json, vol_json = snapshots.load_documents([ticker_id], cutoff).get(ticker_id, (None, None))
        history = None
        if with_history:
            start, _ = resolve_range(session, None, day)
            history = load_histories(session, {symbol: ticker_id}, start, day)[symbol]
    report = Report(symbol=symbol, day=day)
    dealer_doc, vol_doc = read_dealer(dealer_json), read_volatility(vol_json)  # unreadable: as if absent
    chain = chains.get(ticker_id)
    if chain is None:
        report.skipped["gex"] = report.skipped["volatility"] = f"no options snapshot at or before {day}"
    else:
        iv_rank = vol_doc.metrics.iv_rank if vol_doc is not None else None
        result = dealer_result(chain, spot, dealer_doc, iv_rank)
        _add_figure(report, "gex", lambda: gex_profile_figure(_gex_data(symbol, day, result, strike_range)))
        _add_figure(report, "volatility", lambda: volatility_figure(_vol_data(symbol, day, chain, spot, vol_doc)))
    if history is not None:  # set exactly when with_history
        _add_figure(report, "history", lambda: _iv_history(history))
    return report


def _iv_history(history: TickerHistory) -> Figure:
    if int(np.isfinite(history["iv30"]).sum()) < 2:
        raise ReportError(f"{history.symbol}: fewer than two sessions with IV30 in the stored documents")
    return iv_history_figure(history)


def _add_figure(report: Report, name: str, draw: Callable[[], Figure]) -> None:
    """Draw one chart; a chart without data is listed in `skipped` with the reason."""
    try:
        report.figures[name] = draw()
    except (ReportError, HistoryError) as error:
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
