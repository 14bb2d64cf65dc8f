"""SPEC §6.1: which contracts of an options snapshot the volatility metrics use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.domain.chain import BoolArray, OptionChain, malformed_mask

MAX_VALID_IV = 5.0  # decimal: 500%; above it an IV is almost surely given in percent


@dataclass(frozen=True, slots=True)
class VolSelection:
    """Masks over the chain: contracts used for ratios, and those with a usable IV."""

    selected: BoolArray
    iv_valid: BoolArray
    malformed: int
    expired: int
    iv_out_of_range: int


def valid_iv_mask(iv: np.ndarray) -> BoolArray:
    """§6.1 a usable IV: finite and in (0, 5] as a decimal."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(iv) & (iv > 0) & (iv <= MAX_VALID_IV)


def select_contracts(chain: OptionChain) -> VolSelection:
    """§6.1: not malformed and not expired; of those, the ones with a usable IV."""
    malformed = malformed_mask(chain)
    expired = ~malformed & chain.expired
    selected = ~malformed & ~expired
    iv_ok = valid_iv_mask(chain.implied_volatility)
    return VolSelection(
        selected=selected,
        iv_valid=selected & iv_ok,
        malformed=int(np.count_nonzero(malformed)),
        expired=int(np.count_nonzero(expired)),
        iv_out_of_range=int(np.count_nonzero(selected & ~iv_ok)),
    )


def usable_iv_contracts(chain: OptionChain) -> OptionChain:
    """The contracts the IV-based metrics use: what a volatility chart draws."""
    return chain.take(select_contracts(chain).iv_valid)
