"""SPEC §13.5 expected move: the front straddle (with ties), its 1σ IV move and the 30-day move, by hand."""

import math

import numpy as np

from app.domain.models import VolatilityParams
from app.domain.volatility import compute_volatility_metrics
from app.domain.volatility.expected_move import front_straddle
from tests.unit.chains import chain, context

NAN = math.nan


def _pair(strike, dte, call=(1.0, 1.2), put=(1.0, 1.2), iv=0.20):
    return [
        {"type": "C", "strike": strike, "dte": dte, "bid": call[0], "ask": call[1], "iv": iv},
        {"type": "P", "strike": strike, "dte": dte, "bid": put[0], "ask": put[1], "iv": iv},
    ]


STRADDLES = [
    # DTE 0: quoted at spot, but the front needs DTE ≥ 1
    *_pair(100.0, 0, call=(5.0, 5.2), put=(5.0, 5.2)),
    # DTE 1: no strike with both mids (the put at 100 has ask 0; 95 has only a put)
    {"type": "C", "strike": 100.0, "dte": 1, "bid": 0.5, "ask": 0.6},
    {"type": "P", "strike": 100.0, "dte": 1, "bid": 0.0, "ask": 0.0},
    {"type": "P", "strike": 95.0, "dte": 1, "bid": 0.1, "ask": 0.2},
    # DTE 2: an infinite ask is no quote (not malformed: §5.1 counts it as absent)
    {"type": "C", "strike": 100.0, "dte": 2, "bid": 1.0, "ask": math.inf, "iv": 0.20},
    {"type": "P", "strike": 100.0, "dte": 2, "bid": 1.0, "ask": 1.2, "iv": 0.20},
    # DTE 3: 97.5 and 102.5 sit 2.5 either side of spot 100 — the tie goes to the lower strike
    *_pair(97.5, 3, call=(3.0, 3.2), put=(0.9, 1.1)),
    *_pair(102.5, 3, call=(0.8, 1.0), put=(3.1, 3.3)),
    *_pair(110.0, 3, call=(0.05, 0.1), put=(9.9, 10.1)),
    # DTE 60: the far side of 30 days for atm_iv_30d
    *_pair(97.5, 60),
    *_pair(102.5, 60),
]


def test_front_straddle_skips_unquoted_and_same_day_expiries_and_breaks_ties_low():
    straddle = front_straddle(chain(*STRADDLES), 100.0)
    # call mid (3.0 + 3.2)/2 = 3.1, put mid (0.9 + 1.1)/2 = 1.0
    assert (straddle.dte, straddle.strike) == (3, 97.5)
    assert math.isclose(straddle.price, 4.1, rel_tol=1e-12)


def test_front_straddle_nearest_strike_wins_without_a_tie():
    straddle = front_straddle(chain(*STRADDLES), 101.0)
    assert (straddle.dte, straddle.strike) == (3, 102.5)
    assert math.isclose(straddle.price, 0.9 + 3.2, rel_tol=1e-12)


def test_expected_move_document_by_hand():
    doc = compute_volatility_metrics(chain(*STRADDLES), np.empty(0), VolatilityParams(), context(), spot=100.0)
    front, d30 = doc.expected_move.front, doc.expected_move.d30
    assert front.expiry == "2024-01-05"
    assert front.dte == 3  # session 2024-01-02 + 3 days
    assert (front.straddle_strike, front.straddle_price, front.straddle_pct) == (97.5, 4.1, 4.1)
    assert (front.lower, front.upper) == (95.9, 104.1)
    # ATM IV of the DTE-3 expiry is 0.20 (every strike 0.20): 100 · 0.20 · √(3/365) = 1.81319
    assert (front.iv_move, front.iv_move_pct) == (1.81, 1.81)
    # atm_iv_30d: 0.20 at 3 and at 60 days, so 0.20 at 30: 100 · 0.20 · √(30/365) = 5.73382
    assert doc.metrics.atm_iv_30d == 0.2
    assert (d30.iv_move, d30.iv_move_pct, d30.lower, d30.upper) == (5.73, 5.73, 94.27, 105.73)
    assert doc.expected_move.diagnostics == []


def test_front_without_atm_iv_keeps_its_straddle():
    contracts = [{**c, "iv": NAN} if c["dte"] < 60 else c for c in STRADDLES]
    doc = compute_volatility_metrics(chain(*contracts), np.empty(0), VolatilityParams(), context(), spot=100.0)
    front = doc.expected_move.front
    assert front.straddle_price == 4.1
    assert front.iv_move is None
    assert front.iv_move_pct is None
    assert "front:no_atm_iv" in doc.expected_move.diagnostics
    # only the 60-day expiry has an ATM IV now: no 30-day IV without an expiry on both sides
    assert doc.expected_move.d30.iv_move is None
    assert "d30:no_atm_iv" in doc.expected_move.diagnostics


def test_no_quoted_straddle_and_no_spot():
    unquoted = [{**c, "bid": NAN, "ask": NAN} for c in STRADDLES]
    doc = compute_volatility_metrics(chain(*unquoted), np.empty(0), VolatilityParams(), context(), spot=100.0)
    assert set(doc.expected_move.front.model_dump().values()) == {None}
    assert "front:no_quoted_straddle" in doc.expected_move.diagnostics
    assert doc.expected_move.d30.iv_move == 5.73  # the 30-day move needs IV, not quotes

    doc = compute_volatility_metrics(chain(*STRADDLES), np.empty(0), VolatilityParams(), context(), spot=None)
    assert set(doc.expected_move.front.model_dump().values()) == {None}
    assert set(doc.expected_move.d30.model_dump().values()) == {None}
    assert doc.expected_move.diagnostics == ["no_spot"]


def test_no_options_document_keeps_every_key():
    doc = compute_volatility_metrics(None, np.empty(0), VolatilityParams(), context(), spot=100.0)
    assert doc.processing_status == "NO_OPTIONS"
    assert doc.diagnostics == ["no_options_snapshot"]
    assert set(doc.expected_move.front.model_dump().values()) == {None}
    assert set(doc.realized.model_dump()) >= {
        "diagnostics",
        "hv_20",
        "iv_hv_ratio",
        "vrp_30d",
        "bars_used",
        "session_gaps",
    }
    assert doc.realized.bars_used == 0
    assert "hv_20:insufficient_bars(0<21)" in doc.realized.diagnostics
