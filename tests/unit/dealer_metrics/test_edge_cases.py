"""Degenerate inputs give valid documents with reasons, never NaN (SPEC §10), and invariants hold."""

import json
import math

import numpy as np
import pytest

from app.domain.chain import OptionChain
from app.domain.dealer import compute_dealer_metrics, error_dealer_metrics
from app.domain.models import DealerMetrics, DealerParams
from tests.unit.chains import chain, context

DOC_KEYS = [
    "status",
    "status_reason",
    "processing_status",
    "failure_reason",
    "confidence",
    "position",
    "spot_price",
    "spot_price_source",
    "options_snapshot_time",
    "eligible_options_count",
    "total_options_count",
    "gex_total",
    "gex_net",
    "gamma_flip",
    "gex_slope",
    "dgpi",
    "call_walls",
    "put_walls",
    "primary_call_wall",
    "primary_put_wall",
    "levels",  # SPEC §12.1, §13.2
    "positioning",  # SPEC §13.1
    "changes",  # SPEC §13.3
    "metadata",
]


def strict_json(doc: DealerMetrics) -> dict:
    """Serialize exactly as stored; json.loads rejects NaN/Infinity only when told to."""
    text = json.dumps(doc.model_dump(mode="json"), allow_nan=False)
    return json.loads(text)


def assert_invalid(doc, processing_status, reason):
    assert doc.status == "INVALID"
    assert doc.processing_status == processing_status
    assert doc.status_reason == reason
    assert doc.confidence == "invalid"
    assert doc.position == "unknown"
    assert doc.gex_total is None
    assert doc.gex_net is None
    assert doc.dgpi is None
    assert list(strict_json(doc)) == DOC_KEYS


def test_no_options_snapshot():
    doc = compute_dealer_metrics(None, 100.0, DealerParams(), context())
    assert_invalid(doc, "NO_OPTIONS", "no_options_snapshot")
    assert doc.spot_price == 100.0


def test_empty_chain():
    doc = compute_dealer_metrics(OptionChain.empty(), 100.0, DealerParams(), context())
    assert_invalid(doc, "NO_OPTIONS", "empty_options_snapshot")
    assert doc.total_options_count == 0


def test_all_contracts_filtered():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100, "oi": 5}, {"type": "P", "strike": 90, "dte": -1}),
        100.0,
        DealerParams(),
        context(),
    )
    assert_invalid(doc, "NO_ELIGIBLE_OPTIONS", "no_eligible_options")
    assert doc.total_options_count == 2
    assert doc.eligible_options_count == 0
    assert doc.metadata.filter_stats.low_open_interest == 1
    assert doc.metadata.filter_stats.expired == 1


@pytest.mark.parametrize("spot", [None, math.nan, math.inf, 0.0, -5.0])
def test_missing_or_unusable_spot_still_reports_eligibility(spot):
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100}, {"type": "P", "strike": 95}), spot, DealerParams(), context()
    )
    assert_invalid(doc, "MISSING_SPOT", "missing_spot")
    assert doc.eligible_options_count == 2
    assert doc.spot_price is None
    assert doc.spot_price_source is None


def test_missing_gamma_everywhere():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100, "gamma": math.nan}), 100.0, DealerParams(), context()
    )
    assert_invalid(doc, "NO_ELIGIBLE_OPTIONS", "no_eligible_options")
    assert doc.metadata.filter_stats.missing_gamma == 1


def test_single_strike_chain():
    doc = compute_dealer_metrics(
        chain(*[{"type": t, "strike": 100, "dte": d} for t in "CP" for d in (7, 14, 21)]),
        100.0,
        DealerParams(),
        context(),
    )
    # three calls and three puts, same gamma and OI: net 0, total |0| = 0 at the only strike
    assert doc.gex_net == 0.0
    assert doc.gex_total == 0.0
    assert doc.gamma_flip is None
    assert doc.status_reason == "zero_gex_total"
    strict_json(doc)


def test_spot_outside_the_strike_range():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100}, {"type": "P", "strike": 110}), 150.0, DealerParams(), context()
    )
    assert "spot_outside_strike_range" in doc.metadata.diagnostics
    assert doc.call_walls == []
    assert doc.put_walls == []  # both strikes are > 20% away from 150
    assert "no_call_walls_within_moneyness" in doc.metadata.diagnostics
    assert doc.gex_slope == 0.0


def test_near_zero_net_gex():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100, "gamma": 0.05}, {"type": "P", "strike": 100, "gamma": 0.0500001}),
        100.0,
        DealerParams(),
        context(),
    )
    # net = (0.0500001 - 0.05) * 1000 * 10,000 = 1.0, all at strike 100 -> slope = (1 - 0) / 4 = 0.25
    assert doc.gex_net == 1.0
    assert doc.gex_slope == 0.25
    assert doc.position == "neutral"
    # dgpi = log10(1 + 1) * 10 * (1 + 0.25 * 0.01) = 3.0178
    assert doc.dgpi == 3.02


def test_nan_and_infinity_inputs_never_reach_the_document():
    doc = compute_dealer_metrics(
        chain(
            {"type": "C", "strike": 100, "iv": math.nan, "bid": math.nan, "ask": math.inf},
            {"type": "P", "strike": math.inf},
            {"type": "P", "strike": 95, "gamma": math.inf},
            {"type": "C", "strike": 105, "oi": math.nan},
        ),
        100.0,
        DealerParams(),
        context(),
    )
    payload = strict_json(doc)
    assert payload["eligible_options_count"] == 1
    assert doc.metadata.filter_stats.malformed == 2
    assert doc.metadata.filter_stats.missing_gamma == 1


