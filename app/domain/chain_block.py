"""The option chains of a chunk read, built in whole-chunk passes.

A read returns the contracts of several options snapshots in one block (`owner` says whose each row
is). Each chain is what `OptionChain.from_arrays` gives for its own rows, bit for bit; the
validation, the canonical sort and the times to expiry are computed once over the block, and each
chain is a slice of it, instead of some thirty numpy calls per chain.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt

from app.domain.chain import FloatArray, OptionChain, impossible_greeks, malformed_contracts
from app.domain.expiry import ChainClock, expired_mask, years_to_expiry_by_snapshot
from app.domain.grouping import is_ascending


def chains_of_block(
    owner: npt.NDArray[np.int64], columns: dict[str, FloatArray], clocks: list[ChainClock]
) -> list[OptionChain]:
    """One chain per clock: `owner[i]` is the index into `clocks` of row i. `columns` holds float
    columns named as `from_arrays`' arguments (`option_type` +1 call, −1 put; `unreadable` optional)."""
    n = owner.shape[0]

    def column(name: str, fill: float) -> FloatArray:  # a column not read is `fill`, as in from_arrays
        return columns[name] if name in columns else np.full(n, fill)

    strike, dte, kind = columns["strike"], columns["dte_days"], columns["option_type"]
    is_call, is_put = kind == 1, kind == -1
    unreadable = columns["unreadable"].astype(bool) if "unreadable" in columns else np.zeros(n, dtype=bool)
    oi, volume = column("open_interest", 0.0), column("volume", 0.0)
    bid, ask, delta, gamma = (column(name, np.nan) for name in ("bid", "ask", "delta", "gamma"))
    malformed = malformed_contracts(strike, is_call, is_put, oi, volume, bid, ask, dte, unreadable)
    malformed |= impossible_greeks(delta, gamma)
    after_close = np.array([clock.after_close for clock in clocks], dtype=bool)
    expired = expired_mask(dte, after_close[owner])  # each row under its own snapshot
    years = years_to_expiry_by_snapshot(dte, owner, clocks)
    order, bounds = _canonical_order(owner, len(clocks), (dte, is_call, strike))
    arrays = {
        "strike": strike, "is_call": is_call, "is_put": is_put, "dte_days": dte, "open_interest": oi,
        "volume": volume, "bid": bid, "ask": ask, "implied_volatility": column("implied_volatility", np.nan),
        "delta": delta, "gamma": gamma, "unreadable": unreadable, "expired": expired, "malformed": malformed,
        "years_to_expiry": years,
    }  # fmt: skip
    ordered = {name: values[order] for name, values in arrays.items()}
    return [
        OptionChain(**{name: values[bounds[i] : bounds[i + 1]] for name, values in ordered.items()})
        for i in range(len(clocks))
    ]


def _canonical_order(
    owner: npt.NDArray[np.int64], owners: int, keys: tuple[npt.NDArray[Any], ...]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Rows by snapshot, then in from_arrays' canonical order within it (strike, puts before calls, DTE;
    ties keep the rows' order, as its stable sort does), and where each snapshot's rows start and end.

    One small sort per snapshot: a sort of the whole block on one more key costs three times as much.
    """
    # a PostgreSQL read returns the rows grouped already
    by_owner = np.arange(owner.shape[0]) if is_ascending(owner) else np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[by_owner], np.arange(owners + 1))
    order = np.empty_like(by_owner)
    for start, stop in itertools.pairwise(bounds):
        rows = by_owner[start:stop]
        order[start:stop] = rows[np.lexsort(tuple(key[rows] for key in keys))]
    return order, bounds
