"""structlog configuration: the only structlog.configure() call in the project."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}

# Shown even under --quiet: a quiet batch still says when it started and how it ended.
ALWAYS_SHOWN_EVENTS = frozenset({"batch_started", "batch_finished", "daily_run_finished"})


def _level_filter(min_level: int, quiet: bool):
    def processor(_logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        level = LEVELS.get(method_name.upper(), logging.INFO)
        if event_dict.get("event") in ALWAYS_SHOWN_EVENTS and level >= logging.INFO:
            return event_dict
        threshold = max(min_level, logging.WARNING) if quiet else min_level
        if level < threshold:
            raise structlog.DropEvent
        return event_dict

    return processor


def resolve_level(log_level: str | None, verbose: bool, debug: bool, quiet: bool) -> int:
    """--log-level wins; else --debug gives DEBUG; --quiet WARNING; otherwise INFO."""
    if log_level:
        return LEVELS[log_level.upper()]
    if debug:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    return logging.INFO


_active: dict[str, Any] = {"level": logging.INFO, "quiet": False}


def configure_logging(
    *,
    level: int = logging.INFO,
    quiet: bool = False,
    log_format: str = "auto",
    stream: TextIO | None = None,
) -> None:
    """Console lines on a terminal, JSON lines otherwise (or as asked), always to stderr."""
    _active.update(level=level, quiet=quiet)
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "console" if stream.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _level_filter(level, quiet),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if log_format == "json":
        renderer: list[Any] = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
    structlog.configure(
        processors=shared + renderer,
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def redirect_console_logging(stream: TextIO) -> None:
    """Same levels, console lines, another stream (e.g. rich's proxy above a progress bar)."""
    configure_logging(level=_active["level"], quiet=_active["quiet"], log_format="console", stream=stream)
