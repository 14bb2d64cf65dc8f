"""SPEC §12.2 constant-maturity volatility on chains worked out by hand."""

import math

import numpy as np
import pytest

from app.domain.models import VolatilityParams
from app.domain.volatility import compute_volatility
from app.domain.volatility.constant_maturity import (
    HORIZON_30D,
    ExpiryCurve,
    atm_term_structure,
    risk_reversal_curve,
    total_variance_iv,
)
from tests.unit.chains import chain


def _ivs(curve: ExpiryCurve) -> list[float]:
    return curve.iv.tolist()


def _curve(*points: tuple[float, float]) -> ExpiryCurve:
    """(DTE, IV) points, T = DTE / 365."""
    dte = np.array([p[0] for p in points], dtype=float)
    return ExpiryCurve(dte / 365, dte, np.array([p[1] for p in points], dtype=float))


def _smile(*strike_ivs: tuple[str, float, float], dte: int = 30):
    return chain(*({"type": kind, "strike": k, "iv": iv, "dte": dte} for kind, k, iv in strike_ivs))


SMILE = _smile(("C", 95.0, 0.30), ("C", 100.0, 0.20), ("P", 100.0, 0.24), ("P", 105.0, 0.18))


def test_strike_iv_is_the_mean_of_the_call_and_the_put_and_atm_iv_is_linear_in_strike():
    # strike IVs: 95 → 0.30 (call only), 100 → (0.20 + 0.24) / 2 = 0.22, 105 → 0.18 (put only)
    # spot 102: 0.22 + (102 − 100) / (105 − 100) · (0.18 − 0.22) = 0.204
    assert _ivs(atm_term_structure(SMILE, 102.0)) == pytest.approx([0.204], rel=1e-12)
    assert _ivs(atm_term_structure(SMILE, 100.0)) == [0.22]  # a strike exactly at spot gives its own IV
    assert _ivs(atm_term_structure(SMILE, 97.0)) == pytest.approx([0.30 + 0.4 * (0.22 - 0.30)], rel=1e-12)
    assert len(atm_term_structure(SMILE, 106.0)) == 0
    assert len(atm_term_structure(SMILE, 94.0)) == 0
    curve = atm_term_structure(SMILE, 102.0)
    assert (curve.years.tolist(), curve.dte_days.tolist()) == ([30 / 365], [30.0])  # T = DTE / 365 without a clock


def test_every_expiry_gets_its_own_atm_iv_and_strikes_never_mix_across_expiries():
    near = [("C", 95.0, 0.30), ("C", 100.0, 0.20)]  # reaches spot 102 only through the far expiry's 105
    far = [("C", 100.0, 0.40), ("C", 105.0, 0.50)]
    book = chain(
        *({"type": t, "strike": k, "iv": iv, "dte": 10} for t, k, iv in near),
        *({"type": t, "strike": k, "iv": iv, "dte": 40} for t, k, iv in far),
        {"type": "C", "strike": 100.0, "iv": 0.9, "dte": 0},  # T floored at 15 minutes: still an expiry
    )
    points = atm_term_structure(book, 102.0)
    assert points.dte_days.tolist() == [40.0]  # the 10-day expiry's strikes stop at 100
    assert _ivs(points) == pytest.approx([0.44], rel=1e-12)
    assert atm_term_structure(book, 100.0).dte_days.tolist() == [0.0, 10.0, 40.0]


def test_total_variance_interpolation_at_and_between_horizons():
    # w = IV²·T: 0.04 · 20/365 and 0.09 · 40/365; halfway in T: w_H = (0.8 + 3.6) / 2 / 365 = 2.2 / 365
    # IV = √(w_H / H) = √(2.2 / 30) = 0.270801…
    assert total_variance_iv(_curve((20, 0.20), (40, 0.30)), HORIZON_30D) == pytest.approx(
        math.sqrt(2.2 / 30), rel=1e-12
    )
    # only the expiries either side of H count: 10 and 60 days change nothing
    wider = _curve((10, 0.9), (20, 0.20), (40, 0.30), (60, 0.9))
    assert total_variance_iv(wider, HORIZON_30D) == pytest.approx(math.sqrt(2.2 / 30), rel=1e-12)
    assert total_variance_iv(_curve((20, 0.20), (30, 0.25), (40, 0.30)), HORIZON_30D) == 0.25  # exactly at H
    assert total_variance_iv(_curve((20, 0.20)), HORIZON_30D) is None  # no extrapolation
    assert total_variance_iv(_curve((40, 0.30)), HORIZON_30D) is None


def _legs(kind: str, strikes, deltas, ivs, dte: int = 30):
    return [
        {"type": kind, "strike": k, "delta": d, "iv": iv, "dte": dte}
        for k, d, iv in zip(strikes, deltas, ivs, strict=True)
    ]


