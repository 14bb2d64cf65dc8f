"""SPEC §13.4 realized volatility: a 5-bar series worked by hand, an independent oracle on random bars,
and the rules for invalid bars, too few bars and session gaps."""

import datetime as dt
import math
import random

import numpy as np
import pytest

from app.domain.bars import OhlcvBars
from app.domain.volatility.document import REALIZED_DIGITS
from app.domain.volatility.realized import (
    close_to_close_hv,
    compute_realized,
    garman_klass_hv,
    parkinson_hv,
    yang_zhang_hv,
)

X = math.log(1.1)
# Two bar shapes on a base price P, every log ratio a multiple of x = ln 1.1:
#   A: L = P, O = C = 1.1P, H = 1.21P  → ln(H/L) = 2x, ln(C/O) = 0,  RS term x·x + (−x)(−x) = 2x²
#   B: L = O = P, H = C = 1.21P        → ln(H/L) = 2x, ln(C/O) = 2x, RS term 0·2x + (−2x)·0 = 0
# B(100), A(121), B(133.1), A(146.41), B(177.1561): opens gap up by x, 0, 0, x over the previous close.
FIVE = [  # open, high, low, close
    (100.0, 121.0, 100.0, 121.0),
    (133.1, 146.41, 121.0, 133.1),
    (133.1, 161.051, 133.1, 161.051),
    (161.051, 177.1561, 146.41, 161.051),
    (177.1561, 214.358881, 177.1561, 214.358881),
]


def _bars(rows, start=dt.date(2024, 1, 2), dates=None, sessions=None) -> OhlcvBars:
    days = dates if dates is not None else np.busday_offset(np.datetime64(start), np.arange(len(rows)), roll="forward")
    days = np.asarray(days, dtype="datetime64[D]")
    columns = np.array(rows, dtype=np.float64).reshape(len(rows), 4).T
    return OhlcvBars(days, *columns, sessions=days if sessions is None else np.asarray(sessions, "datetime64[D]"))


def _columns(rows):
    return [np.array(c) for c in zip(*rows, strict=True)]


def test_estimators_on_five_bars_by_hand():
    o, h, lo, c = _columns(FIVE)
    # closes 121, 133.1, 161.051, 161.051, 214.358881: returns x, 2x, 0, 3x; mean 1.5x,
    # squared deviations 0.25 + 0.25 + 2.25 + 2.25 = 5 (x²); sample variance 5x²/3 → x·√(5/3 · 252)
    assert close_to_close_hv(c) == pytest.approx(X * math.sqrt(420), rel=1e-12)
    # every ln(H/L) = 2x: 252 / (4 ln2 · 5) · 5 · 4x² = 252x² / ln2
    assert parkinson_hv(h, lo) == pytest.approx(X * math.sqrt(252 / math.log(2)), rel=1e-12)
    # three B terms ½·4x² − (2ln2 − 1)·4x², two A terms ½·4x²: Σ = x²(10 − 12(2ln2 − 1))
    assert garman_klass_hv(o, h, lo, c) == pytest.approx(X * math.sqrt(252 / 5 * (22 - 24 * math.log(2))), rel=1e-12)
    # n = 4 bars after the first: o = x, 0, 0, x (variance x²/3); c = 0, 2x, 0, 2x (variance 4x²/3);
    # RS terms 2x², 0, 2x², 0 (mean x²); k = 0.34 / (1.34 + 5/3)
    k = 0.34 / (1.34 + 5 / 3)
    assert yang_zhang_hv(o, h, lo, c) == pytest.approx(X * math.sqrt(252 * (4 / 3 + k / 3)), rel=1e-12)


# ---------------------------------------------------------------- an independent oracle: the formulas, in loops


def _oracle_hv(closes, n):
    closes = closes[-(n + 1) :]
    returns = [math.log(closes[i] / closes[i - 1]) for i in range(1, len(closes))]
    mean = sum(returns) / n
    return math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1) * 252)


def _oracle_parkinson(rows, n=20):
    total = 0.0
    for _o, h, lo, _c in rows[-n:]:
        total += math.log(h / lo) ** 2
    return math.sqrt(252 / (4 * math.log(2) * n) * total)


def _oracle_garman_klass(rows, n=20):
    total = 0.0
    for o, h, lo, c in rows[-n:]:
        total += 0.5 * math.log(h / lo) ** 2 - (2 * math.log(2) - 1) * math.log(c / o) ** 2
    return math.sqrt(252 / n * total)


