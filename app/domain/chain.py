"""OptionChain: one ticker's option-chain snapshot on one session, as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from app.domain.expiry import MIN_YEARS_TO_EXPIRY, SECONDS_PER_YEAR, ChainClock, expired_mask, years_to_expiry

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CONTRACT_MULTIPLIER = 100.0


@dataclass(frozen=True, slots=True)
class OptionChain:
    """Contracts of one options snapshot, in canonical order (strike, type, DTE).

    Missing provider values are NaN, except volume and open interest where a
    missing value means 0 (SPEC §6.1). `dte_days` is expiration − session date
    in calendar days (NaN when the expiration is unknown). `unreadable` marks
    rows whose stored values are not numbers at all (text in a numeric column
    on SQLite): they are malformed, whatever else they hold.
    """

    strike: FloatArray
    is_call: BoolArray
    is_put: BoolArray
    dte_days: FloatArray
    open_interest: FloatArray
    volume: FloatArray
    bid: FloatArray
    ask: FloatArray
    implied_volatility: FloatArray
    delta: FloatArray
    gamma: FloatArray
    unreadable: BoolArray
    expired: BoolArray  # SPEC §3: settled before the snapshot
    malformed: BoolArray  # SPEC §5.1 `malformed`, computed once for both jobs
    years_to_expiry: FloatArray  # SPEC §3, for the Black–Scholes measures of §12

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    @classmethod
    def from_arrays(
        cls,
        *,
        strike: npt.ArrayLike,
        option_type: npt.ArrayLike,
        dte_days: npt.ArrayLike,
        open_interest: npt.ArrayLike | None = None,
        volume: npt.ArrayLike | None = None,
        bid: npt.ArrayLike | None = None,
        ask: npt.ArrayLike | None = None,
        implied_volatility: npt.ArrayLike | None = None,
        delta: npt.ArrayLike | None = None,
        gamma: npt.ArrayLike | None = None,
        unreadable: npt.ArrayLike | None = None,
        clock: ChainClock | None = None,
    ) -> OptionChain:
        """Build a chain in canonical order; `option_type` holds 'C'/'P' (anything else is malformed).

        `clock` says when the snapshot was taken; without it the snapshot is taken to be at the
        session's close, before which 0DTE contracts have not settled.
        """
        strike_arr = np.asarray(strike, dtype=np.float64)
        n = strike_arr.shape[0]
        is_call, is_put = _kinds(option_type)

        def col(values: npt.ArrayLike | None, fill: float) -> FloatArray:
            return _column(values, fill, n)

        oi = col(open_interest, 0.0)
        vol = col(volume, 0.0)
        dte = col(dte_days, np.nan)
        bids, asks = col(bid, np.nan), col(ask, np.nan)
        unreadable_arr = np.zeros(n, dtype=bool) if unreadable is None else np.asarray(unreadable, dtype=bool)
        deltas, gammas = col(delta, np.nan), col(gamma, np.nan)
        malformed = malformed_contracts(strike_arr, is_call, is_put, oi, vol, bids, asks, dte, unreadable_arr)
        malformed |= impossible_greeks(deltas, gammas)
        # Strikes, then puts before calls, then DTE: summation order fixed whatever order rows came in.
        order = np.lexsort((dte, is_call, strike_arr))
        return cls(
            strike=strike_arr[order],
            is_call=is_call[order],
            is_put=is_put[order],
            dte_days=dte[order],
            open_interest=oi[order],
            volume=vol[order],
            bid=bids[order],
            ask=asks[order],
            implied_volatility=col(implied_volatility, np.nan)[order],
            delta=deltas[order],
            gamma=gammas[order],
            unreadable=unreadable_arr[order],
            expired=expired_mask(dte, clock.after_close if clock else False)[order],
            malformed=malformed[order],
            years_to_expiry=_years(dte, clock)[order],
        )

    @classmethod
    def empty(cls) -> OptionChain:
        return cls.from_arrays(strike=[], option_type=np.array([], dtype=str), dte_days=[])

    def take(self, mask: BoolArray) -> OptionChain:
        return OptionChain(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


def _kinds(option_type: npt.ArrayLike) -> tuple[BoolArray, BoolArray]:
    """(is_call, is_put) from 'C'/'P' or the repositories' compact encoding (+1 call, −1 put)."""
    kinds = np.asarray(option_type)
    if kinds.dtype.kind in "iuf":
        return kinds == 1, kinds == -1
    kinds = kinds.astype(str)
    return kinds == "C", kinds == "P"


def _column(values: npt.ArrayLike | None, fill: float, n: int) -> FloatArray:
    """One float column of n rows (a copy: the chain's arrays are its own); `fill` when not given."""
    if values is None:
        return np.full(n, fill)
    arr = np.array(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"column length {arr.shape} does not match {n} strikes")
    return arr


# SPEC §5.1: greeks no option can have. A finite absurd value (a delta of 1e305, a gamma of 1e300)
# would otherwise overflow a sum into an ERROR document or a 1e306 GEX. Non-finite values are left to
# the rules that name them (`missing_gamma`, a delta left out of §12.1's DEX).
MAX_ABS_DELTA = 1.0
MAX_ABS_GAMMA = 1e4


def impossible_greeks(delta: FloatArray, gamma: FloatArray) -> BoolArray:
    """|delta| > 1 or |gamma| > 10⁴ (finite values only)."""
    with np.errstate(invalid="ignore"):
        return (np.isfinite(delta) & (np.abs(delta) > MAX_ABS_DELTA)) | (
            np.isfinite(gamma) & (np.abs(gamma) > MAX_ABS_GAMMA)
        )


MAX_VALID_IV = 5.0  # decimal: 500%; above it an IV is almost surely given in percent


def usable_iv(iv: FloatArray) -> BoolArray:
    """SPEC §6.1/§12: a usable IV is finite and in (0, 5] as a decimal (0.42 = 42%)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(iv) & (iv > 0) & (iv <= MAX_VALID_IV)


def _years(dte_days: FloatArray, clock: ChainClock | None) -> FloatArray:
    if clock is not None:
        return years_to_expiry(dte_days, clock)
    with np.errstate(invalid="ignore"):
        return np.maximum(dte_days * 86400.0 / SECONDS_PER_YEAR, MIN_YEARS_TO_EXPIRY)


def malformed_contracts(
    strike: FloatArray,
    is_call: BoolArray,
    is_put: BoolArray,
    open_interest: FloatArray,
    volume: FloatArray,
    bid: FloatArray,
    ask: FloatArray,
    dte_days: FloatArray,
    unreadable: BoolArray,
) -> BoolArray:
    """SPEC §5.1 `malformed`: the contract cannot be read, whatever the thresholds."""
    has_bid = np.isfinite(bid)
    has_ask = np.isfinite(ask)
    with np.errstate(invalid="ignore"):
        return (
            unreadable
            | ~(np.isfinite(strike) & (strike > 0))
            | ~(is_call | is_put)
            | ~np.isfinite(open_interest)
            | (open_interest < 0)
            | ~np.isfinite(volume)
            | (volume < 0)
            | (has_bid & (bid < 0))
            | (has_ask & (ask < 0))
            | (has_bid & has_ask & (bid > ask))
            # An unknown expiration leaves DTE undefined; it cannot be placed in any window.
            | ~np.isfinite(dte_days)
        )
