"""The seven eligibility rules of SPEC §5.1, in order, each contract counted once."""

import math

import pytest

from app.domain.dealer import compute_dealer_metrics, compute_eligibility
from app.domain.models import DealerParams
from tests.unit.chains import chain, context

GOOD = {"type": "C", "strike": 100}


@pytest.mark.parametrize(
    ("contract", "rule"),
    [
        ({"strike": 0}, "malformed"),
        ({"strike": math.nan}, "malformed"),
        ({"type": "X"}, "malformed"),
        ({"oi": -5}, "malformed"),
        ({"volume": -1}, "malformed"),
        ({"oi": math.inf}, "malformed"),
        ({"bid": -0.01}, "malformed"),
        ({"bid": 2.0, "ask": 1.0}, "malformed"),
        ({"dte": math.nan}, "malformed"),
        ({"delta": 1.0000001}, "malformed"),  # no option has |delta| > 1
        ({"delta": -1e305}, "malformed"),
        ({"gamma": 10_000.5}, "malformed"),  # nor |gamma| > 1e4
        ({"gamma": -1e300}, "malformed"),
        ({"dte": -1}, "expired"),
        ({"dte": 91}, "dte_exceeded"),
        ({"gamma": math.nan}, "missing_gamma"),
        ({"gamma": math.inf}, "missing_gamma"),
        ({"oi": 99}, "low_open_interest"),
        ({"oi": 0}, "low_open_interest"),
        ({"volume": 0}, "low_volume"),
        ({"bid": 1.0, "ask": 1.2}, "wide_spread"),  # 0.2 / 1.1 = 18.2% > 10%
    ],
)
def test_each_rule_drops_under_its_own_name(contract, rule):
    elig = compute_eligibility(chain({**GOOD, **contract}), DealerParams())
    assert not elig.mask.any()
    assert elig.counts[rule] == 1
    assert sum(elig.counts.values()) == 1


def test_boundaries_are_eligible():
    # |delta| exactly 1 and |gamma| exactly 1e4 are possible greeks;
    # DTE 0 and 90, OI exactly 100, volume exactly 1, spread exactly 10% of mid: all pass
    contracts = [
        {**GOOD, "delta": 1.0},
        {**GOOD, "delta": -1.0, "gamma": 10_000.0},
        {**GOOD, "dte": 0},
        {**GOOD, "dte": 90},
        {**GOOD, "oi": 100},
        {**GOOD, "volume": 1},
        {**GOOD, "bid": 0.95, "ask": 1.05},  # (1.05 - 0.95) / 1.00 = 10%
    ]
    assert compute_eligibility(chain(*contracts), DealerParams()).mask.all()


def test_a_contract_failing_two_rules_counts_once_under_the_first():
    # expired AND missing gamma AND low OI -> expired only; dte 120 AND low volume -> dte_exceeded only
    elig = compute_eligibility(
        chain(
            {**GOOD, "dte": -3, "gamma": math.nan, "oi": 1},
            {**GOOD, "dte": 120, "volume": 0},
            {**GOOD, "strike": -1, "dte": -3},
            GOOD,
        ),
        DealerParams(),
    )
    assert elig.counts == {
        "malformed": 1,
        "expired": 1,
        "dte_exceeded": 1,
        "missing_gamma": 0,
        "low_open_interest": 0,
        "low_volume": 0,
        "wide_spread": 0,
    }
    assert int(elig.mask.sum()) == 1


def test_spread_rule_skipped_without_both_quotes_and_counted():
    elig = compute_eligibility(
        chain(
            {**GOOD, "bid": math.nan, "ask": 5.0},
            {**GOOD, "bid": math.inf, "ask": math.nan},
            {**GOOD, "bid": 0.0, "ask": 0.0},
        ),
        DealerParams(),
    )
    # a non-finite quote counts as absent; a zero mid cannot be measured: all three eligible, none checked
    assert elig.mask.all()
    assert elig.spread_rule_not_applied == 3
    assert elig.pricing_available  # the 0/0 quote is still a quote


def test_pricing_unavailable_when_no_eligible_contract_has_both_quotes():
    doc = compute_dealer_metrics(chain({**GOOD, "bid": math.nan, "ask": math.nan}), 100.0, DealerParams(), context())
    assert doc.metadata.pricing_available is False
    assert "pricing_unavailable" in doc.metadata.diagnostics
    assert doc.metadata.filter_stats.spread_rule_not_applied == 1


def test_negative_gamma_is_used_as_magnitude_and_counted():
    positive = compute_dealer_metrics(chain({**GOOD, "gamma": 0.05}), 100.0, DealerParams(), context())
    negative = compute_dealer_metrics(chain({**GOOD, "gamma": -0.05}), 100.0, DealerParams(), context())
    assert negative.gex_net == positive.gex_net == -500_000.0
    assert negative.metadata.filter_stats.negative_gamma_inputs == 1
    assert "negative_gamma_inputs" in negative.metadata.diagnostics


def test_thresholds_are_parameters():
    params = DealerParams(max_dte_days=5, min_open_interest=2000, min_volume=50, max_spread_pct=1.0)
    # inside the 5-day limit, quotes 0.5% wide
    GOOD = {"type": "C", "strike": 100, "dte": 1, "bid": 1.0, "ask": 1.005}
    elig = compute_eligibility(
        chain(
            {**GOOD, "dte": 6},
            {**GOOD, "oi": 1999},
            {**GOOD, "oi": 5000, "volume": 49},
            {**GOOD, "oi": 5000, "volume": 50},
            {**GOOD, "oi": 5000, "volume": 50, "bid": 1.0, "ask": 1.02},
        ),
        params,
    )
    assert elig.counts["dte_exceeded"] == 1
    assert elig.counts["low_open_interest"] == 1
    assert elig.counts["low_volume"] == 1
    assert elig.counts["wide_spread"] == 1
    assert int(elig.mask.sum()) == 1
