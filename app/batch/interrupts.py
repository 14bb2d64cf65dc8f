"""SIGINT and SIGTERM end a batch between ticker-days, never inside one (SPEC §7).

The CLI (or a pipeline that imports the services) wraps a run in `stop_on_signals()`
and hands the StopRequest to the service. The first signal only asks the batch to
stop: the ticker-day in flight finishes or rolls back, the summary so far is
logged and the exit code is 128 + the signal number. A second SIGINT interrupts at
once (the open transaction rolls back).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time as clock
from collections.abc import Callable, Iterator
from types import FrameType


class StopRequest:
    """Set once by a signal handler (or a caller); read by the batch between ticker-days."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._signal: int | None = None
        self._at: float | None = None
        self._on_request: list[Callable[[], object]] = []

    def request(self, signum: int = signal.SIGTERM) -> None:
        first = self._signal is None
        if first:
            self._signal = signum
            self._at = clock.monotonic()
        self._event.set()
        if first and self._on_request:
            # Off the signal handler's thread: a cancel opens a connection of its own, and the main
            # thread may be the one blocked in the statement to cancel.
            threading.Thread(target=self._notify, name="kapman-stop", daemon=True).start()

    def on_request(self, callback: Callable[[], object]) -> None:
        """Call `callback` (on a thread of its own) when a stop is requested, e.g. to cancel statements."""
        self._on_request.append(callback)
        if self.requested:
            threading.Thread(target=callback, daemon=True).start()

    def _notify(self) -> None:
        for callback in list(self._on_request):
            with contextlib.suppress(Exception):  # a failed cancel leaves the bounded waits to end it
                callback()

    def seconds_since_request(self) -> float:
        """How long ago the stop was requested (0 when it was not)."""
        return clock.monotonic() - self._at if self._at is not None else 0.0

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def signal_name(self) -> str | None:
        return signal.Signals(self._signal).name if self._signal is not None else None

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM: the shell's convention for a signal death."""
        return 128 + (self._signal if self._signal is not None else signal.SIGTERM)

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
    """Turn SIGINT/SIGTERM into a StopRequest for the duration of the block (main thread only)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        stop.request(signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
