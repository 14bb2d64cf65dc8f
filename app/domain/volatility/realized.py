"""SPEC §13.4: realized volatility from the ticker's daily bars, by four estimators.

Every figure is an annualized decimal on 252 sessions a year (0.1834 = 18.34%). The
estimators see the bars as stored (a session without a bar is counted, not filled in);
a window that holds an invalid bar or has too few bars gives None and says why.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.domain.chain import FloatArray

SESSIONS_PER_YEAR = 252
HV_WINDOWS = (10, 20, 60, 120)
RANGE_WINDOW = 20  # Parkinson, Garman–Klass and Yang–Zhang
MAX_BARS = max(HV_WINDOWS) + 1  # the bars a ticker-day reads
_LN2 = math.log(2.0)
DateArray = npt.NDArray[np.datetime64]
_NO_DATES: DateArray = np.empty(0, dtype="datetime64[D]")


@dataclass(frozen=True, slots=True)
class OhlcvBars:
    """A ticker's most recent bars dated ≤ the session, ascending; NaN where a value is missing.

    `sessions` holds the NYSE sessions from the first bar's date to the last's (the caller
    knows the calendar; the domain does not), so the gaps between bars can be counted.
    """

    dates: DateArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    sessions: DateArray = field(default_factory=lambda: _NO_DATES)

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    @classmethod
    def empty(cls) -> OhlcvBars:
        nothing = np.empty(0, dtype=np.float64)
        return cls(_NO_DATES, nothing, nothing, nothing, nothing)

    def last(self, count: int) -> OhlcvBars:
        """The most recent `count` bars (sessions left as they are)."""
        start = max(len(self) - count, 0)
        return OhlcvBars(
            self.dates[start:],
            self.open[start:],
            self.high[start:],
            self.low[start:],
            self.close[start:],
            self.sessions,
        )


def invalid_bars(bars: OhlcvBars) -> npt.NDArray[np.bool_]:
    """§13.4: a bar with a missing or non-positive value, high < low, or open/close outside [low, high]."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    with np.errstate(invalid="ignore"):
        positive = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
        positive &= (o > 0) & (h > 0) & (lo > 0) & (c > 0)
        inside = (h >= lo) & (lo <= o) & (o <= h) & (lo <= c) & (c <= h)
    return ~(positive & inside)


def close_to_close_hv(close: FloatArray) -> float:
    """Sample standard deviation (n − 1) of the log returns of `close` (n + 1 valid closes), annualized."""
    returns = np.diff(np.log(close))
    return float(np.std(returns, ddof=1) * math.sqrt(SESSIONS_PER_YEAR))


def parkinson_hv(high: FloatArray, low: FloatArray) -> float:
    """√(252 / (4 ln2 · n) · Σ ln(H/L)²) over n valid bars."""
    log_range = np.log(high / low)
    return math.sqrt(SESSIONS_PER_YEAR / (4.0 * _LN2 * log_range.shape[0]) * float(np.sum(log_range**2)))


def garman_klass_hv(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> float:
    """√(252 / n · Σ [½ ln(H/L)² − (2 ln2 − 1) ln(C/O)²]) over n valid bars (each term ≥ 0 on valid bars)."""
    terms = 0.5 * np.log(high / low) ** 2 - (2.0 * _LN2 - 1.0) * np.log(close / open_) ** 2
    return math.sqrt(SESSIONS_PER_YEAR / terms.shape[0] * float(np.sum(terms)))


def yang_zhang_hv(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> float:
    """√(252 · (σo² + k σc² + (1 − k) σrs²)) over the last n of n + 1 valid bars (the first gives C_{i−1})."""
    o, h, lo, c = open_[1:], high[1:], low[1:], close[1:]
    n = o.shape[0]
    overnight = np.log(o / close[:-1])
    intraday = np.log(c / o)
    rogers_satchell = float(np.mean(np.log(h / c) * np.log(h / o) + np.log(lo / c) * np.log(lo / o)))
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    variance = float(np.var(overnight, ddof=1)) + k * float(np.var(intraday, ddof=1)) + (1 - k) * rogers_satchell
    return math.sqrt(SESSIONS_PER_YEAR * variance)


@dataclass(frozen=True, slots=True)
class RealizedFigures:
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


Estimator = Callable[[OhlcvBars], float]


def _estimators() -> dict[str, tuple[int, Estimator]]:
    """Key → (the bars its window holds, the estimator over those bars), in document order."""
    table: dict[str, tuple[int, Estimator]] = {
        f"hv_{n}": (n + 1, lambda b: close_to_close_hv(b.close)) for n in HV_WINDOWS
    }
    table["parkinson_20"] = (RANGE_WINDOW, lambda b: parkinson_hv(b.high, b.low))
    table["garman_klass_20"] = (RANGE_WINDOW, lambda b: garman_klass_hv(b.open, b.high, b.low, b.close))
    table["yang_zhang_20"] = (RANGE_WINDOW + 1, lambda b: yang_zhang_hv(b.open, b.high, b.low, b.close))
    return table


_ESTIMATORS = _estimators()


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def compute_realized(bars: OhlcvBars, session_date: dt.date | None, atm_iv_30d: float | None) -> RealizedFigures:
    """§13.4 for one ticker-day: `bars` are the last (at most 121) stored bars dated ≤ `session_date`
    (None: the date is not judged, no `no_bar_for_date`)."""
    bars = bars.last(MAX_BARS)
    invalid = invalid_bars(bars)
    diagnostics = [f"ohlcv_invalid_bar:{day}" for day in bars.dates[invalid].astype(str)]
    values: dict[str, float | None] = {}
    for key, (need, estimator) in _ESTIMATORS.items():
        if len(bars) < need:
            values[key] = None
            diagnostics.append(f"{key}:insufficient_bars({len(bars)}<{need})")
        elif np.any(invalid[-need:]):
            values[key] = None  # the invalid bar's own diagnostic says why
        else:
            values[key] = estimator(bars.last(need))
    gaps = None
    if len(bars):
        spanned = bars.sessions[(bars.sessions >= bars.dates[0]) & (bars.sessions <= bars.dates[-1])]
        gaps = int(np.count_nonzero(~np.isin(spanned, bars.dates)))
        if gaps:
            diagnostics.append("ohlcv_gap")
    if session_date is not None and (not len(bars) or bars.dates[-1] != np.datetime64(session_date, "D")):
        diagnostics.append("no_bar_for_date")
    hv_20, hv_60 = values["hv_20"], values["hv_60"]
    if hv_20 == 0:
        diagnostics.append("iv_hv_ratio:hv_20_is_zero")
    return RealizedFigures(
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
