"""The dealer document's §13.1 `positioning` and §13.3 `changes` objects (Pydantic, strict JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

_DOC = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

LevelPosition = Literal["above", "at", "below", "unknown"]
FlipStatus = Literal["ok", "out_of_band", "none"]


class GexStrike(BaseModel):
    model_config = _DOC

    strike: float
    gex: float
    distance_pct: float


class DealerPositioning(BaseModel):
    """§13.1: where spot stands against the levels, and the GEX strikes either side of it."""

    model_config = _DOC

    spot_vs_zero_gamma_pct: float | None
    spot_vs_flip_pct: float | None
    position_vs_zero_gamma: LevelPosition
    position_vs_flip: LevelPosition
    flip_status: FlipStatus
    call_resistance: list[GexStrike]
    put_support: list[GexStrike]


class DealerChanges(BaseModel):
    """§13.3: what changed since the previous dealer document of the ticker."""

    model_config = _DOC

    previous_snapshot_date: str | None
    sessions_apart: int | None
    spot_change_pct: float | None
    gex_net_change: float | None
    gamma_at_spot_change: float | None
    zero_gamma_change_pct: float | None
    call_gex_wall_previous: float | None
    put_gex_wall_previous: float | None
    call_gex_wall_moved: bool | None
    put_gex_wall_moved: bool | None
    position_changed: bool | None
    regime_changed: bool | None
    diagnostics: list[str]  # why the keys are null (the seed's metadata.diagnostics stays as it was)
