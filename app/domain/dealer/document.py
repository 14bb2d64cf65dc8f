"""`dealer_document`: a DealerResult written as the dealer_metrics_json document (SPEC §5.4)."""

from __future__ import annotations

from typing import Any

from app.domain.chain import OptionChain
from app.domain.dealer.changes import DealerChangesFigures
from app.domain.dealer.exposure import WallFigures
from app.domain.dealer.levels import UNIVERSE, ZERO_GAMMA_METHOD, DealerLevelsFigures, GexBucketFigures, empty_buckets
from app.domain.dealer.positioning import DealerPositioningFigures, RankedStrike
from app.domain.dealer.result import DealerResult, compute_dealer
from app.domain.envelope import envelope_fields, staleness_diagnostics
from app.domain.models import DealerMetrics, DealerParams, SnapshotContext, SpotSource, iso_utc
from app.domain.previous import PreviousDealer
from app.domain.rounding import round_or_none

# The document is written as plain dicts and validated once (DealerMetrics.model_validate): the same
# checks (strict JSON: no NaN or infinity) as constructing its 26 nested models one by one, for a
# fraction of the time. The figures repeated per wall, bucket and strike are rounded inline as
# round_to does (`+ 0.0` turns −0.0 into 0.0); the validation rejects a non-finite one.
Fields = dict[str, Any]
_LEVELS_COUNTS = ("universe_contracts", "contracts_used", "left_out_no_iv", "left_out_no_gamma", "left_out_no_delta")


def _wall(level: WallFigures) -> Fields:
    return {
        "strike": round(level.strike, 4) + 0.0,
        "open_interest": round(level.open_interest),
        "gex": round(level.gex, 2) + 0.0,
        "contracts": level.contracts,
        "distance_from_spot": round(level.distance_from_spot, 4) + 0.0,
        "moneyness": round(level.moneyness, 6) + 0.0,
    }


def _bucket(bucket: GexBucketFigures) -> Fields:
    return {
        "dte_min": bucket.dte_min,
        "dte_max": bucket.dte_max,
        "gex_net": round(bucket.gex_net, 2) + 0.0,
        "gex_total": round(bucket.gex_total, 2) + 0.0,
        "vanna_exposure": round(bucket.vanna_exposure, 2) + 0.0,
        "charm_exposure": round(bucket.charm_exposure, 2) + 0.0,
    }


def _levels(levels: DealerLevelsFigures | None) -> Fields:
    if levels is None:
        return {
            "universe": UNIVERSE,
            "zero_gamma": None,
            "zero_gamma_method": ZERO_GAMMA_METHOD,
            "gamma_at_spot": None,
            "call_gex_wall": None,
            "put_gex_wall": None,
            "gex_by_dte": [_bucket(b) for b in empty_buckets()],
            "zero_dte_share": None,
            "dex_net": None,
            "vanna_exposure": None,
            "charm_exposure": None,
            "levels_counts": dict.fromkeys(_LEVELS_COUNTS, 0),
        }
    return {
        "universe": UNIVERSE,
        "zero_gamma": round_or_none(levels.zero_gamma, 2),
        "zero_gamma_method": ZERO_GAMMA_METHOD,
        "gamma_at_spot": round_or_none(levels.gamma_at_spot, 2),
        "call_gex_wall": round_or_none(levels.call_gex_wall, 4),
        "put_gex_wall": round_or_none(levels.put_gex_wall, 4),
        "gex_by_dte": [_bucket(b) for b in levels.buckets],
        "zero_dte_share": round_or_none(levels.zero_dte_share, 4),
        "dex_net": round_or_none(levels.dex_net, 2),
        "vanna_exposure": round_or_none(levels.vanna_exposure, 2),
        "charm_exposure": round_or_none(levels.charm_exposure, 2),
        "levels_counts": {
            "universe_contracts": levels.universe_contracts,
            "contracts_used": levels.contracts_used,
            "left_out_no_iv": levels.left_out_for_iv,
            "left_out_no_gamma": levels.left_out_for_gamma,
            "left_out_no_delta": levels.left_out_for_delta,
        },
    }


def _ranked(strikes: tuple[RankedStrike, ...]) -> list[Fields]:
    return [
        {
            "strike": round(s.strike, 4) + 0.0,
            "gex": round(s.gex, 2) + 0.0,
            "distance_pct": round(s.distance_pct, 2) + 0.0,
        }
        for s in strikes
    ]


def _positioning(positioning: DealerPositioningFigures) -> Fields:
    return {
        "spot_vs_zero_gamma_pct": round_or_none(positioning.spot_vs_zero_gamma_pct, 2),
        "spot_vs_flip_pct": round_or_none(positioning.spot_vs_flip_pct, 2),
        "position_vs_zero_gamma": positioning.position_vs_zero_gamma,
        "position_vs_flip": positioning.position_vs_flip,
        "flip_status": positioning.flip_status,
        "call_resistance": _ranked(positioning.call_resistance),
        "put_support": _ranked(positioning.put_support),
    }


