"""The breaker: ten ticker-days failing in a row stop the batch (SPEC §7)."""

from __future__ import annotations

from enum import StrEnum

from app.batch.errors import BatchFailure

MAX_CONSECUTIVE_FAILURES = 10


class FailureKind(StrEnum):
    WRITE = "write"  # the ticker-day could not be written
    COMPUTE = "compute"  # a document could not be computed (an ERROR document or the stored one stands)


class FailureBreaker:
    def __init__(self, limit: int = MAX_CONSECUTIVE_FAILURES) -> None:
        self.limit = limit
        self._streak: list[FailureKind] = []  # most recent last

    def observe(self, failed: set[FailureKind], last_reason: str | None) -> None:
        """One settled ticker-day; raises BatchFailure when the streak reaches the limit."""
        if not failed:
            self._streak.clear()
            return
        self._streak.append(FailureKind.WRITE if FailureKind.WRITE in failed else FailureKind.COMPUTE)
        if len(self._streak) >= self.limit:
            what = "ticker writes" if set(self._streak) == {FailureKind.WRITE} else "ticker-days"
            raise BatchFailure(f"{self.limit} consecutive {what} failed; last: {last_reason or 'computation failed'}")
