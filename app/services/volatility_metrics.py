"""`run_volatility_metrics`: volatility_metrics_json for every universe ticker and session (SPEC §6)."""

from __future__ import annotations

import datetime as dt
import time as clock
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app import MODEL_VERSION
from app.domain.models import SnapshotContext, VolatilityMetrics, VolatilityParams
from app.domain.volatility import compute_volatility_metrics, error_volatility_metrics
from app.repositories.snapshots import VOLATILITY_COLUMN, SnapshotRepository
from app.repositories.universe import TickerRef
from app.services.batch import BatchOptions, BatchRunner, BatchSummary, ChunkInputs, load_market_chunk
from app.services.dates import Target

_OUTCOMES = {"SUCCESS": "success", "PARTIAL": "partial", "NO_OPTIONS": "missing_options", "ERROR": "errors"}


class VolatilityMetricsJob:
    """Carries each ticker's IV history forward in memory, so a range run sees what it wrote.

    The history of a ticker is read once (rows before its first session in this
    run); later sessions only read rows other stages wrote in between.
    """

    name = "volatility_metrics"
    column = VOLATILITY_COLUMN

    def __init__(self, params: VolatilityParams) -> None:
        self.params = params
        self._history: dict[uuid.UUID, deque[tuple[dt.datetime, float | None]]] = {}
        self._covered_until: dict[uuid.UUID, dt.datetime] = {}

    def params_for_log(self) -> dict[str, Any]:
        return self.params.model_dump()

    def load_chunk(self, session: Session, refs: list[TickerRef], target: Target) -> ChunkInputs:
        return load_market_chunk(
            session, refs, target, self.column, greeks=("implied_volatility", "delta"), spots=False
        )

    def prepare_chunk(self, session: Session, refs: list[TickerRef], target: Target, inputs: ChunkInputs) -> None:
        """Bring each ticker's history up to this session; it must see what earlier sessions of this run wrote."""
        self._refresh_history(SnapshotRepository(session), [r.ticker_id for r in refs], target.cutoff)

    def _refresh_history(self, snapshots: SnapshotRepository, ids: list[uuid.UUID], cutoff: dt.datetime) -> None:
        fresh = [tid for tid in ids if tid not in self._history]
        if fresh:
            for tid, rows in snapshots.load_iv_history(fresh, cutoff, self.params.lookback).items():
                self._history[tid] = deque(rows, maxlen=self.params.lookback)
                self._covered_until[tid] = cutoff
        carried = [tid for tid in ids if tid not in fresh and self._covered_until[tid] < cutoff]
        if carried:
            since = min(self._covered_until[tid] for tid in carried)
            for tid, rows in snapshots.load_iv_between(carried, since, cutoff).items():
                self._history[tid].extend(r for r in rows if r[0] > self._covered_until[tid])

    def history_values(self, ticker_id: uuid.UUID, cutoff: dt.datetime) -> np.ndarray:
        rows = self._history.get(ticker_id, ())
        return np.array([v for t, v in rows if t < cutoff and v is not None], dtype=np.float64)

    def compute(self, ref: TickerRef, inputs: ChunkInputs, ctx: SnapshotContext) -> VolatilityMetrics:
        history = self.history_values(ref.ticker_id, ctx.snapshot_time)
        return compute_volatility_metrics(inputs.chains.get(ref.ticker_id), history, self.params, ctx)

    def error_document(self, ctx: SnapshotContext, reason: str) -> VolatilityMetrics:
        return error_volatility_metrics(ctx, self.params, reason)

    def outcome(self, doc: BaseModel) -> str:
        return _OUTCOMES[doc.processing_status]

    def data_gaps(self, doc: BaseModel) -> list[str]:
        found = ["no_options"] if doc.processing_status == "NO_OPTIONS" else []
        for diagnostic in doc.diagnostics:
            if diagnostic == "stale_options_snapshot":
                found.append("stale_options_snapshot")
            elif diagnostic.startswith("iv_rank:insufficient_history"):
                found.append("short_history")
        return found

    def debug_details(self, doc: BaseModel) -> dict[str, Any]:
        return {
            "counts": doc.metadata.counts.model_dump(),
            "history": doc.metadata.history.model_dump(),
            "metrics": doc.metrics.model_dump(),
            "diagnostics": doc.diagnostics,
        }

    def record(self, ref: TickerRef, target: Target, doc: BaseModel | None, inputs: ChunkInputs) -> None:
        """Append this session's average IV (new, or the existing row's when skipped) to the history."""
        if doc is not None:
            value = doc.metrics.average_iv
        else:
            row = inputs.row_states.get(ref.ticker_id)
            value = row.average_iv if row else None
        history = self._history.setdefault(ref.ticker_id, deque(maxlen=self.params.lookback))
        if history and history[-1][0] == target.cutoff:
            history.pop()
        history.append((target.cutoff, value))
        self._covered_until[ref.ticker_id] = target.cutoff


def run_volatility_metrics(
    session_factory: sessionmaker[Session],
    options: BatchOptions | None = None,
    params: VolatilityParams | None = None,
    *,
    sleep: Callable[[float], None] = clock.sleep,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Compute and upsert volatility metrics; returns the batch summary (exit_code 0 or 1)."""
    job = VolatilityMetricsJob(params or VolatilityParams())
    runner = BatchRunner(
        job,
        session_factory,
        options or BatchOptions(heartbeat=50),
        sleep=sleep,
        progress=progress,
        model_version=MODEL_VERSION,
    )
    return runner.run()
