"""SPEC §6.1: which contracts of an options snapshot the volatility metrics use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.domain.chain import MAX_VALID_IV, BoolArray, FloatArray, OptionChain, usable_iv

__all__ = ["MAX_VALID_IV", "UsableContracts", "VolSelection", "select_contracts", "usable_iv_contracts"]


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


@dataclass(frozen=True, slots=True)
class UsableContracts:
    """The columns §6.2 and §12.2 read of the contracts with a usable IV, in chain order (a chain's
    other columns are not copied)."""

    strike: FloatArray
    is_call: BoolArray
    is_put: BoolArray
    dte_days: FloatArray
    years_to_expiry: FloatArray
    implied_volatility: FloatArray
    delta: FloatArray
    open_interest: FloatArray

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    @classmethod
    def of(cls, chain: OptionChain, iv_valid: BoolArray) -> UsableContracts:
        index = iv_valid.nonzero()[0]
        return cls(
            strike=chain.strike.take(index),
            is_call=chain.is_call.take(index),
            is_put=chain.is_put.take(index),
            dte_days=chain.dte_days.take(index),
            years_to_expiry=chain.years_to_expiry.take(index),
            implied_volatility=chain.implied_volatility.take(index),
            delta=chain.delta.take(index),
            open_interest=chain.open_interest.take(index),
        )
