"""When a volatility metric is null, and why (SPEC §6.2/§6.3, §10)."""

import math

import numpy as np

from app.domain.chain import OptionChain
from app.domain.models import VolatilityParams
from app.domain.volatility import compute_volatility_metrics, error_volatility_metrics
from tests.unit.chains import chain, context

HISTORY = np.linspace(0.2, 0.5, 30)


def compute(*contracts, history=HISTORY):
    return compute_volatility_metrics(chain(*contracts), history, VolatilityParams(), context())


def test_no_calls():
    doc = compute({"type": "P", "strike": 90, "dte": 30, "iv": 0.4}, {"type": "P", "strike": 95, "dte": 90, "iv": 0.3})
    m = doc.metrics
    assert m.avg_call_iv is None
    assert m.iv_skew is None
    assert m.iv_skew_call_put is None
    assert m.put_call_ratio_oi is None
    assert m.put_call_volume_ratio is None
    assert m.average_iv == 0.35
    assert doc.processing_status == "PARTIAL"
    assert "put_call_ratio_oi:no_call_open_interest" in doc.diagnostics
    assert "iv_skew:no_valid_iv_calls" in doc.diagnostics


def test_no_put_call_volume():
    doc = compute({"type": "C", "strike": 100, "volume": 0}, {"type": "P", "strike": 90, "volume": 0})
    assert doc.metrics.put_call_volume_ratio is None
    assert doc.metrics.oi_ratio == 0.0


def test_no_contracts_in_a_dte_window():
    doc = compute({"type": "C", "strike": 100, "dte": 30}, {"type": "P", "strike": 90, "dte": 30})
    assert doc.metrics.front_month_iv == 0.3
    assert doc.metrics.back_month_iv is None
    assert doc.metrics.iv_term_structure is None
    assert doc.metrics.iv_term_structure_slope is None
    assert "iv_term_structure:no_back_month_contracts" in doc.diagnostics


def test_window_edges():
    # front: |DTE - 30| <= 15 -> 15 and 45 in, 46 out; back: |DTE - 90| <= 30 -> 60 and 120 in
    doc = compute(
        *[{"type": "C", "strike": 100 + d, "dte": d, "iv": 0.1 + d / 1000} for d in (14, 15, 45, 46, 59, 60, 120, 121)]
    )
    counts = doc.metadata.counts
    assert counts.front_month_contracts == 2
    assert counts.back_month_contracts == 2
    assert doc.metrics.front_month_iv == round((0.115 + 0.145) / 2, 4)
    assert doc.metrics.back_month_iv == round((0.16 + 0.22) / 2, 4)


def test_short_and_flat_history():
    short = compute({"type": "C", "strike": 100}, {"type": "P", "strike": 95}, history=HISTORY[:12])
    assert short.metrics.iv_rank is None
    assert short.metrics.iv_percentile is None
    assert "iv_rank:insufficient_history(12<20)" in short.diagnostics
    assert short.processing_status == "PARTIAL"
    assert short.confidence == "low"
    flat = compute({"type": "C", "strike": 100}, {"type": "P", "strike": 95}, history=np.full(25, 0.3))
    assert flat.metrics.iv_rank is None
    assert flat.metrics.iv_percentile == 100.0
    assert "iv_rank:flat_history" in flat.diagnostics


def test_iv_in_percent_is_out_of_range():
    doc = compute(
        {"type": "C", "strike": 100, "iv": 42.0},
        {"type": "P", "strike": 95, "iv": 0.42},
        {"type": "P", "strike": 90, "iv": 0.0},
        {"type": "P", "strike": 85, "iv": 5.0},
    )
    # 42.0 and 0.0 are out of (0, 5]; 5.0 is in
    assert doc.metadata.counts.iv_out_of_range == 2
    assert doc.metadata.counts.with_iv_contracts == 2
    assert doc.metrics.avg_call_iv is None
    assert doc.metrics.put_call_ratio_oi == 3.0  # ratios still use all three puts and the call


def test_nan_inputs():
    doc = compute(
        {"type": "C", "strike": 100, "iv": math.nan, "delta": math.nan},
        {"type": "P", "strike": 95, "iv": math.inf},
        {"type": "P", "strike": math.nan},
        {"type": "C", "strike": 105, "oi": math.nan},
    )
    assert doc.metadata.counts.malformed == 2
    assert doc.metadata.counts.iv_out_of_range == 2
    assert doc.metrics.average_iv is None
    assert doc.status == "INVALID"
    assert "average_iv:no_valid_iv_contracts" in doc.diagnostics


def test_absurd_greeks_are_malformed_as_for_dealer_metrics():
    doc = compute(
        {"type": "C", "strike": 100, "iv": 0.2},
        {"type": "P", "strike": 95, "iv": 0.9, "delta": -1e305},
        {"type": "P", "strike": 90, "iv": 0.9, "gamma": 1e300},
    )
    # the same rule as §5.1: both absurd contracts are malformed, so their IV never enters a mean
    assert doc.metadata.counts.malformed == 2
    assert doc.metrics.average_iv == 0.2


def test_expired_contracts_are_excluded_and_counted():
    doc = compute({"type": "C", "strike": 100, "dte": -1, "iv": 0.9}, {"type": "P", "strike": 95, "dte": 0, "iv": 0.3})
    assert doc.metadata.counts.expired == 1
    assert doc.metrics.average_iv == 0.3


def test_no_options_and_empty_chain():
    none = compute_volatility_metrics(None, HISTORY, VolatilityParams(), context())
    empty = compute_volatility_metrics(OptionChain.empty(), HISTORY, VolatilityParams(), context())
    for doc, reason in ((none, "no_options_snapshot"), (empty, "empty_options_snapshot")):
        assert (doc.status, doc.processing_status, doc.confidence) == ("INVALID", "NO_OPTIONS", "low")
        assert reason in doc.diagnostics
        assert all(v is None for v in doc.metrics.model_dump().values())
    assert none.metadata.history.points == 30


def test_error_document():
    doc = error_volatility_metrics(context(), VolatilityParams(), "ValueError: bad")
    assert (doc.status, doc.processing_status) == ("INVALID", "ERROR")
    assert doc.diagnostics == ["error:ValueError: bad"]


def test_nan_in_history_is_ignored():
    doc = compute(
        {"type": "C", "strike": 100, "iv": 0.35},
        {"type": "P", "strike": 95, "iv": 0.35},
        history=np.concatenate([HISTORY, [math.nan]]),
    )
    assert doc.metadata.history.points == 30
