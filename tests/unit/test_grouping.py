"""The sort-free grouping helpers give exactly what the numpy sorts they replace give, fallbacks included."""

from __future__ import annotations

import numpy as np
import pytest

from app.domain.chain import OptionChain
from app.domain.grouping import dense_unique, small_ints, stable_order, unique_strikes
from app.domain.volatility.constant_maturity import expiries_of, risk_reversal_curve
from app.domain.volatility.expected_move import front_straddle


def _same(left, right) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.dtype.kind == b.dtype.kind
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
def test_unique_strikes_matches_np_unique_sorted_or_not(seed: int) -> None:
    rng = np.random.default_rng(seed)
    strikes = rng.choice(np.arange(50, 150, 2.5), 300)
    for values in (np.sort(strikes), strikes):  # canonical order, then any order (the fallback)
        _same(unique_strikes(values), np.unique(values, return_inverse=True))


@pytest.mark.parametrize("upper", [40, 10**6])  # a presence table, then too wide for one (the fallback)
def test_dense_unique_matches_np_unique(upper: int) -> None:
    keys = np.random.default_rng(1).integers(0, upper, 500).astype(np.intp)
    _same(dense_unique(keys, upper), np.unique(keys, return_inverse=True))


def test_stable_order_matches_a_stable_argsort() -> None:
    groups = np.random.default_rng(2).integers(0, 30, 400).astype(np.intp)
    np.testing.assert_array_equal(stable_order(groups), np.argsort(groups, kind="stable"))
    wide = groups * 10_000  # beyond int16
    np.testing.assert_array_equal(stable_order(wide), np.argsort(wide, kind="stable"))


def test_small_ints_takes_whole_days_only() -> None:
    assert small_ints(np.array([0.0, 7.0, 365.0])).tolist() == [0, 7, 365]
    assert small_ints(np.array([0.0, 7.5])) is None
    assert small_ints(np.array([-1.0, 7.0])) is None
    assert small_ints(np.array([40_000.0])) is None
    assert small_ints(np.array([np.nan])) is None


def _random_chain(seed: int, dte: np.ndarray) -> OptionChain:
    rng = np.random.default_rng(seed)
    n = dte.shape[0]
    return OptionChain.from_arrays(
        strike=rng.choice(np.arange(80, 120.5, 2.5), n),
        option_type=rng.choice(["C", "P"], n),
        dte_days=dte,
        open_interest=rng.integers(1, 100, n),
        bid=np.full(n, 1.0),
        ask=np.full(n, 1.1),
        implied_volatility=rng.uniform(0.1, 0.6, n),
        delta=np.round(rng.uniform(-0.6, 0.6, n), 2),
        gamma=np.full(n, 0.01),
    )


@pytest.mark.parametrize("dte_kind", ["whole_days", "fractional_days"])
def test_expiries_of_matches_np_unique_of_the_years(dte_kind: str) -> None:
    rng = np.random.default_rng(3)
    dte = rng.integers(0, 120, 400).astype(float)
    if dte_kind == "fractional_days":  # the sort-free path does not apply; 0.001 and 0.002 share the floor
        dte[:5] = [0.001, 0.002, 0.5, 2.25, 2.25]
    chain = _random_chain(3, dte)
    expiries = expiries_of(chain)
    years = chain.years_to_expiry
    live = np.flatnonzero(np.isfinite(years) & (years > 0))
    distinct, first, inverse = np.unique(years[live], return_index=True, return_inverse=True)
    np.testing.assert_array_equal(expiries.years, distinct)
    np.testing.assert_array_equal(expiries.dte_days, chain.dte_days[live][first])
    np.testing.assert_array_equal(expiries.of_contract[live], inverse)


def test_expiries_of_when_years_are_not_one_function_of_dte() -> None:
    chain = _random_chain(4, np.array([5.0, 5.0, 9.0, 9.0]))
    odd = OptionChain(
        **{**{f: getattr(chain, f) for f in chain.__slots__}, "years_to_expiry": np.array([0.1, 0.2, 0.3, 0.3])}
    )
    expiries = expiries_of(odd)
    assert expiries.years.tolist() == [0.1, 0.2, 0.3]
    assert expiries.of_contract.tolist() == [0, 1, 2, 2]


@pytest.mark.parametrize("is_call", [True, False])
def test_risk_reversal_walk_matches_the_lexsorted_walk(is_call: bool) -> None:
    chain = _random_chain(5, np.random.default_rng(5).choice([7.0, 14.0, 30.0, 45.0], 300))
    curve = risk_reversal_curve(chain, 100.0, is_call)
    # the same chain listed in reverse: strikes no longer ascend, so the lexsort is taken
    flipped = OptionChain(**{f: getattr(chain, f)[::-1] for f in chain.__slots__})
    reference = risk_reversal_curve(flipped, 100.0, is_call)
    np.testing.assert_array_equal(curve.years, reference.years)
    assert len(curve) > 0


def test_front_straddle_with_strikes_equal_to_four_decimals() -> None:
    # 100.00001 (call) precedes 100.00002 (put) in chain order, but they share one 4-decimal key:
    # the straddle pairs that strike's put with its call whatever order the chain holds them in
    chain = OptionChain.from_arrays(
        strike=[100.00001, 100.00002, 105.0],
        option_type=["C", "P", "C"],
        dte_days=[3, 3, 3],
        bid=[1.0, 2.0, 0.5],
        ask=[1.2, 2.2, 0.7],
    )
    straddle = front_straddle(chain, 100.0)
    assert straddle is not None
    assert straddle.price == pytest.approx(1.1 + 2.1)
    assert straddle.dte == 3


def test_total_variance_iv_bisects_an_ascending_curve_as_the_scan_does() -> None:
    from app.domain.volatility.constant_maturity import ExpiryCurve, total_variance_iv

    years = np.array([7, 21, 45, 90, 180]) / 365
    iv = np.array([0.30, 0.26, 0.24, 0.22, 0.21])
    ascending = ExpiryCurve(years, years * 365, iv)
    order = np.array([3, 0, 4, 2, 1])  # the same expiries out of order: the scan is taken
    shuffled = ExpiryCurve(years[order], years[order] * 365, iv[order])
    for horizon in (30 / 365, 90 / 365, 7 / 365, 180 / 365, 1 / 365, 200 / 365):
        assert total_variance_iv(ascending, horizon) == total_variance_iv(shuffled, horizon)
    # 30 days: between 21 and 45 days, total variance linear in T (worked by hand)
    w1, w2 = 0.26**2 * 21 / 365, 0.24**2 * 45 / 365
    expected = np.sqrt((w1 + (w2 - w1) * (30 - 21) / (45 - 21)) / (30 / 365))
    assert total_variance_iv(ascending, 30 / 365) == pytest.approx(expected, rel=1e-12)
    assert total_variance_iv(ascending, 90 / 365) == 0.22  # an expiry exactly at H gives its own IV
    assert total_variance_iv(ascending, 1 / 365) is None
    assert total_variance_iv(ascending, 200 / 365) is None