def _sample_variance(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _oracle_yang_zhang(rows, n=20):
    window = rows[-(n + 1) :]
    overnight, intraday, rs = [], [], 0.0
    for i in range(1, n + 1):
        o, h, lo, c = window[i]
        overnight.append(math.log(o / window[i - 1][3]))
        intraday.append(math.log(c / o))
        rs += math.log(h / c) * math.log(h / o) + math.log(lo / c) * math.log(lo / o)
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    return math.sqrt(252 * (_sample_variance(overnight) + k * _sample_variance(intraday) + (1 - k) * rs / n))


def _random_rows(rng: random.Random, count: int):
    rows, close = [], 50.0 + 100 * rng.random()
    for _ in range(count):
        o = close * math.exp(rng.gauss(0, 0.01))
        c = o * math.exp(rng.gauss(0, 0.02))
        h = max(o, c) * math.exp(abs(rng.gauss(0, 0.01)))
        lo = min(o, c) * math.exp(-abs(rng.gauss(0, 0.01)))
        rows.append((o, h, lo, c))
        close = c
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_estimators_match_the_oracle_on_random_bars(seed):
    rng = random.Random(seed)
    rows = _random_rows(rng, 121 + seed)  # more bars than read: only the last 121 count
    closes = [r[3] for r in rows]
    figures = compute_realized(_bars(rows), None, atm_iv_30d=0.25)
    expected = {f"hv_{n}": _oracle_hv(closes, n) for n in (10, 20, 60, 120)}
    expected |= {
        "parkinson_20": _oracle_parkinson(rows),
        "garman_klass_20": _oracle_garman_klass(rows),
        "yang_zhang_20": _oracle_yang_zhang(rows),
    }
    expected["iv_hv_ratio"] = 0.25 / expected["hv_20"]
    expected["vrp_30d"] = (0.25 - expected["hv_20"]) * 100
    expected["hv20_hv60_ratio"] = expected["hv_20"] / expected["hv_60"]
    for key, value in expected.items():
        assert getattr(figures, key) == pytest.approx(value, rel=1e-10), key
        assert round(getattr(figures, key), REALIZED_DIGITS[key]) == round(value, REALIZED_DIGITS[key]), key
    assert figures.bars_used == 121
    assert figures.session_gaps == 0


# ---------------------------------------------------------------- the rules


def _walk(count):
    return _random_rows(random.Random(99), count)


def test_too_few_bars_null_the_estimators_that_need_more():
    figures = compute_realized(_bars(_walk(20)), None, atm_iv_30d=0.2)
    assert figures.hv_10 is not None
    assert figures.parkinson_20 is not None
    assert figures.garman_klass_20 is not None
    assert (figures.hv_20, figures.hv_60, figures.hv_120, figures.yang_zhang_20) == (None, None, None, None)
    assert figures.iv_hv_ratio is None
    assert figures.vrp_30d is None
    assert figures.hv20_hv60_ratio is None
    assert "hv_20:insufficient_bars(20<21)" in figures.diagnostics
    assert "yang_zhang_20:insufficient_bars(20<21)" in figures.diagnostics
    assert "hv_120:insufficient_bars(20<121)" in figures.diagnostics
    assert not any(d.startswith(("hv_10:", "parkinson_20:")) for d in figures.diagnostics)


def test_no_bars_at_all():
    figures = compute_realized(OhlcvBars.empty(), dt.date(2024, 1, 2), atm_iv_30d=None)
    assert figures.bars_used == 0
    assert figures.session_gaps is None
    assert figures.hv_10 is None
    assert "hv_10:insufficient_bars(0<11)" in figures.diagnostics
    assert "no_bar_for_date" in figures.diagnostics


@pytest.mark.parametrize(
    "bad",
    [
        (math.nan, 101.0, 99.0, 100.0),  # missing open
        (100.0, 101.0, 99.0, 0.0),  # non-positive close
        (100.0, 99.0, 101.0, 100.0),  # high < low
        (102.0, 101.0, 99.0, 100.0),  # open above high
        (100.0, 101.0, 99.0, 98.0),  # close below low
    ],
)
def test_an_invalid_bar_nulls_every_window_that_holds_it(bad):
    rows = _walk(121)
    rows[-15] = bad  # inside the 20- and 60-bar windows, outside the 10-return window (11 bars)
    bars = _bars(rows)
    figures = compute_realized(bars, None, atm_iv_30d=0.2)
    assert figures.hv_10 == pytest.approx(_oracle_hv([r[3] for r in rows], 10), rel=1e-10)
    assert figures.hv_20 is figures.hv_60 is figures.hv_120 is None
    assert figures.parkinson_20 is figures.garman_klass_20 is figures.yang_zhang_20 is None
    assert figures.iv_hv_ratio is None
    assert figures.bars_used == 121
    assert figures.diagnostics == (f"ohlcv_invalid_bar:{bars.dates[-15]}",)


def test_session_gaps_are_counted_and_the_bars_used_as_stored():
    rows = _walk(12)
    days = np.busday_offset(np.datetime64("2024-03-01"), np.arange(14), roll="forward")
    kept = np.delete(days, [4, 9])  # two sessions without a bar
    figures = compute_realized(_bars(rows, dates=kept, sessions=days), kept[-1].astype(dt.date), atm_iv_30d=None)
    assert figures.session_gaps == 2
    assert "ohlcv_gap" in figures.diagnostics
    assert figures.hv_10 == pytest.approx(_oracle_hv([r[3] for r in rows], 10), rel=1e-12)
    assert "no_bar_for_date" not in figures.diagnostics


def test_no_bar_dated_the_session():
    bars = _bars(_walk(30), start=dt.date(2024, 1, 2))
    figures = compute_realized(bars, dt.date(2024, 3, 28), atm_iv_30d=None)
    assert "no_bar_for_date" in figures.diagnostics
    assert figures.hv_20 is not None


def test_ratios_against_iv_by_hand():
    # a flat close gives hv = 0 exactly: the ratio is null, the premium is the IV itself
    rows = [(100.0, 101.0, 99.0, 100.0)] * 61
    figures = compute_realized(_bars(rows), None, atm_iv_30d=0.2)
    assert figures.hv_20 == 0.0
    assert figures.iv_hv_ratio is None
    assert figures.vrp_30d == pytest.approx(20.0)
    assert figures.hv20_hv60_ratio is None
    assert "iv_hv_ratio:hv_20_is_zero" in figures.diagnostics
