"""The §12.1 sweep stops at the first window around spot that holds the nearest crossing: it must give
the zero gamma of a sweep over all 161 levels, worked by hand or by plain loops over the SPEC formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.domain.dealer import compute_dealer
from app.domain.models import DealerParams
from tests.unit.chains import chain

YEAR_LONG = DealerParams(max_dte_days=400)


def _two_contract_book(call_strike: float, put_strike: float):
    return chain(
        {"type": "C", "strike": call_strike, "dte": 365, "iv": 0.20, "oi": 1000},
        {"type": "P", "strike": put_strike, "dte": 365, "iv": 0.20, "oi": 1000},
    )


@pytest.mark.parametrize(("call_strike", "put_strike"), [(90.0, 110.0), (70.0, 120.0), (62.0, 118.0)])
def test_a_crossing_beyond_the_first_windows_is_found_where_the_algebra_says(call_strike, put_strike):
    # equal OI and σ√T = 0.2: Γ(s) = 0 where ln s = (ln K_call + ln K_put − 0.04) / 2
    exact = math.sqrt(call_strike * put_strike) * math.exp(-0.02)  # 97.53 (±4%), 89.84 (±12%), 83.75 (±20%)
    book = _two_contract_book(call_strike, put_strike)
    quick = compute_dealer(book, 100.0, YEAR_LONG).levels
    whole = compute_dealer(book, 100.0, YEAR_LONG, whole_profile=True).levels
    assert quick.zero_gamma == pytest.approx(exact, abs=0.01)
    assert quick.zero_gamma == whole.zero_gamma
    assert whole.gamma_profile.shape == (161,)


def _plain_zero_gamma(rows, spot):
    """§12.1 by plain loops: Γ at the 161 levels, every crossing, the nearest (the lower on a tie)."""
    grid = [spot * (0.80 + 0.0025 * i) for i in range(161)]
    profile = []
    for s in grid:
        total = 0.0
        for r in rows:
            a = r["iv"] * math.sqrt(r["dte"] / 365)
            d1 = (math.log(s / r["strike"]) + a * a / 2) / a
            sign = -1.0 if r["type"] == "C" else 1.0
            total += sign * math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi) / (s * a) * r["oi"] * s * s
        profile.append(total)
    crossings = [
        grid[i] + (grid[i + 1] - grid[i]) * abs(profile[i]) / abs(profile[i + 1] - profile[i])
        for i in range(160)
        if profile[i] * profile[i + 1] < 0 or (profile[i + 1] == 0 and profile[i] != 0)
    ]
    return min(crossings, key=lambda x: (abs(x - spot), x)) if crossings else None


@pytest.mark.parametrize("seed", range(8))
def test_the_windowed_sweep_gives_the_plain_sweeps_zero_gamma_on_random_books(seed):
    rng = np.random.default_rng(100 + seed)
    centre = rng.uniform(70, 130)  # where the book's open interest sits: zero gamma lands near or far
    rows = [
        {
            "type": str(rng.choice(["C", "P"])),
            "strike": float(np.round(rng.normal(centre, 15), 1)),
            "dte": int(rng.integers(1, 120)),
            "iv": float(rng.uniform(0.1, 0.8)),
            "oi": float(rng.integers(1, 5000)),
        }
        for _ in range(60)
    ]
    rows = [r for r in rows if r["strike"] > 0]
    expected = _plain_zero_gamma(rows, 100.0)
    zero = compute_dealer(chain(*rows), 100.0, DealerParams()).levels.zero_gamma
    assert (zero is None) == (expected is None)
    if expected is not None:
        assert zero == pytest.approx(expected, abs=1e-6)
