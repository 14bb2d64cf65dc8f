"""A progress bar for long runs on a terminal; nothing at all off a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from app.logging import redirect_console_logging

ProgressCallback = Callable[..., None]  # (done, total[, label])


@contextlib.contextmanager
def progress_reporter(log_format: str, stream: TextIO | None = None) -> Iterator[ProgressCallback | None]:
    """Yields a progress callback on an interactive console, else None (heartbeat logs only).

    The callback takes (done, total) and optionally what is counted ("ticker-days" by default);
    a new label starts a new bar, so one command can show its stages one after the other.
    """
    stream = stream or sys.stderr
    if not stream.isatty() or log_format == "json":
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    console = Console(file=stream)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}/s"),
        TimeRemainingColumn(),
        console=console,
        redirect_stderr=True,
        transient=True,
    )
    with progress:
        tasks: dict[str, TaskID] = {}
        # Log lines written while the bar is shown go through rich, above the bar.
        redirect_console_logging(sys.stderr)

        def report(done: int, total: int, label: str = "ticker-days") -> None:
            if label not in tasks:
                for previous in tasks.values():
                    progress.update(previous, visible=False)
                tasks[label] = progress.add_task(label, total=total, rate="-")
            task = tasks[label]
            elapsed = next(t for t in progress.tasks if t.id == task).elapsed or 0.0
            if done == 1 or done == total or done % 10 == 0 or total <= 100:
                rate = f"{done / elapsed:.0f}" if elapsed > 0 else "-"
                progress.update(task, completed=done, total=total, rate=rate)

        yield report
