"""SPEC §13.5: the move the options market prices, from the front straddle and from ATM IV.

Prices are in the underlying's currency, IVs decimals, times years of 365 days (§3).
All expiries at once: the call and put quotes are matched per (expiry, strike) by one
sort, no loop per expiry or contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.chain import BoolArray, OptionChain
from app.domain.grouping import is_ascending, stable_order
from app.domain.volatility.constant_maturity import HORIZON_30D, ExpiryCurve


@dataclass(frozen=True, slots=True)
class FrontExpectedMoveFigures:
    """The front expiry's at-the-money straddle and its 1σ IV move, unrounded (None: not computable)."""

    dte: int | None = None
    straddle_strike: float | None = None
    straddle_price: float | None = None
    straddle_pct: float | None = None
    lower: float | None = None
    upper: float | None = None
    iv_move: float | None = None
    iv_move_pct: float | None = None


@dataclass(frozen=True, slots=True)
class ThirtyDayExpectedMoveFigures:
    """The 1σ move over 30 calendar days implied by atm_iv_30d, unrounded."""

    iv_move: float | None = None
    iv_move_pct: float | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True, slots=True)
class ExpectedMoveFigures:
    front: FrontExpectedMoveFigures = FrontExpectedMoveFigures()
    d30: ThirtyDayExpectedMoveFigures = ThirtyDayExpectedMoveFigures()
    diagnostics: tuple[str, ...] = ()


_STRIKE_SCALE = 10_000
_DTE_STRIDE = 10**12  # above any strike × _STRIKE_SCALE (numeric(12,4) strikes are below 10⁸)


@dataclass(frozen=True, slots=True)
class Straddle:
    dte: int
    strike: float
    price: float  # call mid + put mid


def front_straddle(chain: OptionChain, spot: float, selected: BoolArray | None = None) -> Straddle | None:
    """The expiry with the smallest DTE ≥ 1 that has a strike with both a call and a put mid, and its
    strike nearest spot (the lower on a tie). `chain` holds the §6.1 contracts (any open interest), or
    those `selected` of it; a mid is (bid + ask) / 2 of a quote with bid ≥ 0, ask > 0 and bid ≤ ask."""
    dte = chain.dte_days
    listed = dte >= 1
    if selected is not None:
        listed &= selected
    if not listed.any():
        return None
    # nearly always the smallest DTE has a quoted pair: look there first, in chain order (the sort's key
    # counts whole days)
    first_day = math.floor(np.min(dte, where=listed, initial=math.inf))
    front = (listed & (dte < first_day + 1)).nonzero()[0]
    found = _pairs_in_chain_order(chain, front[_quoted(chain, front)])
    if found is None:
        index = listed.nonzero()[0]
        found = _pairs_by_key(chain, index[_quoted(chain, index)])
    if found is None:
        return None
    put_at, call_at = found
    pair_strikes = chain.strike.take(put_at)
    nearest = int(np.argmin(np.abs(pair_strikes - spot)))  # the first of equal distances: the lower strike
    put, call = int(put_at[nearest]), int(call_at[nearest])
    bid, ask = chain.bid, chain.ask
    price = (float(bid[call]) + float(ask[call])) / 2.0 + (float(bid[put]) + float(ask[put])) / 2.0
    return Straddle(dte=int(dte[put]), strike=float(pair_strikes[nearest]), price=price)


def _quoted(chain: OptionChain, at: npt.NDArray[np.intp]) -> BoolArray:
    """Which of the contracts `at` have a mid: bid ≥ 0, ask > 0, bid ≤ ask (and a strike)."""
    bid, ask = chain.bid.take(at), chain.ask.take(at)
    # a comparison with NaN is False: a finite ask and bid ≤ ask make the bid finite too
    return (bid >= 0) & (ask > 0) & (bid <= ask) & np.isfinite(ask) & np.isfinite(chain.strike.take(at))


