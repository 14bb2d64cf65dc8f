"""What a stored dealer document tells the next session (SPEC §13.3), as a value object.

Kept outside app.domain.dealer so the batch engine can carry it from session to
session without knowing how a dealer document is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DealerSnapshot:
    """The figures of one dealer document that the next session's changes compare against."""

    snapshot_date: str | None = None
    spot: float | None = None
    gex_net: float | None = None
    gamma_at_spot: float | None = None
    zero_gamma: float | None = None
    call_gex_wall: float | None = None
    put_gex_wall: float | None = None
    position: str | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> DealerSnapshot:
        """From a stored dealer document (its JSON form); keys an older version did not write are null."""
        levels = document.get("levels") or {}
        metadata = document.get("metadata") or {}
        return cls(
            snapshot_date=metadata.get("snapshot_date"),
            spot=document.get("spot_price"),
            gex_net=document.get("gex_net"),
            gamma_at_spot=levels.get("gamma_at_spot"),
            zero_gamma=levels.get("zero_gamma"),
            call_gex_wall=levels.get("call_gex_wall"),
            put_gex_wall=levels.get("put_gex_wall"),
            position=document.get("position"),
        )


@dataclass(frozen=True, slots=True)
class PreviousDealer:
    """The previous dealer document of a ticker and how many NYSE sessions lie from it to this one."""

    snapshot: DealerSnapshot
    sessions_apart: int
