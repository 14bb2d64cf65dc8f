"""SPEC §13.3: what changed since the previous dealer document of the ticker.

The previous document is read as stored (rounded, possibly written by an older
version without the §12/§13 keys: a missing key counts as null); the current
figures are unrounded, so each difference is rounded once, when written.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.previous import DealerSnapshot, PreviousDealer

NO_PREVIOUS_DOCUMENT = "no_previous_document"
WALL_DIGITS = 4  # GEX walls are written to 4 dp: a wall moved when its written strike differs


@dataclass(frozen=True, slots=True)
class DealerChangesFigures:
    """§13.3 figures, unrounded; every one None without a previous document."""

    previous_snapshot_date: str | None = None
    sessions_apart: int | None = None
    spot_change_pct: float | None = None
    gex_net_change: float | None = None
    gamma_at_spot_change: float | None = None
    zero_gamma_change_pct: float | None = None
    call_gex_wall_previous: float | None = None
    put_gex_wall_previous: float | None = None
    call_gex_wall_moved: bool | None = None
    put_gex_wall_moved: bool | None = None
    position_changed: bool | None = None
    regime_changed: bool | None = None
    diagnostics: tuple[str, ...] = ()


def _difference(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _moved(now: float | None, before: float | None) -> bool | None:
    return None if now is None or before is None else round(now, WALL_DIGITS) != before


def _position_changed(now: str | None, before: str | None) -> bool | None:
    if now in (None, "unknown") or before in (None, "unknown"):
        return None
    return now != before


def _regime_changed(now: float | None, before: float | None) -> bool | None:
    """The sign of gamma at spot differs; None when either is null or zero."""
    if not now or not before:
        return None
    return (now > 0) != (before > 0)


def compute_changes(current: DealerSnapshot, previous: PreviousDealer | None) -> DealerChangesFigures:
    """§13.3 for the current (unrounded) figures against the previous stored document."""
    if previous is None:
        return DealerChangesFigures(diagnostics=(NO_PREVIOUS_DOCUMENT,))
    before = previous.snapshot
    spot = current.spot
    spot_change = _difference(spot, before.spot)
    zero_change = _difference(current.zero_gamma, before.zero_gamma)
    return DealerChangesFigures(
        previous_snapshot_date=before.snapshot_date,
        sessions_apart=previous.sessions_apart,
        spot_change_pct=spot_change / before.spot * 100.0 if spot_change is not None and before.spot else None,
        gex_net_change=_difference(current.gex_net, before.gex_net),
        gamma_at_spot_change=_difference(current.gamma_at_spot, before.gamma_at_spot),
        zero_gamma_change_pct=zero_change / spot * 100.0 if zero_change is not None and spot else None,
        call_gex_wall_previous=before.call_gex_wall,
        put_gex_wall_previous=before.put_gex_wall,
        call_gex_wall_moved=_moved(current.call_gex_wall, before.call_gex_wall),
        put_gex_wall_moved=_moved(current.put_gex_wall, before.put_gex_wall),
        position_changed=_position_changed(current.position, before.position),
        regime_changed=_regime_changed(current.gamma_at_spot, before.gamma_at_spot),
    )
