"""SPEC §6.1: which contracts of an options snapshot the volatility metrics use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.domain.chain import MAX_VALID_IV, BoolArray, OptionChain, usable_iv

__all__ = ["MAX_VALID_IV", "VolSelection", "select_contracts", "usable_iv_contracts"]


@dataclass(frozen=True, slots=True)
class VolSelection:
    """Masks over the chain: contracts used for ratios, and those with a usable IV."""

    selected: BoolArray
    iv_valid: BoolArray
    malformed: int
    expired: int
    iv_out_of_range: int


def select_contracts(chain: OptionChain) -> VolSelection:
    """§6.1: not malformed and not expired; of those, the ones with a usable IV."""
    malformed = chain.malformed
    expired = ~malformed & chain.expired
    selected = ~malformed & ~expired
    iv_ok = usable_iv(chain.implied_volatility)
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
