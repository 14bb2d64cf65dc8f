"""The dealer DocumentJob: how the batch engine computes, judges and logs a dealer document (SPEC §5)."""

from __future__ import annotations

from typing import Any

from app.batch.jobs import DocumentJob, EarlierDocuments, JobName, TickerDay
from app.batch.summary import Outcome
from app.defaults import DEALER_HEARTBEAT as DEFAULT_HEARTBEAT
from app.domain.dealer import ELIGIBILITY_RULES, compute_dealer_metrics, error_dealer_metrics
from app.domain.models import DealerMetrics, DealerParams, SnapshotContext, SpotSource, VolatilityMetrics
from app.domain.previous import DealerSnapshot
from app.repositories.snapshots import DEALER_COLUMN

JOB_NAME = JobName.DEALER


class DealerJob(DocumentJob[DealerMetrics]):
    name = JOB_NAME
    column = DEALER_COLUMN
    greeks = frozenset({"gamma", "implied_volatility", "delta"})  # IV and delta for §12.1
    default_heartbeat = DEFAULT_HEARTBEAT
    reads_previous_dealer = True

    def __init__(self, params: DealerParams, spot_override: float | None = None) -> None:
        self.params = params
        self.spot_override = spot_override
        self.needs_spot = spot_override is None

    def compute(self, day: TickerDay, earlier: EarlierDocuments) -> DealerMetrics:
        spot: float | None = day.spot
        source: SpotSource = "ohlcv_close"
        if self.spot_override is not None:
            spot, source = self.spot_override, "override"
        return compute_dealer_metrics(
            day.chain,
            spot,
            self.params,
            day.context,
            spot_source=source,
            iv_rank=_iv_rank(day, earlier),
            previous=day.previous_dealer,
        )

    def error_document(self, context: SnapshotContext, reason: str) -> DealerMetrics:
        return error_dealer_metrics(context, self.params, reason)

    def outcome(self, doc: DealerMetrics) -> Outcome:
        if doc.processing_status == "NO_OPTIONS":
            return Outcome.MISSING_OPTIONS
        if doc.processing_status == "ERROR":
            return Outcome.SOFT_FAILED
        if doc.processing_status == "SUCCESS" and doc.status != "INVALID":
            return Outcome.SUCCESS
        return Outcome.PARTIAL

    def data_gaps(self, doc: DealerMetrics) -> list[str]:
        gaps = []
        if doc.processing_status == "NO_OPTIONS":
            gaps.append("no_options")
        elif doc.processing_status == "MISSING_SPOT":
            gaps.append("no_spot")
        elif doc.processing_status == "NO_ELIGIBLE_OPTIONS":
            gaps.append(_nothing_eligible(doc))
        elif doc.status == "INVALID":
            gaps.append("too_few_eligible" if doc.confidence == "invalid" else doc.status_reason)
        if "stale_options_snapshot" in doc.metadata.diagnostics:
            gaps.append("stale_options_snapshot")
        return gaps

    def debug_details(self, doc: DealerMetrics) -> dict[str, Any]:
        meta = doc.metadata
        return {
            "filter_stats": meta.filter_stats.model_dump(), "eligible": doc.eligible_options_count,
            "total": doc.total_options_count, "spot": doc.spot_price, "gex_total": doc.gex_total,
            "gex_net": doc.gex_net, "gamma_flip": doc.gamma_flip, "gex_slope": doc.gex_slope,
            "dgpi": doc.dgpi, "dgpi_iv_rank": meta.dgpi_iv_rank, "diagnostics": meta.diagnostics,
        }  # fmt: skip

    def dealer_snapshot(self, stored: dict[str, Any]) -> DealerSnapshot | None:
        """§13.3: the figures a later session compares against; an ERROR document is not one."""
        if stored.get("processing_status") == "ERROR":
            return None
        return DealerSnapshot.from_document(stored)

    def log_params(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "spot_override": self.spot_override}


def _nothing_eligible(doc: DealerMetrics) -> str:
    """Nothing passed the rules: name the rule that removed the most contracts."""
    stats = doc.metadata.filter_stats
    removed = {rule: getattr(stats, rule) for rule in ELIGIBILITY_RULES}
    if removed["malformed"] == doc.total_options_count:
        return "all_malformed"
    return f"nothing_eligible:{max(removed, key=lambda rule: removed[rule])}"


def _iv_rank(day: TickerDay, earlier: EarlierDocuments) -> float | None:
    """The IV rank of the same row: this run's volatility document if it computed one, else the stored one."""
    fresh = earlier.get(JobName.VOLATILITY)
    if isinstance(fresh, VolatilityMetrics) and fresh.processing_status != "ERROR":
        return fresh.metrics.iv_rank
    return day.row.iv_rank
