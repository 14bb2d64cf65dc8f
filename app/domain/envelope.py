"""What both documents share: who and when they are about, staleness, and why a chain gave nothing."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.domain.chain import OptionChain
from app.domain.models import SnapshotContext, iso_utc

STALE_DIAGNOSTIC = "stale_options_snapshot"
NO_SNAPSHOT = "no_options_snapshot"
EMPTY_SNAPSHOT = "empty_options_snapshot"


def staleness_diagnostics(context: SnapshotContext, stale_after_days: int) -> list[str]:
    """SPEC §3: an options snapshot older than `stale_after_days` calendar days is flagged."""
    age = context.options_snapshot_age_days
    return [STALE_DIAGNOSTIC] if age is not None and age > stale_after_days else []


def missing_chain_reason(chain: OptionChain | None) -> str | None:
    """SPEC §5.3/§6.3 NO_OPTIONS: no snapshot at or before the cut-off, or an empty one (None: a chain)."""
    if chain is None:
        return NO_SNAPSHOT
    if len(chain) == 0:
        return EMPTY_SNAPSHOT
    return None


def envelope_fields(context: SnapshotContext, params: BaseModel) -> dict[str, Any]:
    """The metadata every document carries about its ticker-day and the parameters it was computed with."""
    return {
        "symbol": context.symbol,
        "ticker_id": str(context.ticker_id),
        "snapshot_time": iso_utc(context.snapshot_time),
        "snapshot_date": context.snapshot_date.isoformat(),
        "model_version": context.model_version,
        "params": params.model_dump(),
        "overrides": list(context.overrides),
        "options_snapshot_age_days": context.options_snapshot_age_days,
    }
