"""The volatility DocumentJob: how the batch engine computes, judges and logs a volatility document (SPEC §6)."""

from __future__ import annotations

from typing import Any

from app.batch.jobs import DocumentJob, EarlierDocuments, HistoryPoint, JobName, TickerDay
from app.batch.summary import Outcome
from app.defaults import VOLATILITY_HEARTBEAT as DEFAULT_HEARTBEAT
from app.domain.models import SnapshotContext, VolatilityMetrics, VolatilityParams, VolCounts
from app.domain.volatility import CORE_METRICS, compute_volatility_metrics, error_volatility_metrics
from app.domain.volatility.realized import MAX_BARS
from app.repositories.snapshots import VOLATILITY_COLUMN

JOB_NAME = JobName.VOLATILITY

_OUTCOMES = {
    "SUCCESS": Outcome.SUCCESS,
    "PARTIAL": Outcome.PARTIAL,
    "NO_OPTIONS": Outcome.MISSING_OPTIONS,
    "ERROR": Outcome.SOFT_FAILED,
}


class VolatilityJob(DocumentJob[VolatilityMetrics]):
    name = JOB_NAME
    column = VOLATILITY_COLUMN
    greeks = frozenset({"implied_volatility", "delta"})
    needs_spot = True  # §12.2: at-the-money is relative to the session's close
    default_heartbeat = DEFAULT_HEARTBEAT
    bars = MAX_BARS  # §13.4: the last 121 bars give 120 returns

    def __init__(self, params: VolatilityParams) -> None:
        self.params = params
        self.history_lookback = params.lookback

    def compute(self, day: TickerDay, earlier: EarlierDocuments) -> VolatilityMetrics:
        return compute_volatility_metrics(
            day.chain,
            day.history.average_iv,
            self.params,
            day.context,
            spot=day.spot,
            history_30d=day.history.atm_iv_30d,
            bars=day.bars,
        )

    def error_document(self, context: SnapshotContext, reason: str) -> VolatilityMetrics:
        return error_volatility_metrics(context, self.params, reason)

    def outcome(self, doc: VolatilityMetrics) -> Outcome:
        return _OUTCOMES[doc.processing_status]

    def data_gaps(self, doc: VolatilityMetrics) -> list[str]:
        gaps = []
        if doc.processing_status == "NO_OPTIONS":
            gaps.append("no_options")
        missing = {d.partition(":")[0]: d for d in doc.diagnostics if d.partition(":")[0] in CORE_METRICS}
        if "average_iv" in missing:
            gaps.append(_no_iv(doc.metadata.counts))
        for name, diagnostic in missing.items():
            if name == "average_iv" or (name == "iv_rank" and "average_iv" in missing):
                continue  # a rank without an IV to rank says nothing more
            gaps.append("short_history" if diagnostic.startswith("iv_rank:insufficient_history") else diagnostic)
        if "stale_options_snapshot" in doc.diagnostics:
            gaps.append("stale_options_snapshot")
        return gaps

    def debug_details(self, doc: VolatilityMetrics) -> dict[str, Any]:
        return {
            "counts": doc.metadata.counts.model_dump(),
            "history": doc.metadata.history.model_dump(),
            "metrics": doc.metrics.model_dump(),
            "diagnostics": doc.diagnostics,
        }

    def log_params(self) -> dict[str, Any]:
        return self.params.model_dump()

    def history_point(self, doc: VolatilityMetrics) -> HistoryPoint:
        return HistoryPoint(doc.metrics.average_iv, doc.metrics.atm_iv_30d)


def _no_iv(counts: VolCounts) -> str:
    if counts.total_contracts and counts.malformed == counts.total_contracts:
        return "all_malformed"
    if counts.selected_contracts == 0:
        return "all_expired_or_malformed"
    if counts.iv_out_of_range == counts.selected_contracts:
        return "iv_out_of_range"
    return "no_valid_iv"
