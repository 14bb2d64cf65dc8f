"""Stored documents read back through the document models, tolerant of older versions.

The domain models are strict (every key required) because the jobs write with them. A document
written before §12.2/§13 lacks their keys; the stored views below make exactly those keys optional
(missing = null), so one reading path serves every version. A document that still fails (wrong
types) is unreadable: the caller treats it as absent and says so.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from app.domain.dealer_parts import DealerChanges, DealerPositioning
from app.domain.models import DealerLevels, DealerMetrics, VolatilityMetrics, VolMetrics
from app.domain.volatility_parts import ExpectedMove, RealizedVolatility

log = structlog.get_logger()


# The overrides below narrow nothing at run time: they only make the newer parts optional.
class StoredDealer(DealerMetrics):
    levels: DealerLevels | None = None  # type: ignore[assignment]  # §12.1
    positioning: DealerPositioning | None = None  # type: ignore[assignment]  # §13.1
    changes: DealerChanges | None = None  # type: ignore[assignment]  # §13.3


class StoredVolMetricValues(VolMetrics):
    atm_iv_30d: float | None = None  # §12.2
    atm_iv_90d: float | None = None
    atm_term_structure: float | None = None
    rr25_30d: float | None = None
    iv30_rank: float | None = None
    iv30_percentile: float | None = None


class StoredVolatility(VolatilityMetrics):
    metrics: StoredVolMetricValues
    realized: RealizedVolatility | None = None  # type: ignore[assignment]  # §13.4
    expected_move: ExpectedMove | None = None  # type: ignore[assignment]  # §13.5


def read_dealer(document: dict[str, Any] | None) -> StoredDealer | None:
    """The stored dealer document, or None when there is none or it cannot be read."""
    return _read(StoredDealer, document, "dealer")  # type: ignore[return-value]


def read_volatility(document: dict[str, Any] | None) -> StoredVolatility | None:
    """The stored volatility document, or None when there is none or it cannot be read."""
    return _read(StoredVolatility, document, "volatility")  # type: ignore[return-value]


def is_unreadable(document: dict[str, Any] | None, read: StoredDealer | StoredVolatility | None) -> bool:
    """A document was stored but could not be read (to say so rather than 'no document')."""
    return document is not None and read is None


def _read(
    model: type[StoredDealer] | type[StoredVolatility], document: dict[str, Any] | None, kind: str
) -> StoredDealer | StoredVolatility | None:
    if document is None:
        return None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        log.warning("stored_document_unreadable", kind=kind, errors=error.error_count())
        return None
