"""SPEC §12.2 constant-maturity volatility on chains worked out by hand."""

import math

import numpy as np
import pytest

from app.domain.models import VolatilityParams
from app.domain.volatility import compute_volatility
from app.domain.volatility.constant_maturity import (
    HORIZON_30D,
    ExpiryPoint,
    atm_iv,
    delta_interpolated_iv,
    strike_ivs,
    total_variance_iv,
)
from tests.unit.chains import chain


def test_strike_iv_is_the_mean_of_the_call_and_the_put():
    strikes, ivs = strike_ivs(np.array([95.0, 100.0, 100.0, 105.0]), np.array([0.30, 0.20, 0.24, 0.18]))
    assert strikes.tolist() == [95.0, 100.0, 105.0] and ivs.tolist() == pytest.approx([0.30, 0.22, 0.18])


def test_atm_iv_is_linear_in_strike_between_the_strikes_around_spot():
    strikes, ivs = np.array([95.0, 100.0, 105.0]), np.array([0.30, 0.22, 0.18])
    # spot 102: 0.22 + (102 − 100) / (105 − 100) · (0.18 − 0.22) = 0.204
    assert atm_iv(strikes, ivs, 102.0) == pytest.approx(0.204)
    assert atm_iv(strikes, ivs, 100.0) == 0.22  # a strike exactly at spot gives its own IV
    assert atm_iv(strikes, ivs, 106.0) is None and atm_iv(strikes, ivs, 94.0) is None


def test_total_variance_interpolation_at_and_between_horizons():
    first, second = ExpiryPoint(20 / 365, 20, 0.20), ExpiryPoint(40 / 365, 40, 0.30)
    # w = IV²·T: 0.04 · 20/365 and 0.09 · 40/365; halfway in T: w_H = (0.8 + 3.6) / 2 / 365 = 2.2 / 365
    # IV = √(w_H / H) = √(2.2 / 30) = 0.270801…
    assert total_variance_iv([first, second], HORIZON_30D) == pytest.approx(math.sqrt(2.2 / 30), rel=1e-12)
    at_horizon = ExpiryPoint(HORIZON_30D, 30, 0.25)
    assert total_variance_iv([first, at_horizon, second], HORIZON_30D) == 0.25  # an expiry exactly at H
    assert total_variance_iv([first], HORIZON_30D) is None  # no extrapolation
    assert total_variance_iv([second], HORIZON_30D) is None


def test_the_risk_reversal_walk_away_from_spot():
    spot = 100.0
    # puts below spot, walked downwards: (98, −0.35) (95, −0.28) (92, −0.20) (89, −0.12)
    # the first pair bracketing −0.25 is 95/92: 0.22 + (−0.25 + 0.28) / (−0.20 + 0.28) · (0.25 − 0.22) = 0.23125
    strikes = np.array([89.0, 92.0, 95.0, 98.0])
    deltas = np.array([-0.12, -0.20, -0.28, -0.35])
    ivs = np.array([0.29, 0.25, 0.22, 0.20])
    assert delta_interpolated_iv(strikes, deltas, ivs, spot, False, -0.25) == pytest.approx(0.23125)
    # a contract exactly at the target gives its own IV; an in-the-money put is never used
    assert (
        delta_interpolated_iv(
            np.array([95.0, 105.0]), np.array([-0.25, -0.6]), np.array([0.21, 0.5]), spot, False, -0.25
        )
        == 0.21
    )
    # calls above spot, walked upwards; none brackets +0.25: None
    assert (
        delta_interpolated_iv(np.array([101.0, 103.0]), np.array([0.45, 0.40]), np.array([0.2, 0.2]), spot, True, 0.25)
        is None
    )


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
    assert figures.atm_iv_90d is None and "atm_iv_90d:no_expiry_beyond_90d" in result.diagnostics
    assert figures.atm_term_structure is None
    # 25-delta IVs are flat within each type and expiry: calls 0.20 / 0.30, puts 0.22 / 0.32 at 20 / 40 days.
    # At 30 days by total variance: calls √((0.04·20 + (0.09·40 − 0.04·20)/2) / 30) = √(2.2/30) = 0.270801,
    # puts √((0.0484·20 + (0.1024·40 − 0.0484·20)/2) / 30) = √(2.532/30) = 0.290517: 1.9716 points, not 2
    expected = (math.sqrt(2.532 / 30) - math.sqrt(2.2 / 30)) * 100
    assert figures.rr25_30d == pytest.approx(expected, rel=1e-9) and round(expected, 4) == 1.9716
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
    assert short.figures.iv30_rank is None and "iv30_rank:insufficient_history(3<20)" in short.diagnostics


def test_without_a_spot_the_constant_maturity_keys_are_null_with_no_spot():
    result = compute_volatility(_book(0.2, 0.3), np.empty(0), VolatilityParams(), spot=None)
    assert result.figures.atm_iv_30d is None and result.figures.rr25_30d is None
    assert "no_spot" in result.diagnostics and result.figures.average_iv is not None
