"""Progress of a batch: the caller's progress callback and the heartbeat event (SPEC §9)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable

import structlog

log = structlog.get_logger()

HEARTBEAT_SECONDS = 60.0


class Progress:
    def __init__(
        self, total: int, heartbeat: int, started: float, callback: Callable[[int, int], None] | None = None
    ) -> None:
        self.total = total
        self.heartbeat = heartbeat  # ticker-days between heartbeat events
        self.started = started
        self.callback = callback
        self.done = 0
        self._last_heartbeat = started

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def advance(self) -> None:
        """One more ticker-day settled: tell the callback, and log a heartbeat every N or every 60 s."""
        self.done += 1
        now = clock.monotonic()
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.done % self.heartbeat == 0 or now - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            log.info(
                "heartbeat",
                done=self.done,
                total=self.total,
                percent=round(100.0 * self.done / self.total, 1) if self.total else 100.0,
                elapsed_seconds=round(now - self.started, 1),
            )