def test_an_absurd_finite_greek_drops_one_contract_not_the_document():
    good = [{"type": "C", "strike": 100.0 + k, "gamma": 0.01, "oi": 1000} for k in range(3)]
    # delta 1e305 once overflowed DEX into an ERROR document; gamma 1e300 gave a 1e306 gex_total
    doc = compute_dealer_metrics(
        chain(*good, {"type": "P", "strike": 90, "delta": 1e305}, {"type": "P", "strike": 95, "gamma": 1e300}),
        100.0,
        DealerParams(),
        context(),
    )
    assert doc.processing_status == "SUCCESS"
    assert doc.metadata.filter_stats.malformed == 2
    # three calls: 0.01 × 1000 × 100² × 0.01 × 100 = 100,000 each, kapman sign −1
    assert doc.gex_total == 300_000.0
    assert doc.gex_net == -300_000.0
    assert doc.levels.dex_net is None  # the calls carry no delta; the absurd one is not used
    strict_json(doc)


def test_negative_open_interest_and_crossed_quotes_are_malformed():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100, "oi": -100}, {"type": "C", "strike": 105, "bid": 2.0, "ask": 1.5}),
        100.0,
        DealerParams(),
        context(),
    )
    assert doc.metadata.filter_stats.malformed == 2
    assert doc.processing_status == "NO_ELIGIBLE_OPTIONS"


def test_stale_snapshot_diagnostic():
    doc = compute_dealer_metrics(
        chain({"type": "C", "strike": 100}), 100.0, DealerParams(), context(options_snapshot_age_days=4)
    )
    assert doc.metadata.diagnostics[0] == "stale_options_snapshot"
    fresh = compute_dealer_metrics(
        chain({"type": "C", "strike": 100}), 100.0, DealerParams(), context(options_snapshot_age_days=3)
    )
    assert "stale_options_snapshot" not in fresh.metadata.diagnostics


def test_error_document_is_valid_and_invalid():
    doc = error_dealer_metrics(context(), DealerParams(), "ValueError: boom")
    assert_invalid(doc, "ERROR", "computation_error")
    assert doc.failure_reason == "ValueError: boom"


# ------------------------------------------------------------------ invariants


def _random_chain(seed: int, n: int = 300) -> OptionChain:
    rng = np.random.default_rng(seed)
    return OptionChain.from_arrays(
        strike=rng.choice(np.arange(80, 121, 2.5), n),
        option_type=rng.choice(["C", "P"], n),
        dte_days=rng.integers(0, 60, n),
        open_interest=rng.integers(100, 5000, n),
        volume=rng.integers(1, 100, n),
        bid=np.full(n, 1.0),
        ask=np.full(n, 1.05),
        implied_volatility=np.full(n, 0.3),
        delta=np.full(n, 0.5),
        gamma=rng.uniform(0.001, 0.08, n),
    )


def _as_arrays(c: OptionChain) -> dict:
    return dict(
        strike=c.strike,
        option_type=np.where(c.is_call, "C", "P"),
        dte_days=c.dte_days,
        open_interest=c.open_interest,
        volume=c.volume,
        bid=c.bid,
        ask=c.ask,
        implied_volatility=c.implied_volatility,
        delta=c.delta,
        gamma=c.gamma,
    )


def test_doubling_open_interest_doubles_gex():
    base = _random_chain(1)
    doubled = OptionChain.from_arrays(**{**_as_arrays(base), "open_interest": base.open_interest * 2})
    a = compute_dealer_metrics(base, 100.0, DealerParams(), context())
    b = compute_dealer_metrics(doubled, 100.0, DealerParams(), context())
    # documents are rounded to cents, so doubling may move the last digit by one
    assert b.gex_total == pytest.approx(2 * a.gex_total, abs=0.011)
    assert b.gex_net == pytest.approx(2 * a.gex_net, abs=0.011)
    assert b.gamma_flip == a.gamma_flip


def test_shuffling_rows_changes_nothing():
    base = _random_chain(2)
    order = np.random.default_rng(3).permutation(len(base))
    shuffled = OptionChain.from_arrays(**{k: v[order] for k, v in _as_arrays(base).items()})
    a = compute_dealer_metrics(base, 100.0, DealerParams(), context())
    b = compute_dealer_metrics(shuffled, 100.0, DealerParams(), context())
    assert a.model_dump_json() == b.model_dump_json()


def test_swapping_the_convention_negates_net_gex_on_a_random_chain():
    base = _random_chain(4)
    a = compute_dealer_metrics(base, 100.0, DealerParams(), context())
    b = compute_dealer_metrics(base, 100.0, DealerParams(sign_convention="industry"), context())
    assert b.gex_net == -a.gex_net
    assert b.gex_total == a.gex_total


def test_same_input_same_bytes():
    a = compute_dealer_metrics(_random_chain(5), 101.3, DealerParams(), context())
    b = compute_dealer_metrics(_random_chain(5), 101.3, DealerParams(), context())
    assert a.model_dump_json() == b.model_dump_json()
    assert list(strict_json(a)) == DOC_KEYS
