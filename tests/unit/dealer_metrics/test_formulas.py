"""Each dealer formula on chains small enough to sum by hand (SPEC §5.2)."""

import math

import numpy as np
import pytest

from app.domain.dealer import (
    classify_confidence,
    classify_position,
    compute_dealer_metrics,
    compute_dgpi,
    compute_gamma_flip,
    compute_gex_slope,
    compute_walls,
)
from app.domain.models import DealerParams
from tests.unit.chains import chain, context

# Spot 100: S^2 * 0.01 * 100 = 10,000, so contract GEX = sign * |gamma| * OI * 10,000.
THREE_STRIKES = (
    {"type": "P", "strike": 95, "gamma": 0.04, "oi": 2000},  # +0.04*2000*10,000 = +800,000
    {"type": "C", "strike": 100, "gamma": 0.05, "oi": 1000},  # -0.05*1000*10,000 = -500,000
    {"type": "C", "strike": 105, "gamma": 0.03, "oi": 1500},  # -0.03*1500*10,000 = -450,000
)


def test_gex_totals_flip_slope_and_dgpi_by_hand():
    doc = compute_dealer_metrics(chain(*THREE_STRIKES), 100.0, DealerParams(), context())
    # |800,000| + |-500,000| + |-450,000|
    assert doc.gex_total == 1_750_000.0
    assert doc.gex_net == -150_000.0
    # running sums 800,000 / 300,000 / -150,000: crossing between 100 and 105
    # flip = 100 + 300,000 / 450,000 * 5 = 103.333…
    assert doc.gamma_flip == 103.33
    # window [98, 102]: lower (98 <= K < 100) = 0, upper (100 <= K <= 102) = -500,000
    # slope = (-500,000 - 0) / (2 * 0.02 * 100) = -125,000
    assert doc.gex_slope == -125_000.0
    # base = -log10(150,001) * 10 = -51.7609…; slope tilt clamps at -0.3 -> * 0.7 = -36.2327
    assert doc.dgpi == pytest.approx(round(-math.log10(150_001) * 10 * 0.7, 2))
    assert doc.dgpi == -36.23
    assert doc.position == "neutral"  # |-150,000| < 1,000,000
    assert doc.metadata.strikes_count == 3
    assert doc.metadata.total_open_interest == 4500


def test_industry_convention_negates_every_gex_but_keeps_the_flip():
    kapman = compute_dealer_metrics(chain(*THREE_STRIKES), 100.0, DealerParams(), context())
    industry = compute_dealer_metrics(chain(*THREE_STRIKES), 100.0, DealerParams(sign_convention="industry"), context())
    assert industry.gex_net == -kapman.gex_net == 150_000.0
    assert industry.gex_total == kapman.gex_total
    assert industry.gamma_flip == kapman.gamma_flip == 103.33
    assert industry.gex_slope == 125_000.0
    assert industry.primary_call_wall.gex == -kapman.primary_call_wall.gex == 450_000.0
    assert industry.metadata.sign_convention == "industry"


def test_spec_flip_example_gives_105():
    strikes = np.array([90.0, 100.0, 110.0])
    # running sums -100 / -50 / +50 -> 100 + 50/100 * 10
    assert compute_gamma_flip(strikes, np.array([-100.0, 50.0, 100.0])) == 105.0


def test_flip_lands_exactly_on_a_strike_when_the_running_sum_reaches_zero():
    # running sums -100 / 0: crossing at the second strike, 90 + 100/100 * 10 = 100
    assert compute_gamma_flip(np.array([90.0, 100.0]), np.array([-100.0, 100.0])) == 100.0


def test_no_zero_crossing_and_single_strike_give_no_flip():
    assert compute_gamma_flip(np.array([90.0, 100.0, 110.0]), np.array([10.0, 20.0, 30.0])) is None
    assert compute_gamma_flip(np.array([100.0]), np.array([-5.0])) is None


def test_walls_rank_by_open_interest_then_distance_then_strike():
    strikes = np.array([95.0, 105.0, 98.0, 103.0, 130.0])
    oi = np.array([1000.0, 1000.0, 500.0, 500.0, 9000.0])
    gex = np.array([-1.0, -2.0, -3.0, -4.0, -5.0])
    walls = compute_walls(strikes, oi, gex, spot=100.0, max_moneyness=0.20, top_n=3)
    # 130 is 30% away: excluded. 95 and 105 tie on OI and distance: lower strike first. Then 98 (2 away) before 103.
    assert [w.strike for w in walls] == [95.0, 105.0, 98.0]
    assert walls[0].distance_from_spot == -5.0
    assert walls[0].moneyness == 0.05
    assert walls[1].distance_from_spot == 5.0


def test_walls_aggregate_expirations_of_a_strike():
    walls = compute_walls(
        np.array([100.0, 100.0, 110.0]),
        np.array([300.0, 400.0, 600.0]),
        np.array([-1.5, -2.5, -9.0]),
        spot=100.0,
        max_moneyness=0.2,
        top_n=3,
    )
    assert (walls[0].strike, walls[0].open_interest, walls[0].gex, walls[0].contracts) == (
        100.0,
        700,
        -4.0,
        2,
    )
    assert (walls[1].strike, walls[1].open_interest, walls[1].contracts) == (110.0, 600, 1)


def test_walls_keep_top_n_and_the_moneyness_edge_is_inclusive():
    walls = compute_walls(
        np.array([80.0, 90.0, 120.0, 121.0]),
        np.array([4.0, 3.0, 2.0, 10.0]),
        np.zeros(4),
        spot=100.0,
        max_moneyness=0.20,
        top_n=2,
    )
    # 121 is 21% away (excluded); 80 and 120 are exactly 20% (included)
    assert [w.strike for w in walls] == [80.0, 90.0]


