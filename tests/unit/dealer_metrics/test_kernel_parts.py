"""The dealer kernel's shared pieces (per-strike sums, |GEX| ranking, spread test, crossing), worked by hand."""

import math
from dataclasses import replace

import numpy as np
import pytest

from app.domain.dealer import compute_dealer, compute_eligibility
from app.domain.dealer.document import dealer_document
from app.domain.dealer.eligibility import wide_spreads
from app.domain.dealer.exposure import StrikeSums, WallFigures, compute_gex_slope
from app.domain.dealer.levels import StrikeGex, gex_wall
from app.domain.dealer.positioning import ranked_strikes
from app.domain.dealer.sweep import zero_gamma_crossing
from app.domain.models import DealerParams
from tests.unit.chains import chain, context

# Five contracts at three strikes, in chain order (strike, then puts before calls):
#   95 P oi 100 gex +10 | 95 C oi 300 gex -30 | 95 C oi 50 gex -5 | 100 P oi 200 gex +20 | 110 C oi 400 gex -40


def _sums() -> StrikeSums:
    strikes = np.array([95.0, 100.0, 110.0])
    inverse = np.array([0, 0, 0, 1, 2])
    is_call = np.array([False, True, True, False, True])
    oi = np.array([100.0, 300.0, 50.0, 200.0, 400.0])
    gex = np.array([10.0, -30.0, -5.0, 20.0, -40.0])
    return StrikeSums.of(strikes, inverse, is_call, oi, gex)


def test_strike_sums_add_each_type_per_strike():
    sums = _sums()
    # row 0 puts, row 1 calls; 95 holds one put and two calls (-30 + -5 = -35, 300 + 50 = 350)
    assert sums.gex.tolist() == [[10.0, 20.0, 0.0], [-35.0, 0.0, -40.0]]
    assert sums.open_interest.tolist() == [[100.0, 200.0, 0.0], [350.0, 0.0, 400.0]]
    assert sums.contracts.tolist() == [[1, 1, 0], [2, 0, 1]]
    profile = sums.profile()
    assert (profile.call_gex.tolist(), profile.put_gex.tolist()) == ([-35.0, 0.0, -40.0], [10.0, 20.0, 0.0])
    assert profile.net_gex.tolist() == [-25.0, 20.0, -40.0]


def test_walls_from_the_sums_keep_the_types_apart_and_rank_by_open_interest():
    calls, puts = _sums().walls(spot=100.0, max_moneyness=0.10, top_n=3)
    # calls: 110 (OI 400, 10 away) before 95 (OI 350); puts: 100 (OI 200) before 95 (OI 100); no empty slot
    assert calls == [
        WallFigures(110.0, 400.0, -40.0, 1, 10.0, 0.1),
        WallFigures(95.0, 350.0, -35.0, 2, -5.0, 0.05),
    ]
    assert [(w.strike, w.open_interest, w.contracts) for w in puts] == [(100.0, 200.0, 1), (95.0, 100.0, 1)]
    # 9% band: 110 is 10% away and leaves the calls; top 1 keeps the largest open interest
    calls, puts = _sums().walls(spot=100.0, max_moneyness=0.09, top_n=1)
    assert ([w.strike for w in calls], [w.strike for w in puts]) == ([95.0], [100.0])


def test_gex_ranking_by_size_then_nearest_spot_then_lower_strike():
    # |GEX| 50 at 90 and 110 (both 10 from spot 100: the lower first), then 30 at 97 (3 away) before 30 at 104 (4 away)
    per_type = StrikeGex.ranked(
        np.array([90.0, 97.0, 104.0, 110.0, 120.0]), np.array([-50.0, 30.0, -30.0, 50.0, 0.0]), 100.0
    )
    assert per_type.strikes[per_type.ranking].tolist() == [90.0, 110.0, 97.0, 104.0, 120.0]
    assert gex_wall(per_type) == 90.0
    above = ranked_strikes(per_type, 100.0, above=True)  # 120 has no GEX: left out
    assert [(s.strike, s.gex, s.distance_pct) for s in above] == [(110.0, 50.0, 10.0), (104.0, -30.0, 4.0)]
    below = ranked_strikes(per_type, 100.0, above=False)
    assert [s.strike for s in below] == [90.0, 97.0]
    assert gex_wall(StrikeGex.ranked(np.empty(0), np.empty(0), 100.0)) is None


def test_wide_spreads_where_both_quotes_and_a_positive_mid_exist():
    book = chain(
        {"type": "C", "strike": 100, "bid": 1.0, "ask": 1.2},  # 0.2 / 1.1 = 18.2%: wide
        {"type": "C", "strike": 105, "bid": 1.0, "ask": 1.05},  # 4.9%
        {"type": "C", "strike": 110, "bid": 0.0, "ask": 0.0},  # mid 0: the rule does not apply
        {"type": "C", "strike": 115, "bid": math.nan, "ask": 1.0},  # one quote
    )
    wide, applicable, priced = wide_spreads(book, 10.0)
    assert (wide.tolist(), applicable.tolist(), priced.tolist()) == (
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
    )
    assert wide_spreads(book, 20.0)[0].tolist() == [False] * 4


def test_a_zero_open_interest_minimum_still_drops_contracts_without_open_interest():
    elig = compute_eligibility(chain({"type": "C", "strike": 100, "oi": 0}), DealerParams(min_open_interest=0))
    assert elig.counts["low_open_interest"] == 1


def test_one_crossing_and_the_nearest_of_several():
    spots = np.array([90.0, 100.0, 110.0])
    # Γ from −1 to 3 between 90 and 100: 90 + 10 · 1 / 4
    assert zero_gamma_crossing(spots[:2], np.array([-1.0, 3.0]), 100.0) == 92.5
    # crossings at 92.5 and 107.5: 107.5 is nearer spot 104
    assert zero_gamma_crossing(spots, np.array([-1.0, 3.0, -1.0]), 104.0) == 107.5


def test_slope_bands_on_ascending_strikes():
    strikes = np.array([90.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0])
    gex = np.array([1e9, 1.0, 2.0, 4.0, 8.0, 16.0, 1e9])
    # lower 98, 99 = 3; upper 100, 101, 102 = 28; (28 − 3) / (2 · 2)
    assert compute_gex_slope(strikes, gex, 100.0, 0.02) == 6.25
    assert compute_gex_slope(np.array([90.0, 110.0]), np.array([1.0, 1.0]), 100.0, 0.02) is None


def test_the_document_still_rejects_a_non_finite_figure():
    result = compute_dealer(chain({"type": "C", "strike": 100}), 100.0, DealerParams())
    broken = WallFigures(100.0, 1000.0, math.inf, 1, 0.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        dealer_document(replace(result, call_walls=(broken,)), context())