def _changes(changes: DealerChangesFigures) -> Fields:
    return {
        "previous_snapshot_date": changes.previous_snapshot_date,
        "sessions_apart": changes.sessions_apart,
        "spot_change_pct": round_or_none(changes.spot_change_pct, 2),
        "gex_net_change": round_or_none(changes.gex_net_change, 2),
        "gamma_at_spot_change": round_or_none(changes.gamma_at_spot_change, 2),
        "zero_gamma_change_pct": round_or_none(changes.zero_gamma_change_pct, 2),
        "call_gex_wall_previous": changes.call_gex_wall_previous,
        "put_gex_wall_previous": changes.put_gex_wall_previous,
        "call_gex_wall_moved": changes.call_gex_wall_moved,
        "put_gex_wall_moved": changes.put_gex_wall_moved,
        "position_changed": changes.position_changed,
        "regime_changed": changes.regime_changed,
        "diagnostics": list(changes.diagnostics),
    }


def _metadata(result: DealerResult, context: SnapshotContext, diagnostics: list[str]) -> Fields:
    envelope = envelope_fields(context, result.params)
    eligibility = result.eligibility
    return {
        "symbol": envelope["symbol"],
        "ticker_id": envelope["ticker_id"],
        "snapshot_time": envelope["snapshot_time"],
        "snapshot_date": envelope["snapshot_date"],
        "model_version": envelope["model_version"],
        "sign_convention": result.params.sign_convention,
        "params": envelope["params"],
        "overrides": envelope["overrides"],
        "filter_stats": {
            **(eligibility.counts if eligibility else {}),
            "negative_gamma_inputs": eligibility.negative_gamma_inputs if eligibility else 0,
            "spread_rule_not_applied": eligibility.spread_rule_not_applied if eligibility else 0,
        },
        "pricing_available": eligibility.pricing_available if eligibility else False,
        "options_snapshot_age_days": envelope["options_snapshot_age_days"],
        "strikes_count": result.strikes_count,
        "total_open_interest": round(result.total_open_interest),
        "dgpi_iv_rank": result.iv_rank,
        "diagnostics": diagnostics,
    }


def dealer_document(
    result: DealerResult,
    context: SnapshotContext,
    *,
    spot_source: SpotSource = "ohlcv_close",
    failure_reason: str | None = None,
) -> DealerMetrics:
    """The document of a result: every key present, figures rounded as §5 writes them.

    A `failure_reason` makes it the ERROR document of a ticker-day that could not be computed.
    """
    diagnostics = list(result.diagnostics)
    if failure_reason is None:
        diagnostics = staleness_diagnostics(context, result.params.stale_after_days) + diagnostics
    spot = round_or_none(result.spot, 4)
    call_walls = [_wall(w) for w in result.call_walls]
    put_walls = [_wall(w) for w in result.put_walls]
    return DealerMetrics.model_validate(
        {
            "status": result.status,
            "status_reason": result.reason,
            "processing_status": result.processing_status,
            "failure_reason": failure_reason,
            "confidence": result.confidence,
            "position": result.position,
            "spot_price": spot,
            "spot_price_source": spot_source if spot is not None else None,
            "options_snapshot_time": iso_utc(context.options_snapshot_time),
            "eligible_options_count": result.eligible_count,
            "total_options_count": result.chain_size,
            "gex_total": round_or_none(result.gex_total, 2),
            "gex_net": round_or_none(result.gex_net, 2),
            "gamma_flip": round_or_none(result.gamma_flip, 2),
            "gex_slope": result.gex_slope,
            "dgpi": round_or_none(result.dgpi, 2),
            "call_walls": call_walls,
            "put_walls": put_walls,
            "primary_call_wall": call_walls[0] if call_walls else None,
            "primary_put_wall": put_walls[0] if put_walls else None,
            "levels": _levels(result.levels),
            "positioning": _positioning(result.positioning),
            "changes": _changes(result.changes),
            "metadata": _metadata(result, context, diagnostics),
        }
    )


def compute_dealer_metrics(
    chain: OptionChain | None,
    spot: float | None,
    params: DealerParams,
    ctx: SnapshotContext,
    *,
    spot_source: SpotSource = "ohlcv_close",
    iv_rank: float | None = None,
    previous: PreviousDealer | None = None,
) -> DealerMetrics:
    """Dealer metrics document for one ticker-day: `compute_dealer`, then `dealer_document`."""
    result = compute_dealer(chain, spot, params, iv_rank=iv_rank, previous=previous)
    return dealer_document(result, ctx, spot_source=spot_source)


def error_dealer_metrics(
    ctx: SnapshotContext, params: DealerParams, failure_reason: str, chain_size: int = 0
) -> DealerMetrics:
    """The document of a ticker-day whose computation or loading failed."""
    failed = DealerResult(
        params, "ERROR", "computation_error", chain_size, None, None, diagnostics=("computation_error",)
    )
    return dealer_document(failed, ctx, failure_reason=failure_reason)
