"""Parts of the volatility document beyond the seed: `realized` (SPEC §13.4) and `expected_move` (§13.5)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

_DOC = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RealizedVolatility(BaseModel):
    """§13.4 realized volatility from the daily bars (annualized decimals) and its comparison with IV."""

    model_config = _DOC

    hv_10: float | None
    hv_20: float | None
    hv_60: float | None
    hv_120: float | None
    parkinson_20: float | None
    garman_klass_20: float | None
    yang_zhang_20: float | None
    bars_used: int
    session_gaps: int | None
    iv_hv_ratio: float | None
    vrp_30d: float | None
    hv20_hv60_ratio: float | None
    diagnostics: list[str]  # why a key is null, and the bars' gaps (the seed's `diagnostics` stays as it was)


class FrontExpectedMove(BaseModel):
    """§13.5 the front expiry's at-the-money straddle and its 1σ IV move (prices in the underlying's units)."""

    model_config = _DOC

    expiry: str | None
    dte: int | None
    straddle_strike: float | None
    straddle_price: float | None
    straddle_pct: float | None
    lower: float | None
    upper: float | None
    iv_move: float | None
    iv_move_pct: float | None


class ThirtyDayExpectedMove(BaseModel):
    """§13.5 the 1σ move over 30 calendar days implied by atm_iv_30d, and its band."""

    model_config = _DOC

    iv_move: float | None
    iv_move_pct: float | None
    lower: float | None
    upper: float | None


class ExpectedMove(BaseModel):
    model_config = _DOC

    front: FrontExpectedMove
    d30: ThirtyDayExpectedMove
    diagnostics: list[str]  # why a key is null
