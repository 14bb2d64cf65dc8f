"""A progress bar for long backfills on a terminal; nothing at all off a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from app.logging import redirect_console_logging


@contextlib.contextmanager
def progress_reporter(log_format: str, stream=None) -> Iterator[Callable[[int, int], None] | None]:
    """Yields a progress callback on an interactive console, else None (heartbeat logs only)."""
    stream = stream or sys.stderr
    if not stream.isatty() or log_format == "json":
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=stream)
    progress = Progress(
        TextColumn("ticker-days"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}/s"),
        TimeRemainingColumn(),
        console=console,
        redirect_stderr=True,
        transient=True,
    )
    with progress:
        task = progress.add_task("batch", total=None, rate="-")
        # Log lines written while the bar is shown go through rich, above the bar.
        redirect_console_logging(sys.stderr)

        def report(done: int, total: int) -> None:
            elapsed = progress.tasks[0].elapsed or 0.0
            if done == 1 or done == total or done % 10 == 0:
                rate = f"{done / elapsed:.0f}" if elapsed > 0 else "-"
                progress.update(task, completed=done, total=total, rate=rate)

        yield report