def test_primary_walls_from_the_three_strike_chain():
    doc = compute_dealer_metrics(chain(*THREE_STRIKES), 100.0, DealerParams(), context())
    assert [w.strike for w in doc.call_walls] == [105.0, 100.0]  # OI 1500 before 1000
    assert doc.primary_call_wall.open_interest == 1500
    assert doc.primary_call_wall.gex == -450_000.0
    assert doc.primary_put_wall.strike == 95.0
    assert doc.primary_put_wall.moneyness == 0.05


def test_slope_window_edges_are_lower_inclusive_and_upper_inclusive():
    strikes = np.array([97.99, 98.0, 99.99, 100.0, 102.0, 102.01])
    gex = np.array([1000.0, 10.0, 20.0, 40.0, 80.0, 1000.0])
    # lower = 10 + 20 (98 <= K < 100), upper = 40 + 80 (100 <= K <= 102); (120 - 30) / 4 = 22.5
    assert compute_gex_slope(strikes, gex, 100.0, 0.02) == 22.5


def test_empty_slope_window_is_zero_with_a_diagnostic():
    doc = compute_dealer_metrics(
        chain({"type": "P", "strike": 80}, {"type": "C", "strike": 120}), 100.0, DealerParams(), context()
    )
    assert doc.gex_slope == 0.0
    assert "no_strikes_in_slope_window" in doc.metadata.diagnostics
    assert compute_gex_slope(np.array([80.0]), np.array([1.0]), 100.0, 0.02) is None


@pytest.mark.parametrize(
    ("gex_net", "slope", "iv_rank", "expected"),
    [
        (0.0, 5.0, 50.0, 0.0),
        # log10(999,999 + 1) * 10 = 60
        (999_999.0, None, None, 60.0),
        (-999_999.0, None, None, -60.0),
        # slope 10 -> tilt 1 + 0.1 -> 66
        (999_999.0, 10.0, None, 66.0),
        # slope -1000 -> tilt clamps at -0.3 -> 42
        (999_999.0, -1000.0, None, 42.0),
        # IV rank 100 -> * (0.7 + 100/333) = 60 * 1.0003003
        (999_999.0, None, 100.0, 60 * (0.7 + 100 / 333)),
        # IV rank 0 -> * 0.7
        (999_999.0, 0.0, 0.0, 42.0),
        # log10(1e18) * 10 = 180 * 1.3 -> clamp at 100
        (1e18 - 1, 1000.0, None, 100.0),
        (-(1e18 - 1), 1000.0, None, -100.0),
    ],
)
def test_dgpi(gex_net, slope, iv_rank, expected):
    assert compute_dgpi(gex_net, slope, iv_rank) == pytest.approx(expected, abs=1e-9)


def test_dgpi_uses_the_iv_rank_and_records_it():
    doc = compute_dealer_metrics(chain(*THREE_STRIKES), 100.0, DealerParams(), context(), iv_rank=100.0)
    expected = -math.log10(150_001) * 10 * 0.7 * (0.7 + 100 / 333)
    assert doc.dgpi == round(expected, 2)
    assert doc.metadata.dgpi_iv_rank == 100.0


@pytest.mark.parametrize(
    ("gex_net", "expected"),
    [
        (None, "unknown"),
        (999_999.99, "neutral"),
        (-999_999.99, "neutral"),
        (1_000_000.0, "long_gamma"),
        (-1_000_000.0, "short_gamma"),
        (0.0, "neutral"),
    ],
)
def test_position_threshold(gex_net, expected):
    assert classify_position(gex_net, 1_000_000.0) == expected


@pytest.mark.parametrize(
    ("n", "oi", "expected"),
    [
        (0, 0, "invalid"),
        (4, 100_000, "invalid"),
        (5, 0, "medium"),
        (9, 100_000, "medium"),
        (10, 999, "medium"),
        (10, 1000, "high"),
        (40, 5000, "high"),
    ],
)
def test_confidence_table(n, oi, expected):
    assert classify_confidence(n, oi) == expected


def _strip(n: int, oi: int = 1000) -> list[dict]:
    """n eligible contracts: alternating puts below and calls above spot 100."""
    return [{"type": "C" if i % 2 else "P", "strike": 100 + (i + 1) * (1 if i % 2 else -1), "oi": oi} for i in range(n)]


@pytest.mark.parametrize(
    ("n", "oi", "status", "reason"),
    [
        (4, 1000, "INVALID", "confidence_invalid(eligible=4<5)"),
        (5, 100, "LIMITED", "eligible(5)<25"),
        (24, 1000, "LIMITED", "eligible(24)<25"),
        (25, 1000, "FULL", "eligible>=25_and_confidence_high"),
    ],
)
def test_status_truth_table(n, oi, status, reason):
    doc = compute_dealer_metrics(chain(*_strip(n, oi)), 100.0, DealerParams(), context())
    assert (doc.status, doc.status_reason, doc.processing_status) == (status, reason, "SUCCESS")


def test_status_limited_by_confidence_with_many_thin_contracts():
    # 30 contracts of OI 30 -> total 900 < 1000 -> medium, so LIMITED although n >= 25
    doc = compute_dealer_metrics(chain(*_strip(30, oi=30)), 100.0, DealerParams(min_open_interest=10), context())
    assert (doc.confidence, doc.status, doc.status_reason) == ("medium", "LIMITED", "confidence_medium")


def test_zero_gex_total_is_invalid():
    contracts = [{**c, "gamma": 0.0} for c in _strip(12)]
    doc = compute_dealer_metrics(chain(*contracts), 100.0, DealerParams(), context())
    assert (doc.status, doc.status_reason, doc.gex_total) == ("INVALID", "zero_gex_total", 0.0)
