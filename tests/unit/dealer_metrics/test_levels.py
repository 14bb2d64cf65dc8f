"""SPEC §12.1 market levels on chains small enough to work out by hand."""

import math

import numpy as np
import pytest

from app.domain.dealer import compute_dealer, compute_dealer_metrics
from app.domain.dealer.sweep import sweep_levels, zero_gamma_crossing
from app.domain.models import DealerParams
from tests.unit.chains import chain, context

# Without a snapshot clock a contract of 365 DTE has T = 1 year exactly (beyond the default DTE rule).
ONE_YEAR = 365
YEAR_LONG = DealerParams(max_dte_days=400)


def phi(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def test_one_contracts_black_scholes_gamma_at_two_levels():
    # K = 100, σ = 0.20, T = 1: at s = 100, d1 = (0 + 0.02) / 0.2 = 0.1, γ = φ(0.1) / (100 · 0.2) = 0.0198476…
    # at s = 110 (level i = 120): d1 = (ln 1.1 + 0.02) / 0.2 = 0.5765509, γ = φ(d1) / (110 · 0.2) = 0.0153570…
    gamma_100 = phi(0.1) / 20
    d1_110 = (math.log(1.1) + 0.02) / 0.2
    gamma_110 = phi(d1_110) / 22
    assert gamma_100 == pytest.approx(0.019847627, abs=1e-9)
    assert gamma_110 == pytest.approx(0.0153570, abs=1e-7)
    put = chain({"type": "P", "strike": 100, "dte": ONE_YEAR, "iv": 0.20, "oi": 1000, "delta": -0.4})
    result = compute_dealer(put, 100.0, YEAR_LONG)
    levels = result.levels
    # Γ(s) = sign · γ · OI · s² · 0.01 · 100; a put counts +1 (kapman)
    assert levels.gamma_at_spot == pytest.approx(gamma_100 * 1000 * 100**2, rel=1e-12)
    assert levels.spots[120] == pytest.approx(110.0)
    assert levels.gamma_profile[120] == pytest.approx(gamma_110 * 1000 * 110**2, rel=1e-12)
    assert levels.zero_gamma is None  # one put: Γ(s) > 0 everywhere
    doc = compute_dealer_metrics(put, 100.0, YEAR_LONG, context())
    assert doc.levels.gamma_at_spot == round(gamma_100 * 1000 * 100**2, 2)
    assert "no_zero_gamma_in_range" in doc.metadata.diagnostics


def test_a_two_contract_book_crosses_zero_where_the_algebra_says():
    # A call at 90 (−1) and a put at 110 (+1), equal OI, σ√T = a = 0.2 for both:
    # Γ(s) ∝ −φ(d1_call) + φ(d1_put) = 0  ⇔  d1_call = −d1_put  ⇔  ln s = (ln 90 + ln 110 − a²) / 2
    # s* = √(90 · 110) · e^(−0.02) = 99.4987437 · 0.9801987 = 97.52853…
    exact = math.sqrt(90 * 110) * math.exp(-0.02)
    book = chain(
        {"type": "C", "strike": 90, "dte": ONE_YEAR, "iv": 0.20, "oi": 1000, "delta": 0.7},
        {"type": "P", "strike": 110, "dte": ONE_YEAR, "iv": 0.20, "oi": 1000, "delta": -0.7},
    )
    zero = compute_dealer(book, 100.0, YEAR_LONG).levels.zero_gamma
    # the sweep interpolates linearly between levels 97.50 and 97.75: within a hundredth of the root
    assert 97.5 < exact < 97.75
    assert zero == pytest.approx(exact, abs=0.01)
    assert compute_dealer_metrics(book, 100.0, YEAR_LONG, context()).levels.zero_gamma == round(zero, 2)


def test_the_sweep_grid_and_its_tie_rules():
    spots = sweep_levels(100.0)
    assert spots.shape == (161,)
    assert spots[0] == pytest.approx(80.0)
    assert spots[-1] == pytest.approx(120.0)
    assert spots[80] == pytest.approx(100.0)
    assert np.allclose(np.diff(spots), 0.25)
    # crossings at 98.125 and 101.875 are equally far from spot 100: the lower wins
    levels = np.array([97.5, 98.75, 100.0, 101.25, 102.5])
    gamma = np.array([-1.0, 1.0, 1.0, 1.0, -1.0])
    assert zero_gamma_crossing(levels, gamma, 100.0) == pytest.approx(98.125)
    # Γ(b) = 0 ≠ Γ(a) is a crossing at b; Γ(a)·Γ(b) > 0 everywhere is none
    assert zero_gamma_crossing(np.array([99.0, 100.0, 101.0]), np.array([2.0, 0.0, -1.0]), 100.0) == 100.0
    assert zero_gamma_crossing(np.array([99.0, 100.0]), np.array([2.0, 3.0]), 100.0) is None


def test_gex_walls_by_largest_gex_then_nearest_spot_then_lower_strike():
    # |call GEX| = |gamma| · OI · 10,000 at spot 100: 95 → 5e6, 105 → 5e6 (a tie, equally far: lower),
    # 101 → 4e6. Puts: 90 → 2e6 (the largest).
    book = chain(
        {"type": "C", "strike": 95, "gamma": 0.05, "oi": 10_000, "iv": 0.3},
        {"type": "C", "strike": 105, "gamma": 0.05, "oi": 10_000, "iv": 0.3},
        {"type": "C", "strike": 101, "gamma": 0.04, "oi": 10_000, "iv": 0.3},
        {"type": "P", "strike": 90, "gamma": 0.02, "oi": 10_000, "iv": 0.3},
        {"type": "P", "strike": 99, "gamma": 0.01, "oi": 10_000, "iv": 0.3},
    )
    levels = compute_dealer(book, 100.0, DealerParams()).levels
    assert (levels.call_gex_wall, levels.put_gex_wall) == (95.0, 90.0)
    calls_only = chain({"type": "C", "strike": 100, "gamma": 0.05})
    assert compute_dealer(calls_only, 100.0, DealerParams()).levels.put_gex_wall is None


def test_gex_by_dte_buckets_zero_dte_share_dex_and_counts():
    # spot 100: contract GEX = sign · |gamma| · OI · 10,000; kapman calls −1, puts +1
    book = chain(
        {"type": "C", "strike": 100, "dte": 0, "gamma": 0.05, "oi": 1000, "delta": 0.5},  # −500,000 (intraday 0DTE)
        {"type": "P", "strike": 100, "dte": 5, "gamma": 0.04, "oi": 1000, "delta": -0.5},  # +400,000
        {"type": "C", "strike": 105, "dte": 20, "gamma": 0.03, "oi": 1000, "delta": 0.3},  # −300,000
        {"type": "P", "strike": 95, "dte": 45, "gamma": 0.02, "oi": 1000, "delta": math.nan},  # +200,000
        {"type": "C", "strike": 110, "dte": 80, "gamma": 0.01, "oi": 1000, "iv": math.nan, "delta": 0.1},  # −100,000
    )
    doc = compute_dealer_metrics(book, 100.0, DealerParams(), context())
    buckets = [(b.dte_min, b.dte_max, b.gex_net, b.gex_total) for b in doc.levels.gex_by_dte]
    assert buckets == [
        (0, 0, -500_000.0, 500_000.0),
        (1, 7, 400_000.0, 400_000.0),
        (8, 30, -300_000.0, 300_000.0),
        (31, 60, 200_000.0, 200_000.0),
        (61, 90, -100_000.0, 100_000.0),
        (91, None, 0.0, 0.0),  # always six buckets: an empty one is zeros
    ]
    # the seed's strike GEX: 100 → −100,000; 105 → −300,000; 95 → +200,000; 110 → −100,000: 700,000.
    # zero_dte_share is over the buckets' own gross GEX: 500,000 / (500 + 400 + 300 + 200 + 100) thousand
    assert doc.gex_total == 700_000.0
    assert doc.levels.zero_dte_share == round(500_000 / 1_500_000, 4)
    # DEX = Σ sign · Δ · OI · 100 · S over finite deltas: (−0.5 − 0.5 − 0.3 − 0.1) · 1000 · 100 · 100
    assert doc.levels.dex_net == -14_000_000.0
    counts = doc.levels.levels_counts
    assert (counts.universe_contracts, counts.contracts_used, counts.left_out_no_iv) == (5, 4, 1)
    assert (counts.left_out_no_gamma, counts.left_out_no_delta) == (0, 1)


def test_without_a_usable_iv_the_black_scholes_levels_are_null():
    no_iv = chain({"type": "C", "strike": 100, "iv": math.nan}, {"type": "P", "strike": 95, "iv": 42.0})
    doc = compute_dealer_metrics(no_iv, 100.0, DealerParams(), context())
    assert doc.levels.zero_gamma is None
    assert doc.levels.gamma_at_spot is None
    assert doc.levels.call_gex_wall == 100.0  # provider gamma: still known
    assert "no_usable_iv_for_levels" in doc.metadata.diagnostics
    nothing = compute_dealer_metrics(None, 100.0, DealerParams(), context())
    assert nothing.levels.zero_gamma_method == "bs_spot_sweep_pm20"
    assert nothing.levels.universe == "all_open_interest"
    assert [(b.dte_min, b.dte_max, b.gex_net, b.gex_total, b.vanna_exposure, b.charm_exposure)
            for b in nothing.levels.gex_by_dte] == [
        (0, 0, 0, 0, 0, 0), (1, 7, 0, 0, 0, 0), (8, 30, 0, 0, 0, 0), (31, 60, 0, 0, 0, 0), (61, 90, 0, 0, 0, 0),
        (91, None, 0, 0, 0, 0),
    ]  # fmt: skip


def _random_book(seed: int, oi_scale: float = 1.0):
    rng = np.random.default_rng(seed)
    n = 400
    contracts = [
        {
            "type": str(rng.choice(["C", "P"])),
            "strike": float(rng.choice(np.arange(70, 131, 2.5))),
            "dte": int(rng.integers(1, 90)),
            "iv": float(rng.uniform(0.15, 0.6)),
            "oi": float(rng.integers(100, 5000)) * oi_scale,
            "delta": float(rng.uniform(-1, 1)),
            "gamma": float(rng.uniform(0.001, 0.08)),
            "bid": 1.0,
            "ask": 1.05,
        }
        for _ in range(n)
    ]
    return chain(*contracts)


def test_the_random_books_do_cross_zero():
    crossing = [compute_dealer(_random_book(s), 100.0, DealerParams()).levels.zero_gamma for s in (1, 2, 3)]
    assert sum(z is not None for z in crossing) >= 2  # the property tests below are not vacuous


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_doubling_open_interest_leaves_zero_gamma_and_the_walls_unchanged(seed):
    once = compute_dealer(_random_book(seed), 100.0, DealerParams()).levels
    twice = compute_dealer(_random_book(seed, oi_scale=2.0), 100.0, DealerParams()).levels
    assert once.zero_gamma == twice.zero_gamma  # scaling by 2 is exact in floating point
    assert (once.call_gex_wall, once.put_gex_wall) == (twice.call_gex_wall, twice.put_gex_wall)
    assert twice.gamma_at_spot == pytest.approx(2 * once.gamma_at_spot, rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sign_convention_flips_every_sign_and_keeps_zero_gamma_and_the_walls(seed):
    book = _random_book(seed)
    kapman = compute_dealer_metrics(book, 100.0, DealerParams(), context()).levels
    industry = compute_dealer_metrics(book, 100.0, DealerParams(sign_convention="industry"), context()).levels
    assert industry.gamma_at_spot == -kapman.gamma_at_spot
    assert industry.dex_net == -kapman.dex_net
    assert [b.gex_net for b in industry.gex_by_dte] == [-b.gex_net for b in kapman.gex_by_dte]
    assert [b.gex_total for b in industry.gex_by_dte] == [b.gex_total for b in kapman.gex_by_dte]
    assert industry.zero_gamma == kapman.zero_gamma
    assert (industry.call_gex_wall, industry.put_gex_wall) == (kapman.call_gex_wall, kapman.put_gex_wall)
