"""The seam between the batch engine and the document kinds it runs.

A job says what it reads (greeks, spot, IV history), how it computes its document
from one ticker-day, which column it writes, and how its documents are judged
(outcome, data gaps). `dealer-metrics` runs one job, `vol-metrics` another,
`run-daily` both on one read, volatility first. The engine sees only this
module: `DocumentJob[Doc]` is generic in the document model it produces, so a
job's judging functions take its own document type, never a bare BaseModel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import numpy as np
from pydantic import BaseModel

from app.batch.dates import Target
from app.batch.summary import Outcome
from app.domain.bars import OhlcvBars
from app.domain.chain import FloatArray, OptionChain
from app.domain.models import SnapshotContext
from app.domain.previous import DealerSnapshot, PreviousDealer
from app.repositories.snapshots import ABSENT_ROW, RowState
from app.repositories.universe import TickerRef

_EMPTY = np.empty(0, dtype=np.float64)


class JobName(StrEnum):
    """The document kinds; a value is also the job's name in events and summaries."""

    VOLATILITY = "volatility_metrics"
    DEALER = "dealer_metrics"


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
    previous_dealer: PreviousDealer | None = None  # §13.3: the ticker's previous dealer document
    bars: OhlcvBars | None = None  # the last stored daily bars dated ≤ the session (jobs that read them)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """What one session contributes to the IV history later sessions rank against."""

    average_iv: float | None
    atm_iv_30d: float | None = None


# The documents this run already computed for the same ticker-day, by job (run-daily computes
# volatility before dealer metrics, so DGPI sees that day's IV rank).
EarlierDocuments = Mapping[JobName, BaseModel]

Doc = TypeVar("Doc", bound=BaseModel)


class DocumentJob(ABC, Generic[Doc]):
    """One document kind: its reads, its computation, its column, and how its documents are judged."""

    name: JobName
    column: str
    greeks: frozenset[str]
    needs_spot: bool
    default_heartbeat: int
    history_lookback: int = 0  # rows of stored IV history the job ranks against (0: none)
    reads_previous_dealer: bool = False  # §13.3: compares against the ticker's previous dealer document
    bars: int = 0  # the most recent daily bars read per ticker (0: none)

    @abstractmethod
    def compute(self, day: TickerDay, earlier: EarlierDocuments) -> Doc: ...

    @abstractmethod
    def error_document(self, context: SnapshotContext, reason: str) -> Doc: ...

    @abstractmethod
    def outcome(self, doc: Doc) -> Outcome: ...

    @abstractmethod
    def data_gaps(self, doc: Doc) -> list[str]:
        """Why a document is not a clean success (SPEC §9), one short reason each."""

    @abstractmethod
    def debug_details(self, doc: Doc) -> dict[str, Any]: ...

    @abstractmethod
    def log_params(self) -> dict[str, Any]:
        """The effective parameters, for the batch start event."""

    def history_point(self, doc: Doc) -> HistoryPoint | None:
        """What this document adds to the IV history (None: the job keeps no history)."""
        return None

    def dealer_snapshot(self, stored: dict[str, Any]) -> DealerSnapshot | None:
        """§13.3: what a later session compares against in this stored document (None: nothing)."""
        return None

    @property
    def uses_history(self) -> bool:
        return self.history_lookback > 0
