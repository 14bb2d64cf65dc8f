"""The typed description of a document job, which the batch engine runs.

A job says what it reads (greeks, spot, IV history), how it computes its
document from one ticker-day, which column it writes, and how its documents are
judged (outcome, data gaps). `dealer-metrics` runs one job, `vol-metrics`
another, `run-daily` both on one read, volatility first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from app.batch.dates import Target
from app.batch.summary import Outcome
from app.domain.chain import FloatArray, OptionChain
from app.domain.models import SnapshotContext
from app.repositories.snapshots import ABSENT_ROW, RowState
from app.repositories.universe import TickerRef

_EMPTY = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """A ticker's stored IV values before the snapshot time, from its most recent `lookback` rows."""

    average_iv: FloatArray = field(default_factory=lambda: _EMPTY)
    atm_iv_30d: FloatArray = field(default_factory=lambda: _EMPTY)  # §12.2, ranked the same way


@dataclass(frozen=True, slots=True)
class TickerDay:
    """Everything a document of one ticker on one session is computed from."""

    ref: TickerRef
    target: Target
    context: SnapshotContext
    chain: OptionChain | None
    spot: float | None
    row: RowState = ABSENT_ROW
    history: HistoryWindow = field(default_factory=HistoryWindow)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """What one session contributes to the IV history later sessions rank against."""

    average_iv: float | None
    atm_iv_30d: float | None = None


Compute = Callable[[TickerDay, Mapping[str, BaseModel]], BaseModel]


@dataclass(frozen=True, slots=True)
class DocumentJob:
    """One document kind: its reads, its computation, its column, and how its documents are judged.

    `compute` receives the documents this run already computed for the same ticker-day
    (run-daily computes volatility before dealer metrics, so DGPI sees that day's IV rank).
    """

    name: str
    column: str
    params: BaseModel
    greeks: frozenset[str]
    needs_spot: bool
    compute: Compute
    error_document: Callable[[SnapshotContext, str], BaseModel]
    outcome: Callable[[BaseModel], Outcome]
    data_gaps: Callable[[BaseModel], list[str]]
    debug_details: Callable[[BaseModel], dict[str, Any]]
    default_heartbeat: int
    history_lookback: int = 0  # rows of stored IV history the job ranks against (0: none)
    history_point: Callable[[BaseModel], HistoryPoint] | None = None
    log_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def uses_history(self) -> bool:
        return self.history_point is not None and self.history_lookback > 0
