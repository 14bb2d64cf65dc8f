"""The Pydantic documents this project writes, their parts, and the job parameters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.dealer_parts import DealerChanges, DealerPositioning
from app.domain.volatility_parts import ExpectedMove, RealizedVolatility

_DOC = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

Status = Literal["FULL", "LIMITED", "INVALID"]
Confidence = Literal["high", "medium", "low", "invalid"]
SignConvention = Literal["kapman", "industry"]
DealerProcessingStatus = Literal["SUCCESS", "NO_OPTIONS", "MISSING_SPOT", "NO_ELIGIBLE_OPTIONS", "ERROR"]
Position = Literal["long_gamma", "short_gamma", "neutral", "unknown"]
SpotSource = Literal["ohlcv_close", "override"]
VolProcessingStatus = Literal["SUCCESS", "PARTIAL", "NO_OPTIONS", "ERROR"]
VolConfidence = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class SnapshotContext:
    """Who and when a document is about; everything the domain needs that is not market data."""

    symbol: str
    ticker_id: UUID
    snapshot_time: dt.datetime
    snapshot_date: dt.date
    model_version: str
    options_snapshot_time: dt.datetime | None = None
    options_snapshot_age_days: int | None = None
    overrides: tuple[str, ...] = ()


# ---------------------------------------------------------------- dealer metrics


class DealerParams(BaseModel):
    """Thresholds of SPEC §5 (defaults are the contract's). The CLI's flags are generated from these fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_dte_days: int = Field(90, ge=0, description="Drop contracts expiring later than this many days.")
    min_open_interest: int = Field(100, ge=0, description="Minimum open interest.")
    min_volume: int = Field(1, ge=0, description="Minimum volume (null counts as 0).")
    max_spread_pct: float = Field(10.0, ge=0, description="Maximum (ask-bid)/mid in percent.")
    walls_top_n: int = Field(3, ge=1, description="Walls kept per option type.")
    gex_slope_range_pct: float = Field(
        0.02, gt=0, le=1, description="Half-width of the slope window as a fraction of spot (0.02 = 2%)."
    )
    max_moneyness: float = Field(0.20, ge=0, description="Walls only within |K-S|/S of this.")
    neutral_gex_threshold: float = Field(1_000_000.0, ge=0, description="|net GEX| below this is neutral.")
    sign_convention: SignConvention = Field(
        "kapman", description="kapman: calls -1, puts +1; industry: calls +1, puts -1."
    )
    stale_after_days: int = Field(3, ge=0, description="Options snapshots older than this get the stale diagnostic.")


class Wall(BaseModel):
    model_config = _DOC

    strike: float
    open_interest: int
    gex: float
    contracts: int
    distance_from_spot: float
    moneyness: float


class DealerFilterStats(BaseModel):
    """Contracts dropped per eligibility rule (first failing rule only), plus two tallies."""

    model_config = _DOC

    malformed: int = 0
    expired: int = 0
    dte_exceeded: int = 0
    missing_gamma: int = 0
    low_open_interest: int = 0
    low_volume: int = 0
    wide_spread: int = 0
    negative_gamma_inputs: int = 0
    spread_rule_not_applied: int = 0


class DealerMetadata(BaseModel):
    model_config = _DOC

    symbol: str
    ticker_id: str
    snapshot_time: str
    snapshot_date: str
    model_version: str
    sign_convention: SignConvention
    params: dict[str, float | int | str]
    overrides: list[str]
    filter_stats: DealerFilterStats
    pricing_available: bool
    options_snapshot_age_days: int | None
    strikes_count: int
    total_open_interest: int
    dgpi_iv_rank: float | None
    diagnostics: list[str]


class GexBucket(BaseModel):
    model_config = _DOC

    dte_min: int
    dte_max: int | None  # None: the open-ended last bucket (91+)
    gex_net: float
    gex_total: float
    vanna_exposure: float  # §13.2, over the bucket's contracts with a usable IV
    charm_exposure: float


class LevelsCounts(BaseModel):
    model_config = _DOC

    universe_contracts: int  # §12.1: not expired, not malformed, OI > 0, whatever the §5.1 thresholds
    contracts_used: int  # of those, with a usable IV: the Black–Scholes measures use these
    left_out_no_iv: int
    left_out_no_gamma: int  # no finite provider gamma: out of the GEX walls and bucket GEX
    left_out_no_delta: int


class DealerLevels(BaseModel):
    """§12.1 market levels and §13.2 exposures (beside the seed's metrics, never instead of them)."""

    model_config = _DOC

    universe: str
    zero_gamma: float | None
    zero_gamma_method: str
    gamma_at_spot: float | None
    call_gex_wall: float | None
    put_gex_wall: float | None
    gex_by_dte: list[GexBucket]
    zero_dte_share: float | None
    dex_net: float | None
    vanna_exposure: float | None
    charm_exposure: float | None
    levels_counts: LevelsCounts


class DealerMetrics(BaseModel):
    """dealer_metrics_json (SPEC §5.4). Every key present; null when not applicable."""

    model_config = _DOC

    status: Status
    status_reason: str
    processing_status: DealerProcessingStatus
    failure_reason: str | None
    confidence: Confidence
    position: Position
    spot_price: float | None
    spot_price_source: SpotSource | None
    options_snapshot_time: str | None
    eligible_options_count: int
    total_options_count: int
    gex_total: float | None
    gex_net: float | None
    gamma_flip: float | None
    gex_slope: float | None
    dgpi: float | None
    call_walls: list[Wall]
    put_walls: list[Wall]
    primary_call_wall: Wall | None
    primary_put_wall: Wall | None
    levels: DealerLevels
    positioning: DealerPositioning
    changes: DealerChanges
    metadata: DealerMetadata


# ---------------------------------------------------------------- volatility metrics


class VolatilityParams(BaseModel):
    """Parameters of SPEC §6 (defaults are the contract's). The CLI's flags are generated from these fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    lookback: int = Field(252, ge=1, description="Rows of IV history used for rank and percentile.")
    min_history: int = Field(20, ge=1, description="History points needed before IV rank is given.")
    stale_after_days: int = Field(3, ge=0, description="Options snapshots older than this get the stale diagnostic.")

    @model_validator(mode="after")
    def _history_fits_lookback(self) -> VolatilityParams:
        if self.min_history > self.lookback:
            raise ValueError(f"min_history ({self.min_history}) cannot exceed lookback ({self.lookback})")
        return self


class VolMetrics(BaseModel):
    model_config = _DOC

    average_iv: float | None
    avg_call_iv: float | None
    avg_put_iv: float | None
    iv_stddev: float | None
    iv_skew: float | None
    iv_skew_call_put: float | None
    put_call_ratio_oi: float | None
    put_call_volume_ratio: float | None
    oi_ratio: float | None
    front_month_iv: float | None
    back_month_iv: float | None
    iv_term_structure: float | None
    iv_term_structure_slope: float | None
    iv_rank: float | None
    iv_percentile: float | None
    # §12.2, beside the seed's metrics: constant-maturity at-the-money and 25-delta volatility
    atm_iv_30d: float | None
    atm_iv_90d: float | None
    atm_term_structure: float | None
    rr25_30d: float | None
    iv30_rank: float | None
    iv30_percentile: float | None


class VolCounts(BaseModel):
    model_config = _DOC

    total_contracts: int
    selected_contracts: int
    with_iv_contracts: int
    call_contracts: int
    put_contracts: int
    front_month_contracts: int
    back_month_contracts: int
    total_volume: int
    total_open_interest: int
    iv_out_of_range: int
    malformed: int
    expired: int


class VolHistory(BaseModel):
    model_config = _DOC

    points: int
    min: float | None
    max: float | None


class VolMetadata(BaseModel):
    model_config = _DOC

    symbol: str
    ticker_id: str
    snapshot_time: str
    snapshot_date: str
    model_version: str
    params: dict[str, float | int | str]
    overrides: list[str]
    options_snapshot_age_days: int | None
    counts: VolCounts
    history: VolHistory


class VolatilityMetrics(BaseModel):
    """volatility_metrics_json (SPEC §6.3). Every key present; null when not applicable."""

    model_config = _DOC

    status: Status
    processing_status: VolProcessingStatus
    confidence: VolConfidence
    options_snapshot_time: str | None
    metrics: VolMetrics
    realized: RealizedVolatility  # §13.4
    expected_move: ExpectedMove  # §13.5
    diagnostics: list[str]
    metadata: VolMetadata


def iso_utc(moment: dt.datetime | None) -> str | None:
    """Stable text for a timestamp: UTC, microseconds always shown."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
