"""Each volatility metric on a hand-sized chain (SPEC §6.2), with the arithmetic written out."""

import json
import math

import numpy as np
import pytest

from app.domain.models import VolatilityParams
from app.domain.volatility import compute_iv_percentile, compute_iv_rank, compute_volatility_metrics
from tests.unit.chains import chain, context

FOUR = (
    {"type": "C", "strike": 100, "dte": 30, "oi": 100, "volume": 10, "iv": 0.20, "delta": 0.50},
    {"type": "C", "strike": 110, "dte": 30, "oi": 300, "volume": 30, "iv": 0.30, "delta": 0.25},
    {"type": "P", "strike": 90, "dte": 30, "oi": 200, "volume": 40, "iv": 0.40, "delta": -0.25},
    {"type": "P", "strike": 100, "dte": 90, "oi": 400, "volume": 20, "iv": 0.50, "delta": -0.50},
)
# 10 points at 0.30 and 10 at 0.50: min 0.30, max 0.50
HISTORY = np.array([0.30] * 10 + [0.50] * 10)


def compute(*contracts, history=HISTORY, **params):
    return compute_volatility_metrics(chain(*contracts), history, VolatilityParams(**params), context())


def test_every_metric_by_hand():
    m = compute(*FOUR).metrics
    # (0.2*100 + 0.3*300 + 0.4*200 + 0.5*400) / 1000 = 390 / 1000
    assert m.average_iv == 0.39
    assert m.avg_call_iv == 0.275  # (20 + 90) / 400
    assert m.avg_put_iv == 0.4667  # (80 + 200) / 600 = 0.46667
    # population std of 0.2, 0.3, 0.4, 0.5: sqrt(0.05 / 4) = 0.11180
    assert m.iv_stddev == 0.1118
    # 25-delta put 0.40 minus 25-delta call 0.30, in points
    assert m.iv_skew == 10.0
    # written averages: (0.4667 - 0.275) * 100 = 19.17
    assert m.iv_skew_call_put == 19.17
    assert m.put_call_ratio_oi == 1.5  # 600 / 400
    assert m.put_call_volume_ratio == 1.5  # 60 / 40
    assert m.oi_ratio == 0.1  # 100 / 1000
    assert m.front_month_iv == 0.3  # DTE 30 contracts: (0.2 + 0.3 + 0.4) / 3
    assert m.back_month_iv == 0.5  # DTE 90 contract
    assert m.iv_term_structure == 20.0  # (0.5 - 0.3) * 100
    assert m.iv_term_structure_slope == 0.3333  # 20 / 60
    assert m.iv_rank == 45.0  # (0.39 - 0.30) / 0.20 * 100
    assert m.iv_percentile == 50.0  # 10 of 20 history points <= 0.39


def test_status_of_the_hand_chain():
    doc = compute(*FOUR)
    assert doc.processing_status == "SUCCESS"
    assert doc.confidence == "low"  # 4 valid-IV contracts < 20
    assert doc.status == "LIMITED"
    assert doc.metadata.counts.with_iv_contracts == 4
    assert doc.metadata.counts.front_month_contracts == 3
    assert doc.metadata.counts.back_month_contracts == 1
    assert doc.metadata.history.points == 20
    assert doc.metadata.history.min == 0.3


def test_simple_mean_when_no_open_interest():
    m = compute(*[{**c, "oi": 0} for c in FOUR]).metrics
    assert m.average_iv == 0.35  # (0.2 + 0.3 + 0.4 + 0.5) / 4
    assert m.put_call_ratio_oi is None
    assert m.oi_ratio is None


def test_skew_falls_back_to_strike_percentiles_without_deltas():
    contracts = [{**c, "delta": math.nan} for c in FOUR]
    doc = compute(*contracts)
    # two calls by strike (100, 110): index 2 // 2 = 1 -> 0.30; two puts (90, 100): index 1 -> 0.50
    assert doc.metrics.iv_skew == 20.0
    assert "iv_skew:strike_percentile_fallback(calls)" in doc.diagnostics
    assert "iv_skew:strike_percentile_fallback(puts)" in doc.diagnostics


def test_skew_percentile_indices_with_three_or_more_contracts():
    calls = [{"type": "C", "strike": k, "iv": iv} for k, iv in ((100, 0.1), (105, 0.2), (110, 0.3), (115, 0.4))]
    puts = [{"type": "P", "strike": k, "iv": iv} for k, iv in ((80, 0.5), (85, 0.6), (90, 0.7), (95, 0.8))]
    # calls: min(3, floor(0.75 * 4)) = 3 -> 0.4; puts: floor(0.25 * 4) = 1 -> 0.6
    assert compute(*calls, *puts).metrics.iv_skew == 20.0


def test_delta_too_far_from_25_uses_the_fallback():
    contracts = [dict(FOUR[0], delta=0.45), dict(FOUR[1], delta=0.41), FOUR[2], FOUR[3]]
    doc = compute(*contracts)
    # nearest call delta 0.41 is 0.16 away (> 0.15): calls fall back to index 1 of (100, 110) -> 0.30
    assert doc.metrics.iv_skew == 10.0
    assert "iv_skew:strike_percentile_fallback(calls)" in doc.diagnostics
    assert "iv_skew:strike_percentile_fallback(puts)" not in doc.diagnostics


