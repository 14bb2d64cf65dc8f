"""What every command does first (logging once, the database URL) and how it ends on an error."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import typer

from cli.flags import LogFlags

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True, slots=True)
class Runtime:
    url: str
    masked_url: str
    log_format: str
    lock_timeout: float
    statement_timeout: float

    def session_factory(self, *, create_sqlite_file: bool = False) -> sessionmaker[Session]:
        """Only `db upgrade` and `demo` may create a SQLite file; other commands need an existing one."""
        from app.db import DatabaseNotFound, make_engine, make_session_factory

        try:
            engine = make_engine(
                self.url,
                create_sqlite_file=create_sqlite_file,
                lock_timeout=self.lock_timeout,
                statement_timeout=self.statement_timeout,
            )
            return make_session_factory(engine)
        except DatabaseNotFound:
            raise
        except Exception as error:  # unknown driver, malformed URL
            raise typer.BadParameter(
                f"cannot use database URL {self.masked_url}: {type(error).__name__}", param_hint="--db-url"
            ) from None


def start(logs: LogFlags) -> Runtime:
    """Configure logging once for this invocation and resolve the database URL."""
    from app.config import mask_url, resolve_database_url
    from app.logging import configure_logging, resolve_level

    configure_logging(
        level=resolve_level(logs.log_level, logs.verbose, logs.debug, logs.quiet),
        quiet=logs.quiet and not logs.log_level,
        log_format=logs.log_format,
    )
    try:
        url = resolve_database_url(logs.db_url)
    except Exception:
        raise typer.BadParameter("not a database URL", param_hint="--db-url") from None
    return Runtime(
        url=url,
        masked_url=mask_url(url),
        log_format=logs.log_format,
        lock_timeout=logs.lock_timeout,
        statement_timeout=logs.statement_timeout,
    )


def interactive_summary(logs: LogFlags, stream: TextIO | None = None) -> bool:
    """On a terminal with no logging flag given, a command that ends with its own human summary logs
    warnings only (hundreds of data_gap lines would bury it). JSON logs, off a terminal or asked
    for, stay complete."""
    stream = stream or sys.stderr
    asked = logs.verbose or logs.debug or logs.quiet or logs.log_level is not None
    if asked or logs.log_format == "json" or not (logs.log_format == "console" or stream.isatty()):
        return False
    from app.logging import configure_logging

    configure_logging(level=logging.WARNING, log_format="console", stream=stream, always_shown=frozenset())
    return True


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Unexpected errors end as one ERROR line and exit 1, never a bare traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter, typer.TyperException):
            raise
        except Exception as error:
            # Imported here: a command that never fails (or `--help`) does not pay for them.
            import structlog

            from app.batch.retry import explain_error
            from app.db import DatabaseNotFound

            log = structlog.get_logger()
            if isinstance(error, DatabaseNotFound):
                log.error("database_missing", reason=str(error))
            else:
                log.error("command_failed", error=explain_error(error))
                log.debug("command_traceback", exc_info=True)
            raise typer.Exit(1) from None

    return wrapper
