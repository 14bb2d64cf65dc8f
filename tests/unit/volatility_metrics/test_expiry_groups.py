"""The contracts grouped by expiry once (SPEC §12.2's walks), the straddle over selected contracts (§13.5)
and the population standard deviation (§6.2 iv_stddev), against hand-worked numbers."""

import math

import numpy as np
import pytest

from app.domain.chain import OptionChain
from app.domain.volatility.constant_maturity import risk_reversal_curves
from app.domain.volatility.expected_move import front_straddle
from app.domain.volatility.expiry_groups import group_by_expiry
from app.domain.volatility.formulas import population_std
from tests.unit.chains import chain

# canonical order is strike, puts before calls, then DTE:
#   95P@30, 95C@7, 100P@7, 100P@60, 100C@30, 105C@7
BOOK = (
    {"type": "C", "strike": 105.0, "dte": 7, "iv": 0.25},
    {"type": "P", "strike": 100.0, "dte": 60, "iv": 0.40},
    {"type": "C", "strike": 95.0, "dte": 7, "iv": 0.21},
    {"type": "P", "strike": 100.0, "dte": 7, "iv": 0.22},
    {"type": "C", "strike": 100.0, "dte": 30, "iv": 0.31},
    {"type": "P", "strike": 95.0, "dte": 30, "iv": 0.32},
)


@pytest.mark.parametrize("dte_shift", [0.0, 0.25])  # whole days (one radix pass) and fractional (np.unique)
def test_contracts_come_by_expiry_then_strike_then_chain_order(dte_shift: float) -> None:
    groups = group_by_expiry(chain(*({**c, "dte": c["dte"] + dte_shift} for c in BOOK)))
    assert groups.dte_days.tolist() == [7 + dte_shift, 30 + dte_shift, 60 + dte_shift]
    assert groups.years.tolist() == [(d + dte_shift) / 365 for d in (7, 30, 60)]  # §3 T without a clock
    assert groups.starts.tolist() == [0, 3, 5, 6]
    assert groups.expiry.tolist() == [0, 0, 0, 1, 1, 2]
    assert groups.strike.tolist() == [95.0, 100.0, 105.0, 95.0, 100.0, 100.0]
    assert groups.iv.tolist() == [0.21, 0.22, 0.25, 0.32, 0.31, 0.40]
    assert groups.is_call.tolist() == [True, False, True, False, True, False]
    assert groups.is_put.tolist() == [False, True, False, True, False, True]


def test_contracts_without_a_positive_time_to_expiry_are_left_out() -> None:
    book = chain(*BOOK)
    years = book.years_to_expiry.copy()
    years[[1, 4]] = [np.nan, 0.0]  # 95C@7 and 100C@30
    odd = OptionChain(**{**{f: getattr(book, f) for f in book.__slots__}, "years_to_expiry": years})
    groups = group_by_expiry(odd)
    assert groups.dte_days.tolist() == [7, 30, 60]
    assert groups.strike.tolist() == [100.0, 105.0, 95.0, 100.0]
    assert groups.starts.tolist() == [0, 2, 3, 4]


def test_population_std_by_hand_and_as_numpy_gives_it() -> None:
    # mean 0.35; squared deviations 0.0225 + 0.0025 + 0.0025 + 0.0225 = 0.05; / 4 = 0.0125
    assert population_std(np.array([0.2, 0.3, 0.4, 0.5])) == pytest.approx(math.sqrt(0.0125), rel=1e-15)
    values = np.random.default_rng(11).uniform(0.05, 3.0, 1_001)
    assert population_std(values) == float(values.std())  # the same float, bit for bit


def test_front_straddle_reads_only_the_selected_contracts() -> None:
    quotes = chain(
        {"type": "C", "strike": 100.0, "dte": 3, "bid": 2.0, "ask": 2.2},
        {"type": "P", "strike": 100.0, "dte": 3, "bid": 1.9, "ask": 2.1},
        {"type": "C", "strike": 105.0, "dte": 3, "bid": 0.6, "ask": 0.8},
        {"type": "P", "strike": 105.0, "dte": 3, "bid": 5.0, "ask": 5.4},
        {"type": "C", "strike": 100.0, "dte": 9, "bid": 3.0, "ask": 3.2},
        {"type": "P", "strike": 100.0, "dte": 9, "bid": 2.9, "ask": 3.1},
    )
    everything = front_straddle(quotes, 100.0)
    assert everything is not None
    assert (everything.dte, everything.strike, everything.price) == (3, 100.0, 2.1 + 2.0)
    # chain order: 100P@3, 100P@9, 100C@3, 100C@9, 105P@3, 105C@3; without the DTE 3 put at 100
    without = front_straddle(quotes, 100.0, np.array([False, True, True, True, True, True]))
    assert without is not None
    assert (without.dte, without.strike, without.price) == (3, 105.0, 0.7 + 5.2)
    # without both DTE 3 puts the front moves to DTE 9
    later = front_straddle(quotes, 100.0, np.array([False, True, True, True, False, True]))
    assert later is not None
    assert (later.dte, later.strike, later.price) == (9, 100.0, 3.1 + 3.0)


def test_both_risk_reversal_walks_at_once_by_hand() -> None:
    book = chain(
        {"type": "C", "strike": 100.0, "dte": 30, "delta": 0.50, "iv": 0.20},
        {"type": "C", "strike": 105.0, "dte": 30, "delta": 0.30, "iv": 0.22},
        {"type": "C", "strike": 110.0, "dte": 30, "delta": 0.20, "iv": 0.24},
        {"type": "P", "strike": 100.0, "dte": 30, "delta": -0.50, "iv": 0.21},
        {"type": "P", "strike": 95.0, "dte": 30, "delta": -0.35, "iv": 0.25},
        {"type": "P", "strike": 90.0, "dte": 30, "delta": -0.15, "iv": 0.29},
        {"type": "C", "strike": 100.0, "dte": 60, "iv": 0.30},  # no delta: not walked
        {"type": "P", "strike": 100.0, "dte": 60, "delta": -0.25, "iv": 0.26},  # exactly at the target
    )
    calls, puts = risk_reversal_curves(group_by_expiry(book), 100.0)
    # calls 105 → 110 bracket 0.25: 0.22 + (0.25 − 0.30) / (0.20 − 0.30) · (0.24 − 0.22) = 0.23
    assert calls.dte_days.tolist() == [30.0]
    assert calls.iv.tolist() == pytest.approx([0.23], rel=1e-12)
    # puts 95 → 90 bracket −0.25: 0.25 + (−0.25 + 0.35) / (−0.15 + 0.35) · (0.29 − 0.25) = 0.27
    assert puts.dte_days.tolist() == [30.0, 60.0]
    assert puts.iv.tolist() == pytest.approx([0.27, 0.26], rel=1e-12)
    assert puts.years.tolist() == [30 / 365, 60 / 365]
