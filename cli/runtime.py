"""What every command does first (logging once, the database URL) and how it ends on an error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from cli.flags import LogFlags

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True, slots=True)
class Runtime:
    url: str
    masked_url: str
    log_format: str

    def session_factory(self, *, create_sqlite_file: bool = False) -> sessionmaker[Session]:
        """Only `db upgrade` and `demo` may create a SQLite file; other commands need an existing one."""
        from app.db import DatabaseNotFound, make_engine, make_session_factory

        try:
            return make_session_factory(make_engine(self.url, create_sqlite_file=create_sqlite_file))
        except DatabaseNotFound:
            raise
        except Exception as error:  # unknown driver, malformed URL
            raise typer.BadParameter(
                f"cannot use database URL {self.masked_url}: {type(error).__name__}", param_hint="--db-url"
            ) from None


def start(logs: LogFlags) -> Runtime:
    """Configure logging once for this invocation and resolve the database URL."""
    from app.config import mask_url, register_secret, resolve_database_url
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
    register_secret(url)
    return Runtime(url=url, masked_url=mask_url(url), log_format=logs.log_format)


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
