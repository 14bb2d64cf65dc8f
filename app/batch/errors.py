"""How a batch stops early: a batch-level failure (exit 1) or an interrupt (exit 130/143)."""

from __future__ import annotations


class BatchFailure(Exception):
    """The batch cannot go on; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Interrupted(Exception):
    """A stop was requested (SIGINT/SIGTERM) between ticker-days."""
