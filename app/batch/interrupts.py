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
from collections.abc import Iterator
from types import FrameType


class StopRequest:
    """Set once by a signal handler (or a caller); read by the batch between ticker-days."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._signal: int | None = None

    def request(self, signum: int = signal.SIGTERM) -> None:
        if self._signal is None:
            self._signal = signum
        self._event.set()

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
