"""structlog configuration: the only structlog.configure() call in the project.

Every event, whatever its source (our code, the standard `logging` module used by
Alembic and the drivers, Python warnings such as numpy's), goes through one
pipeline that ends in one redaction step, so no database password reaches any
output: not in a message, an exception's text or a traceback. Tracebacks are
rendered without local variables.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from app.config import redact

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}

# Shown even under --quiet: a quiet batch still says when it started and how it ended.
ALWAYS_SHOWN_EVENTS = frozenset(
    {"batch_started", "batch_finished", "batch_interrupted", "daily_run_finished", "import_finished"}
)


def _level_filter(
    min_level: int, quiet: bool, always_shown: frozenset[str]
) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    def processor(_logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        level = LEVELS.get(method_name.upper(), logging.INFO)
        if event_dict.get("event") in always_shown and level >= logging.INFO:
            return event_dict
        threshold = max(min_level, logging.WARNING) if quiet else min_level
        if level < threshold:
            raise structlog.DropEvent
        return event_dict

    return processor


END_EVENTS = frozenset({"batch_finished", "batch_interrupted", "daily_run_finished"})
OUTCOME_COUNTS = ("success", "partial", "missing_options", "soft_failed", "errors", "kept_previous", "write_failed",
                  "skipped_existing")  # fmt: skip
CONSOLE_DROPPED = ("cutoff_utc", "first_cutoff_utc", "last_cutoff_utc", "avg_seconds_per_ticker", "processed")


def _counts_text(counts: Mapping[str, Any], names: tuple[str, ...] | None = None) -> str:
    pairs = [(name, counts[name]) for name in (names or tuple(counts)) if counts.get(name)]
    return ", ".join(f"{name} {value}" for name, value in pairs) or "none"


def _date_range(event_dict: MutableMapping[str, Any]) -> str | None:
    dates = event_dict.pop("dates", None)
    if isinstance(dates, list) and dates:
        return dates[0] if len(dates) == 1 else f"{dates[0]}..{dates[-1]} ({len(dates)} sessions)"
    if "start_date" in event_dict:
        start, end = event_dict.pop("start_date"), event_dict.pop("end_date", None)
        return f"{start}..{end} ({event_dict.pop('sessions', '?')} sessions)"
    return event_dict.pop("date", None)


def _gaps_text(gaps: Mapping[str, Any]) -> str:
    """{"no_options": 3} or, for run_daily, {"volatility": {...}, "dealer": {...}}."""
    if any(isinstance(v, Mapping) for v in gaps.values()):
        return "; ".join(f"{job}: {_gaps_text(counts)}" for job, counts in gaps.items() if counts)
    return _counts_text(gaps, tuple(sorted(gaps, key=lambda reason: (-gaps[reason], reason))))  # most frequent first


def console_batch_end(_logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """On a console, a batch end reads in a few lines: the dates as a range, counts by outcome and by
    data-gap reason, and only what is not empty. JSON lines keep every field."""
    if event_dict.get("event") not in END_EVENTS:
        return event_dict
    dates = _date_range(event_dict)
    compact: dict[str, Any] = {}
    if any(name in event_dict for name in OUTCOME_COUNTS):
        processed = event_dict.get("processed", 0)
        compact["outcomes"] = f"{processed} ticker-days: {_counts_text(event_dict, OUTCOME_COUNTS)}"
    for key, value in event_dict.items():
        if key in OUTCOME_COUNTS or key in CONSOLE_DROPPED or value in (None, [], {}, 0, False):
            continue
        if key in ("volatility", "dealer") and isinstance(value, Mapping):
            value = _counts_text(value, OUTCOME_COUNTS)
        elif key == "data_gaps" and isinstance(value, Mapping):
            value = _gaps_text(value)
        compact[key] = value
    if dates:
        compact["dates"] = dates
    return compact


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return value


def redact_secrets(_logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """The last step before rendering: mask database passwords in every string of the event."""
    return {key: _redacted(value) for key, value in event_dict.items()}


class _ToStructlog(logging.Handler):
    """Standard-library records (Alembic, drivers, `warnings`) re-emitted as structlog events."""

    _busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "active", False):  # structlog itself writing to `logging`: no loop
            return
        self._busy.active = True
        try:
            logger = structlog.get_logger(record.name)
            fields: dict[str, Any] = {"logger": record.name}
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            logger.log(record.levelno, record.getMessage(), **fields)
        except Exception:  # a logging failure must never end a batch
            self.handleError(record)
        finally:
            self._busy.active = False


def resolve_level(log_level: str | None, verbose: bool, debug: bool, quiet: bool) -> int:
    """--log-level wins; else --debug gives DEBUG; --quiet WARNING; otherwise INFO."""
    if log_level:
        return LEVELS[log_level.upper()]
    if debug:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    return logging.INFO


_active: dict[str, Any] = {"level": logging.INFO, "quiet": False, "always_shown": ALWAYS_SHOWN_EVENTS}


def configure_logging(
    *,
    level: int = logging.INFO,
    quiet: bool = False,
    log_format: str = "auto",
    stream: TextIO | None = None,
    always_shown: frozenset[str] = ALWAYS_SHOWN_EVENTS,
) -> None:
    """Console lines on a terminal, JSON lines otherwise (or as asked), always to stderr.

    `always_shown` events pass any level threshold (a command that prints its own summary
    passes an empty set)."""
    _active.update(level=level, quiet=quiet, always_shown=always_shown)
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "console" if stream.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _level_filter(level, quiet, always_shown),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Any]
    if log_format == "json":
        exceptions = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        renderer = [exceptions, redact_secrets, structlog.processors.JSONRenderer()]
    else:
        # Formatted here, not by the renderer, so that the text passes the redaction step.
        renderer = [
            structlog.processors.format_exc_info,
            console_batch_end,
            redact_secrets,
            structlog.dev.ConsoleRenderer(colors=stream.isatty()),
        ]
    structlog.configure(
        processors=shared + renderer,
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)


def _detach_standard_logging() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ToStructlog):
            root.removeHandler(handler)


def _route_standard_logging(level: int) -> None:
    """Alembic, the drivers and Python warnings speak through `logging`; send them our way."""
    _detach_standard_logging()
    root = logging.getLogger()
    root.addHandler(_ToStructlog())
    root.setLevel(level)
    logging.captureWarnings(True)


def use_standard_logging_unless_configured() -> None:
    """For library callers that never configured structlog: send our events to the standard
    `logging` module, as a well-behaved library does, instead of structlog's default of every
    level to stdout. Nothing is shown below WARNING unless the caller configures `logging`."""
    if structlog.is_configured():
        return
    _detach_standard_logging()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def redirect_console_logging(stream: TextIO) -> None:
    """Same levels, console lines, another stream (e.g. rich's proxy above a progress bar)."""
    configure_logging(
        level=_active["level"],
        quiet=_active["quiet"],
        log_format="console",
        stream=stream,
        always_shown=_active["always_shown"],
    )
