"""SPEC §13.4: realized volatility from the ticker's daily bars, by four estimators.

Every figure is an annualized decimal on 252 sessions a year (0.1834 = 18.34%). The
estimators see the bars as stored (a session without a bar is counted, not filled in);
a window that holds an invalid bar or has too few bars gives None and says why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.bars import OhlcvBars
from app.domain.chain import FloatArray

SESSIONS_PER_YEAR = 252
HV_WINDOWS = (10, 20, 60, 120)
RANGE_WINDOW = 20  # Parkinson, Garman–Klass and Yang–Zhang
MAX_BARS = max(HV_WINDOWS) + 1  # the bars a ticker-day reads
_LN2 = math.log(2.0)


def invalid_bars(bars: OhlcvBars) -> npt.NDArray[np.bool_]:
    """§13.4: a bar with a missing or non-positive value, high < low, or open/close outside [low, high].

    low > 0 and low ≤ open, close ≤ high make every value positive and high ≥ low; a comparison with NaN
    is False, and a finite sum means four finite values.
    """
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    valid = np.isfinite(o + h + lo + c) & (lo > 0) & (lo <= o) & (o <= h) & (lo <= c) & (c <= h)
    return ~valid


@dataclass(frozen=True, slots=True)
class LogSeries:
    """The log ratios the estimators sum, computed once over a ticker's bars (NaN where a bar is invalid).

    Bar i contributes returns[i − 1] = ln(C_i/C_{i−1}) and overnight[i − 1] = ln(O_i/C_{i−1}) (i ≥ 1),
    range = ln(H_i/L_i), body = ln(C_i/O_i) and rs = ln(H/C)·ln(H/O) + ln(L/C)·ln(L/O).
    """

    returns: FloatArray
    overnight: FloatArray
    range: FloatArray
    body: FloatArray
    rs: FloatArray

    @classmethod
    def of(
        cls, open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, *, all_valid: bool = True
    ) -> LogSeries:
        # an invalid bar's NaN stays in the windows that hold it, which are never summed; no warning for it
        quiet = contextlib.nullcontext() if all_valid else np.errstate(invalid="ignore", divide="ignore")
        with quiet:
            lo, lh, ll, lc = np.log(open_), np.log(high), np.log(low), np.log(close)
            return cls(
                returns=lc[1:] - lc[:-1],
                overnight=lo[1:] - lc[:-1],
                range=lh - ll,
                body=lc - lo,
                rs=(lh - lc) * (lh - lo) + (ll - lc) * (ll - lo),
            )


def _sample_variance(values: FloatArray) -> float:
    deviations = values - values.sum() / values.shape[0]
    return float(deviations @ deviations) / (values.shape[0] - 1)


def _hv(logs: LogSeries, n: int) -> float:
    """Close to close over the last n returns: their sample standard deviation (n − 1), annualized."""
    return math.sqrt(_sample_variance(logs.returns[-n:]) * SESSIONS_PER_YEAR)


def _parkinson(logs: LogSeries, n: int) -> float:
    """√(252 / (4 ln2 · n) · Σ ln(H/L)²) over the last n bars."""
    log_range = logs.range[-n:]
    return math.sqrt(SESSIONS_PER_YEAR / (4.0 * _LN2 * n) * float(log_range @ log_range))


def _garman_klass(logs: LogSeries, n: int) -> float:
    """√(252 / n · Σ [½ ln(H/L)² − (2 ln2 − 1) ln(C/O)²]) over the last n bars (each term ≥ 0 on valid bars)."""
    log_range, body = logs.range[-n:], logs.body[-n:]
    total = 0.5 * float(log_range @ log_range) - (2.0 * _LN2 - 1.0) * float(body @ body)
    return math.sqrt(SESSIONS_PER_YEAR / n * total)


def _yang_zhang(logs: LogSeries, n: int) -> float:
    """√(252 · (σo² + k σc² + (1 − k) σrs²)) over the last n bars, each with its previous close (n + 1 bars)."""
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    rogers_satchell = float(logs.rs[-n:].sum()) / n
    overnight, intraday = _sample_variance(logs.overnight[-n:]), _sample_variance(logs.body[-n:])
    return math.sqrt(SESSIONS_PER_YEAR * (overnight + k * intraday + (1 - k) * rogers_satchell))


# The estimators over whole arrays of valid bars (all of them the window), as the SPEC writes them.
def close_to_close_hv(close: FloatArray) -> float:
    """Sample standard deviation (n − 1) of the log returns of `close` (n + 1 valid closes), annualized."""
    return _hv(LogSeries.of(close, close, close, close), close.shape[0] - 1)


def parkinson_hv(high: FloatArray, low: FloatArray) -> float:
    return _parkinson(LogSeries.of(low, high, low, low), high.shape[0])


def garman_klass_hv(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> float:
    return _garman_klass(LogSeries.of(open_, high, low, close), open_.shape[0])


def yang_zhang_hv(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> float:
    return _yang_zhang(LogSeries.of(open_, high, low, close), open_.shape[0] - 1)


@dataclass(frozen=True, slots=True)
class RealizedVolatilityFigures:
    """The §13.4 figures of one ticker-day, unrounded, and why any of them is missing."""

    hv_10: float | None = None
    hv_20: float | None = None
    hv_60: float | None = None
    hv_120: float | None = None
    parkinson_20: float | None = None
    garman_klass_20: float | None = None
    yang_zhang_20: float | None = None
    bars_used: int = 0
    session_gaps: int | None = None
    iv_hv_ratio: float | None = None
    vrp_30d: float | None = None  # volatility points
    hv20_hv60_ratio: float | None = None
    diagnostics: tuple[str, ...] = ()


# key → (the bars its window holds, the estimator, its n), in document order
_ESTIMATORS: dict[str, tuple[int, Callable[[LogSeries, int], float], int]] = {
    **{f"hv_{n}": (n + 1, _hv, n) for n in HV_WINDOWS},
    "parkinson_20": (RANGE_WINDOW, _parkinson, RANGE_WINDOW),
    "garman_klass_20": (RANGE_WINDOW, _garman_klass, RANGE_WINDOW),
    "yang_zhang_20": (RANGE_WINDOW + 1, _yang_zhang, RANGE_WINDOW),
}


def _session_gaps(bars: OhlcvBars) -> int | None:
    """NYSE sessions between the first and the last bar (inclusive) that have no bar (None: no bars)."""
    if not len(bars):
        return None
    if bars.sessions.shape == bars.dates.shape and (bars.sessions == bars.dates).all():
        return 0  # a bar on every session spanned
    lo = np.searchsorted(bars.sessions, bars.dates[0], side="left")
    hi = np.searchsorted(bars.sessions, bars.dates[-1], side="right")
    spanned = bars.sessions[lo:hi]
    if spanned.shape[0] == 0:
        return 0
    at = np.minimum(np.searchsorted(spanned, bars.dates), spanned.shape[0] - 1)
    return int(spanned.shape[0] - np.count_nonzero(spanned[at] == bars.dates))


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def compute_realized(
    bars: OhlcvBars, session_date: dt.date | None, atm_iv_30d: float | None
) -> RealizedVolatilityFigures:
    """§13.4 for one ticker-day: `bars` are the last (at most 121) stored bars dated ≤ `session_date`
    (None: the date is not judged, no `no_bar_for_date`)."""
    bars = bars.last(MAX_BARS)
    count = len(bars)
    invalid = invalid_bars(bars)
    diagnostics = [f"ohlcv_invalid_bar:{day}" for day in bars.dates[invalid].astype(str)] if invalid.any() else []
    # invalid bars among the last k: a window is judged by one subtraction (none: no window holds one)
    invalid_from_end = np.concatenate(([0], np.cumsum(invalid[::-1]))) if diagnostics else np.zeros(count + 1)
    logs = LogSeries.of(bars.open, bars.high, bars.low, bars.close, all_valid=not diagnostics)
    values: dict[str, float | None] = {}
    for key, (need, estimator, n) in _ESTIMATORS.items():
        if count < need:
            values[key] = None
            diagnostics.append(f"{key}:insufficient_bars({count}<{need})")
        elif invalid_from_end[need]:
            values[key] = None  # the invalid bar's own diagnostic says why
        else:
            values[key] = estimator(logs, n)
    gaps = _session_gaps(bars)
    if gaps:
        diagnostics.append("ohlcv_gap")
    if session_date is not None and (not len(bars) or bars.dates[-1] != np.datetime64(session_date, "D")):
        diagnostics.append("no_bar_for_date")
    hv_20, hv_60 = values["hv_20"], values["hv_60"]
    if hv_20 == 0:
        diagnostics.append("iv_hv_ratio:hv_20_is_zero")
    return RealizedVolatilityFigures(
        hv_10=values["hv_10"],
        hv_20=hv_20,
        hv_60=hv_60,
        hv_120=values["hv_120"],
        parkinson_20=values["parkinson_20"],
        garman_klass_20=values["garman_klass_20"],
        yang_zhang_20=values["yang_zhang_20"],
        bars_used=len(bars),
        session_gaps=gaps,
        iv_hv_ratio=_ratio(atm_iv_30d, hv_20),
        vrp_30d=(atm_iv_30d - hv_20) * 100.0 if atm_iv_30d is not None and hv_20 is not None else None,
        hv20_hv60_ratio=_ratio(hv_20, hv_60),
        diagnostics=tuple(diagnostics),
    )