def test_the_risk_reversal_walk_away_from_spot():
    spot = 100.0
    # puts below spot, walked downwards: (98, −0.35) (95, −0.28) (92, −0.20) (89, −0.12)
    # the first pair bracketing −0.25 is 95/92: 0.22 + (−0.25 + 0.28) / (−0.20 + 0.28) · (0.25 − 0.22) = 0.23125
    puts = _legs("P", [89.0, 92.0, 95.0, 98.0], [-0.12, -0.20, -0.28, -0.35], [0.29, 0.25, 0.22, 0.20])
    assert _ivs(risk_reversal_curve(chain(*puts), spot, is_call=False)) == pytest.approx([0.23125], rel=1e-12)
    # a contract exactly at the target gives its own IV; an in-the-money put is never used
    exact = _legs("P", [95.0, 105.0], [-0.25, -0.6], [0.21, 0.5])
    assert _ivs(risk_reversal_curve(chain(*exact), spot, is_call=False)) == [0.21]
    # calls above spot, walked upwards; none brackets +0.25: no point
    calls = _legs("C", [101.0, 103.0], [0.45, 0.40], [0.2, 0.2])
    assert len(risk_reversal_curve(chain(*calls), spot, is_call=True)) == 0
    # the walk stops at the first bracketing pair: (101, 0.30) (104, 0.20) → 0.21 + 0.5 · 0.02 = 0.22,
    # not the later pair (110, 0.26) (112, 0.24) that brackets it again
    walked = _legs("C", [112.0, 110.0, 104.0, 101.0], [0.24, 0.26, 0.20, 0.30], [0.9, 0.9, 0.23, 0.21])
    assert _ivs(risk_reversal_curve(chain(*walked), spot, is_call=True)) == pytest.approx([0.22], rel=1e-12)


def test_a_risk_reversal_pair_never_spans_two_expiries():
    # the 10-day calls stop short of +0.25 and the 40-day ones start past it: only a pair that spanned
    # the two expiries (0.30 → 0.20) would bracket the target
    book = chain(
        *_legs("C", [101.0, 103.0], [0.40, 0.30], [0.2, 0.2], dte=10),
        *_legs("C", [105.0, 108.0], [0.20, 0.10], [0.3, 0.3], dte=40),
        *_legs("C", [101.0, 106.0], [0.35, 0.15], [0.4, 0.6], dte=60),  # 0.4 + 0.5 · 0.2 = 0.5
    )
    points = risk_reversal_curve(book, 100.0, is_call=True)
    assert points.dte_days.tolist() == [60.0]
    assert _ivs(points) == pytest.approx([0.5], rel=1e-12)


def _book(spot_iv_20: float, spot_iv_40: float):
    """Two expiries straddling 30 days, strikes around spot 100, deltas that bracket ±0.25."""
    contracts = []
    for dte, level in ((20, spot_iv_20), (40, spot_iv_40)):
        for strike, delta_call in ((90.0, 0.85), (95.0, 0.7), (100.0, 0.5), (105.0, 0.3), (110.0, 0.2)):
            contracts.append({"type": "C", "strike": strike, "dte": dte, "iv": level, "delta": delta_call, "oi": 500})
            contracts.append(
                {"type": "P", "strike": strike, "dte": dte, "iv": level + 0.02, "delta": delta_call - 1, "oi": 500}
            )
    return chain(*contracts)


def test_the_volatility_document_carries_the_constant_maturity_keys():
    params = VolatilityParams()
    result = compute_volatility(_book(0.20, 0.30), np.empty(0), params, spot=100.0)
    figures = result.figures
    # ATM IV per expiry: mean of call and put at the 100 strike: 0.21 and 0.31; T = DTE / 365 (no clock)
    assert figures.atm_iv_30d == pytest.approx(math.sqrt((0.21**2 * 20 + (0.31**2 * 40 - 0.21**2 * 20) * 0.5) / 30))
    assert figures.atm_iv_90d is None
    assert "atm_iv_90d:no_expiry_beyond_90d" in result.diagnostics
    assert figures.atm_term_structure is None
    # 25-delta IVs are flat within each type and expiry: calls 0.20 / 0.30, puts 0.22 / 0.32 at 20 / 40 days.
    # At 30 days by total variance: calls √((0.04·20 + (0.09·40 − 0.04·20)/2) / 30) = √(2.2/30) = 0.270801,
    # puts √((0.0484·20 + (0.1024·40 − 0.0484·20)/2) / 30) = √(2.532/30) = 0.290517: 1.9716 points, not 2
    expected = (math.sqrt(2.532 / 30) - math.sqrt(2.2 / 30)) * 100
    assert figures.rr25_30d == pytest.approx(expected, rel=1e-9)
    assert round(expected, 4) == 1.9716
    assert result.processing_status == "PARTIAL"  # decided by the six core metrics, not by these keys


def test_iv30_rank_ranks_the_written_atm_iv_30d_against_its_own_history():
    history_30d = np.linspace(0.10, 0.40, 25)
    result = compute_volatility(_book(0.20, 0.30), np.empty(0), VolatilityParams(), spot=100.0, history_30d=history_30d)
    written = round(result.figures.atm_iv_30d, 4)
    assert result.figures.iv30_rank == pytest.approx((written - 0.10) / 0.30 * 100)
    assert result.figures.iv30_percentile == pytest.approx(np.count_nonzero(history_30d <= written) / 25 * 100)
    short = compute_volatility(
        _book(0.2, 0.3), np.empty(0), VolatilityParams(), spot=100.0, history_30d=history_30d[:3]
    )
    assert short.figures.iv30_rank is None
    assert "iv30_rank:insufficient_history(3<20)" in short.diagnostics


def test_without_a_spot_the_constant_maturity_keys_are_null_with_no_spot():
    result = compute_volatility(_book(0.2, 0.3), np.empty(0), VolatilityParams(), spot=None)
    assert result.figures.atm_iv_30d is None
    assert result.figures.rr25_30d is None
    assert "no_spot" in result.diagnostics
    assert result.figures.average_iv is not None
