"""Rounding at the document edge: finite numbers only, no negative zero."""

from __future__ import annotations

import math


class NonFiniteResultError(ValueError):
    """A metric came out NaN or infinite: a bug or an input the rules did not catch."""


def round_or_none(value: float | None, digits: int) -> float | None:
    return None if value is None else round_to(value, digits)


def round_to(value: float, digits: int) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise NonFiniteResultError(f"non-finite metric value {value!r}")
    # + 0.0 turns -0.0 into 0.0 so equal documents serialize identically.
    return round(value, digits) + 0.0
