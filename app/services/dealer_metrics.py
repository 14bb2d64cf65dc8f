"""`run_dealer_metrics`: dealer_metrics_json for every universe ticker and session (SPEC §5)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app import MODEL_VERSION
from app.domain.dealer import compute_dealer_metrics, error_dealer_metrics
from app.domain.models import DealerMetrics, DealerParams, SnapshotContext
from app.repositories.snapshots import DEALER_COLUMN
from app.repositories.universe import TickerRef
from app.services.batch import BatchOptions, BatchRunner, BatchSummary, ChunkInputs, load_market_chunk
from app.services.dates import Target

_OUTCOMES = {"SUCCESS": "success", "NO_OPTIONS": "missing_options", "ERROR": "errors"}


class DealerMetricsJob:
    name = "dealer_metrics"
    column = DEALER_COLUMN

    def __init__(self, params: DealerParams, spot_override: float | None = None) -> None:
        self.params = params
        self.spot_override = spot_override

    def params_for_log(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "spot_override": self.spot_override}

    def load_chunk(self, session: Session, refs: list[TickerRef], target: Target) -> ChunkInputs:
        return load_market_chunk(
            session, refs, target, self.column, greeks=("gamma",), spots=self.spot_override is None
        )

    def prepare_chunk(self, session, refs, target, inputs) -> None:
        """Nothing here depends on this run's earlier writes."""

    def compute(self, ref: TickerRef, inputs: ChunkInputs, ctx: SnapshotContext) -> DealerMetrics:
        if self.spot_override is not None:
            spot, source = self.spot_override, "override"
        else:
            spot, source = inputs.spots.get(ref.ticker_id), "ohlcv_close"
        row = inputs.row_states.get(ref.ticker_id)
        return compute_dealer_metrics(
            inputs.chains.get(ref.ticker_id),
            spot,
            self.params,
            ctx,
            spot_source=source,
            iv_rank=row.iv_rank if row else None,
        )

    def error_document(self, ctx: SnapshotContext, reason: str) -> DealerMetrics:
        return error_dealer_metrics(ctx, self.params, reason)

    def outcome(self, doc: BaseModel) -> str:
        return _OUTCOMES.get(doc.processing_status, "partial")

    def data_gaps(self, doc: BaseModel) -> list[str]:
        gaps = {"NO_OPTIONS": "no_options", "MISSING_SPOT": "no_spot"}
        found = [gaps[doc.processing_status]] if doc.processing_status in gaps else []
        if "stale_options_snapshot" in doc.metadata.diagnostics:
            found.append("stale_options_snapshot")
        return found

    def debug_details(self, doc: BaseModel) -> dict[str, Any]:
        meta = doc.metadata
        return {
            "filter_stats": meta.filter_stats.model_dump(), "eligible": doc.eligible_options_count,
            "total": doc.total_options_count, "spot": doc.spot_price, "gex_total": doc.gex_total,
            "gex_net": doc.gex_net, "gamma_flip": doc.gamma_flip, "gex_slope": doc.gex_slope,
            "dgpi": doc.dgpi, "dgpi_iv_rank": meta.dgpi_iv_rank, "diagnostics": meta.diagnostics,
        }  # fmt: skip

    def record(self, ref, target, doc, inputs) -> None:
        """Dealer metrics carry no state from one session to the next."""


def run_dealer_metrics(
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    params: DealerParams | None = None,
    *,
    spot_override: float | None = None,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Compute and upsert dealer metrics; returns the batch summary (exit_code 0 or 1)."""
    job = DealerMetricsJob(params or DealerParams(), spot_override)
    runner = BatchRunner(
        job,
        session_factory,
        options or BatchOptions(),
        sleep=sleep,
        progress=progress,
        model_version=MODEL_VERSION,
    )
    return runner.run()
