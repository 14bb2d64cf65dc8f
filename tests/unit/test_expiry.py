"""SPEC §3: expired contracts and time to expiry, from the snapshot's own clock."""

import datetime as dt

import numpy as np
import pytest

from app.domain.dealer import compute_dealer_metrics
from app.domain.expiry import NEW_YORK, ChainClock, expired_mask, years_to_expiry
from app.domain.models import DealerParams, VolatilityParams
from app.domain.volatility import compute_volatility_metrics
from tests.unit.chains import chain, context

FRIDAY = dt.date(2024, 3, 22)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("moment", "after_close"),
    [
        (at(FRIDAY, 16, 0), True),  # at the close: the day's contracts have settled
        (at(FRIDAY, 15, 59), False),  # intraday: 0DTE contracts still trade
        (at(FRIDAY, 21, 40), True),  # the evening download of the NDX file
        (at(FRIDAY - dt.timedelta(days=1), 21, 40), False),  # yesterday's snapshot, read for today
        (None, False),
    ],
)
def test_after_close(moment, after_close):
    assert ChainClock(FRIDAY, moment).after_close is after_close


def test_expired_is_before_the_session_or_0dte_after_the_close():
    dte = np.array([-1.0, 0.0, 1.0, np.nan])
    assert expired_mask(dte, after_close=True).tolist() == [True, True, False, False]
    assert expired_mask(dte, after_close=False).tolist() == [True, False, False, False]


def test_years_to_expiry_from_the_snapshot_to_the_expiry_close():
    # 21:40 on Fri 22 Mar 2024 to 16:00 on Thu 28 Mar 2024: 6 days less 5 h 40 min = 138 h 20 min
    years = years_to_expiry(np.array([6.0]), ChainClock(FRIDAY, at(FRIDAY, 21, 40)))
    assert years[0] == pytest.approx((138 + 20 / 60) / (365 * 24), rel=1e-12)


def test_years_to_expiry_across_a_daylight_saving_change():
    # Fri 8 Mar 2024 16:00 EST to Fri 15 Mar 2024 16:00 EDT: clocks sprang forward on the 10th, 167 h
    friday = dt.date(2024, 3, 8)
    years = years_to_expiry(np.array([7.0]), ChainClock(friday, at(friday, 16)))
    assert years[0] == pytest.approx(167 / (365 * 24), rel=1e-12)


def test_years_to_expiry_is_floored_at_fifteen_minutes():
    years = years_to_expiry(np.array([0.0, np.nan]), ChainClock(FRIDAY, at(FRIDAY, 21, 40)))
    assert years[0] == pytest.approx(0.25 / (365 * 24))
    assert np.isnan(years[1])


def test_both_jobs_count_a_settled_0dte_contract_as_expired():
    contracts = [
        {"type": "C", "strike": 100, "dte": 0, "delta": 0.5},
        *({"type": t, "strike": k, "dte": 7, "delta": 0.25 if t == "C" else -0.25} for t in "CP" for k in (95, 105)),
    ]
    evening = chain(*contracts, clock=ChainClock(FRIDAY, at(FRIDAY, 21, 40)))
    noon = chain(*contracts, clock=ChainClock(FRIDAY, at(FRIDAY, 12)))
    ctx = context(snapshot_date=FRIDAY)
    assert compute_dealer_metrics(evening, 100.0, DealerParams(), ctx).metadata.filter_stats.expired == 1
    assert compute_dealer_metrics(noon, 100.0, DealerParams(), ctx).metadata.filter_stats.expired == 0
    vol = compute_volatility_metrics(evening, np.empty(0), VolatilityParams(), ctx)
    assert vol.metadata.counts.expired == 1
    assert vol.metadata.counts.selected_contracts == 4