def _strike_keys(chain: OptionChain, at: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    """One integer per strike: strikes have at most 4 decimals (numeric(12,4))."""
    return np.rint(chain.strike.take(at) * _STRIKE_SCALE).astype(np.int64)


def _pairs_in_chain_order(
    chain: OptionChain, at: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """(put, call) of each strike of one expiry's quoted contracts `at` that has both, ascending in strike:
    in chain order a strike's put comes just before its call. None when there is no pair, or when strikes
    equal to 4 decimals are not listed together (the sort by key decides then)."""
    strike, is_call = _strike_keys(chain, at), chain.is_call.take(at)
    key = strike * 2 + is_call
    if not (key[1:] >= key[:-1]).all():
        return None
    pairs = ((strike[1:] == strike[:-1]) & is_call[1:] & ~is_call[:-1]).nonzero()[0]
    if pairs.shape[0] == 0:
        return None
    return at.take(pairs), at.take(pairs + 1)


def _pairs_by_key(
    chain: OptionChain, index: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """(put, call) of each strike with both among the quoted contracts `index` of the smallest DTE that has
    one: one integer key per (DTE, strike, type), ascending; one sort puts each strike's put just before its
    call."""
    dte = chain.dte_days.take(index).astype(np.int64)
    key = (dte * _DTE_STRIDE + _strike_keys(chain, index)) * 2 + chain.is_call.take(index)
    order, ranked = _by_key(key, dte)
    pairs = np.flatnonzero((ranked[:-1] // 2 == ranked[1:] // 2) & (ranked[:-1] % 2 == 0) & (ranked[1:] % 2 == 1))
    if pairs.shape[0] == 0:
        return None
    front_dte = ranked[pairs[0]] // 2 // _DTE_STRIDE
    pairs = pairs[ranked[pairs] // 2 // _DTE_STRIDE == front_dte]  # the pairs of the smallest DTE
    return index.take(order.take(pairs)), index.take(order.take(pairs + 1))


def _by_key(
    key: npt.NDArray[np.int64], dte: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """np.argsort(key, kind="stable") and the sorted keys. The contracts come in strike, then type order,
    so a stable pass by DTE alone sorts the keys unless strikes agree to 4 decimals without being equal."""
    order = stable_order(dte)
    ranked = key[order]
    if not is_ascending(ranked):
        order = np.argsort(key, kind="stable")
        ranked = key[order]
    return order, ranked


def _front_iv_move(atm_curve: ExpiryCurve | None, dte: int, spot: float) -> float | None:
    """S · ATM IV_e · √T_e of the expiry with this DTE (§12.2's ATM IV), None when it has none."""
    if atm_curve is None:
        return None
    match = (atm_curve.dte_days == dte).nonzero()[0]
    if match.shape[0] == 0:
        return None
    return spot * float(atm_curve.iv[match[0]]) * math.sqrt(float(atm_curve.years[match[0]]))


def compute_expected_move(
    chain: OptionChain | None,
    spot: float | None,
    atm_curve: ExpiryCurve | None,
    atm_iv_30d: float | None,
    *,
    selected: BoolArray | None = None,
) -> ExpectedMoveFigures:
    """§13.5 for one ticker-day. `chain` holds the §6.1 contracts (or those `selected` of it); `atm_curve`
    the ATM IV per expiry and `atm_iv_30d` the constant-maturity IV of §12.2; `spot` the session's close."""
    if spot is None:
        return ExpectedMoveFigures(diagnostics=("no_spot",))
    diagnostics = []
    straddle = front_straddle(chain, spot, selected) if chain is not None else None
    front = FrontExpectedMoveFigures()
    if straddle is None:
        diagnostics.append("front:no_quoted_straddle")
    else:
        iv_move = _front_iv_move(atm_curve, straddle.dte, spot)
        if iv_move is None:
            diagnostics.append("front:no_atm_iv")
        front = FrontExpectedMoveFigures(
            dte=straddle.dte,
            straddle_strike=straddle.strike,
            straddle_price=straddle.price,
            straddle_pct=straddle.price / spot * 100.0,
            lower=spot - straddle.price,
            upper=spot + straddle.price,
            iv_move=iv_move,
            iv_move_pct=iv_move / spot * 100.0 if iv_move is not None else None,
        )
    d30 = ThirtyDayExpectedMoveFigures()
    if atm_iv_30d is None:
        diagnostics.append("d30:no_atm_iv")
    else:
        move = spot * atm_iv_30d * math.sqrt(HORIZON_30D)
        d30 = ThirtyDayExpectedMoveFigures(
            iv_move=move, iv_move_pct=move / spot * 100.0, lower=spot - move, upper=spot + move
        )
    return ExpectedMoveFigures(front, d30, tuple(diagnostics))
