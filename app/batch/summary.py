"""What became of each ticker-day, and the batch summary those outcomes add up to (SPEC §9).

The counts partition the processed ticker-days of one document kind:
processed = success + partial + missing_options + soft_failed, and a soft failure
ended one of three ways: errors (an ERROR document was written), kept_previous
(a stored document was kept) or write_failed (nothing could be written).
`skipped_existing` (--fill-missing) counts ticker-days that were not processed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from app.batch.dates import Target

MAX_LISTED_SOFT_FAILURES = 20


class Outcome(StrEnum):
    SUCCESS = "success"  # a usable document
    PARTIAL = "partial"  # a document with a data gap (no spot, nothing eligible, short history…)
    MISSING_OPTIONS = "missing_options"  # no options snapshot at or before the cut-off
    SOFT_FAILED = "soft_failed"  # computing or writing the ticker-day failed


class FailureEnd(StrEnum):
    ERROR_DOCUMENT = "errors"
    KEPT_PREVIOUS = "kept_previous"
    NOT_WRITTEN = "write_failed"


class BatchSummary(BaseModel):
    job: str
    dates: list[str]
    tickers: int
    processed: int = 0
    success: int = 0
    partial: int = 0
    missing_options: int = 0
    soft_failed: int = 0
    soft_failed_symbols: list[str] = []
    errors: int = 0
    kept_previous: int = 0
    write_failed: int = 0
    skipped_existing: int = 0
    data_gaps: dict[str, int] = {}  # ticker-days by data-gap reason (a ticker-day may have several)
    unknown_symbols: list[str] = []
    ambiguous_symbols: list[str] = []
    not_in_watchlist: list[str] = []
    dry_run: bool = False
    interrupted: str | None = None
    avg_seconds_per_ticker: float = 0.0
    total_seconds: float = 0.0
    exit_code: int = 0
    failure: str | None = None

    def record(self, outcome: Outcome, symbol: str, failure_end: FailureEnd | None = None) -> None:
        self.processed += 1
        match outcome:
            case Outcome.SUCCESS:
                self.success += 1
            case Outcome.PARTIAL:
                self.partial += 1
            case Outcome.MISSING_OPTIONS:
                self.missing_options += 1
            case Outcome.SOFT_FAILED:
                self.soft_failed += 1
                self._record_failure(symbol, failure_end or FailureEnd.NOT_WRITTEN)

    def record_gap(self, reason: str) -> None:
        key = reason.partition("(")[0]  # counts in parentheses, e.g. "(3<5)", would split one reason into many
        self.data_gaps[key] = self.data_gaps.get(key, 0) + 1

    def _record_failure(self, symbol: str, end: FailureEnd) -> None:
        match end:
            case FailureEnd.ERROR_DOCUMENT:
                self.errors += 1
            case FailureEnd.KEPT_PREVIOUS:
                self.kept_previous += 1
            case FailureEnd.NOT_WRITTEN:
                self.write_failed += 1
        if symbol not in self.soft_failed_symbols and len(self.soft_failed_symbols) < MAX_LISTED_SOFT_FAILURES:
            self.soft_failed_symbols.append(symbol)

    def end_fields(self) -> dict[str, object]:
        """The fields of the batch_finished / batch_interrupted events."""
        return self.model_dump(exclude={"dates"})


def dates_field(targets: list[Target]) -> dict[str, Any]:
    """The sessions of a batch with their snapshot cut-offs (UTC), for the start and end events."""
    if len(targets) == 1:
        return {"date": targets[0].day.isoformat(), "cutoff_utc": targets[0].snapshot_time.isoformat()}
    if not targets:
        return {"sessions": 0}
    return {
        "start_date": targets[0].day.isoformat(),
        "end_date": targets[-1].day.isoformat(),
        "sessions": len(targets),
        "first_cutoff_utc": targets[0].snapshot_time.isoformat(),
        "last_cutoff_utc": targets[-1].snapshot_time.isoformat(),
    }