def test_delta_exactly_at_the_tolerance_is_accepted():
    contracts = [dict(FOUR[0], delta=0.10, iv=0.22), dict(FOUR[1], delta=0.60), FOUR[2], FOUR[3]]
    # call deltas 0.10 (0.15 away) and 0.60 (0.35 away): 0.10 wins -> skew (0.40 - 0.22) * 100
    doc = compute(*contracts)
    assert doc.metrics.iv_skew == 18.0
    assert not any("fallback(calls)" in d for d in doc.diagnostics)


def test_iv_rank_and_percentile_functions():
    history = np.round(np.linspace(0.2, 0.4, 21), 2)  # 0.20, 0.21, … 0.40 exactly as written values
    assert compute_iv_rank(0.3, history, 20) == (pytest.approx(50.0), None)
    assert compute_iv_rank(0.5, history, 20) == (100.0, None)  # above the range: clamped
    assert compute_iv_rank(0.1, history, 20) == (0.0, None)
    assert compute_iv_rank(0.3, history[:12], 20) == (None, "insufficient_history(12<20)")
    assert compute_iv_rank(0.3, np.full(25, 0.3), 20) == (None, "flat_history")
    assert compute_iv_rank(None, history, 20) == (None, "no_average_iv")
    # 11 of 21 points (0.20 … 0.30) are <= 0.3
    assert compute_iv_percentile(0.3, history, 20) == pytest.approx(11 / 21 * 100)
    assert compute_iv_percentile(0.3, history[:5], 20) is None


def test_iv_rank_clamped_outside_history_is_flagged():
    doc = compute(*FOUR, history=np.array([0.1] * 10 + [0.2] * 10))
    assert doc.metrics.iv_rank == 100.0
    assert doc.metrics.iv_percentile == 100.0
    assert "iv_rank:clamped_outside_history_range" in doc.diagnostics


def test_iv_rank_compares_the_written_average():
    # average_iv 0.390049 is written as 0.39; history tops at 0.39 -> rank exactly 100, not clamped
    contracts = [dict(c) for c in FOUR]
    contracts[0]["iv"] = 0.2 + 0.000049 * 1000 / 100
    doc = compute(*contracts, history=np.array([0.29] * 10 + [0.39] * 10))
    assert doc.metrics.average_iv == 0.39
    assert doc.metrics.iv_rank == 100.0
    assert "iv_rank:clamped_outside_history_range" not in doc.diagnostics


def test_lookback_params_change_min_history():
    doc = compute(*FOUR, history=np.array([0.3, 0.3, 0.5, 0.5, 0.5]), min_history=5, lookback=10)
    assert doc.metrics.iv_rank == 45.0


def test_strict_json_and_all_keys():
    doc = compute(*FOUR)
    payload = json.loads(json.dumps(doc.model_dump(mode="json"), allow_nan=False))
    assert list(payload) == [
        "status",
        "processing_status",
        "confidence",
        "options_snapshot_time",
        "metrics",
        "realized",
        "expected_move",
        "diagnostics",
        "metadata",
    ]
    assert len(payload["metrics"]) == 15 + 6  # §6.2, then the six §12.2 keys
    assert list(payload["metrics"])[15:] == [
        "atm_iv_30d", "atm_iv_90d", "atm_term_structure", "rr25_30d", "iv30_rank", "iv30_percentile"
    ]  # fmt: skip


def test_high_confidence_needs_40_iv_contracts_and_5_in_each_window():
    front = [
        {"type": t, "strike": 90 + i, "dte": 30, "iv": 0.3, "delta": 0.25 if t == "C" else -0.25}
        for i in range(10)
        for t in "CP"
    ]
    back = [{"type": t, "strike": 90 + i, "dte": 90, "iv": 0.35} for i in range(10) for t in "CP"]
    doc = compute(*front, *back)
    assert doc.processing_status == "SUCCESS"
    assert (doc.confidence, doc.status) == ("high", "FULL")
    medium = compute(*front, *back[:4])  # 24 contracts, only 4 in the back window
    assert (medium.confidence, medium.status) == ("medium", "LIMITED")


def test_skew_ties_go_to_the_dte_nearest_30_then_the_lower_dte_then_the_lower_strike():
    from app.domain.volatility import skew_leg_iv

    # SPX 2023-09-14: puts of 14 and 255 DTE both printed delta −0.2500 (IV 18.3% and 22.0%)
    iv, dte = np.array([0.220, 0.183]), np.array([255.0, 14.0])
    assert skew_leg_iv(iv, np.array([-0.25, -0.25]), -0.25, 0.25, dte) == (0.183, False)
    # DTE 20 and 40 are both 10 from 30: the lower DTE; equal DTE: the lower strike (first in strike order)
    assert skew_leg_iv(np.array([0.30, 0.20]), np.array([0.26, 0.24]), 0.25, 0.75, np.array([40.0, 20.0]))[0] == 0.20
    assert skew_leg_iv(np.array([0.31, 0.32]), np.array([0.25, 0.25]), 0.25, 0.75, np.array([30.0, 30.0]))[0] == 0.31
    # a strictly nearer delta wins whatever its DTE
    assert skew_leg_iv(np.array([0.40, 0.30]), np.array([0.2501, 0.30]), 0.25, 0.75, np.array([400.0, 30.0]))[0] == 0.40
