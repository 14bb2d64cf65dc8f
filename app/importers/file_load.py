"""One file, one transaction: a file loads whole or not at all (SPEC §8.1).

The transaction first takes the import lock, so two imports of one snapshot
serialize and the second sees the first's rows as present or conflicting. A
damaged file, a database error or an interrupt rolls the file back: its summary
then counts every row it read as rejected under that reason, and says why.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.interrupts import StopRequest
from app.config import redact
from app.importers.load_summary import LoadSummary
from app.importers.source import FileRejected
from app.repositories.faults import describe, is_database_error
from app.repositories.import_lock import ImportLockUnavailable, acquire_import_lock

log = structlog.get_logger()

LOCK_WAIT_SECONDS = 600.0  # another import of the same database may take minutes; never wait forever


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived while the file was loading."""


def check_stop(stop: StopRequest | None) -> None:
    if stop is not None and stop.requested:
        raise Interrupted


def load_file(
    session_factory: sessionmaker[Session],
    summary: LoadSummary,
    load: Callable[[Session], None],
    *,
    kind: str,
    stop: StopRequest | None = None,
) -> None:
    """Run `load` in one transaction holding the import lock; turn a file-level failure into the
    summary's failure with nothing of the file written."""
    stopped: Callable[[], bool] = (lambda: stop.requested) if stop is not None else (lambda: False)
    try:
        with session_factory() as session, session.begin():
            acquire_import_lock(
                session,
                stop_requested=stopped,
                on_wait=lambda: log.info("import_waiting", file=summary.path, reason="another import is writing"),
                wait_seconds=LOCK_WAIT_SECONDS,
            )
            log.info("import_started", kind=kind, file=summary.path)
            load(session)
            check_stop(stop)  # a signal during the last chunk still rolls the file back
    except Interrupted:
        assert stop is not None
        summary.interrupted = stop.signal_name
        summary.reject_file(f"interrupted by {stop.signal_name}: nothing of this file was written", "interrupted")
        summary.exit_code = stop.exit_code
    except ImportLockUnavailable as error:
        if stop is not None and stop.requested:
            summary.interrupted = stop.signal_name
            summary.reject_file(f"{error}: nothing of this file was written", "interrupted", stop.exit_code)
        else:
            summary.reject_file(f"{error}: nothing of this file was written", "import_lock")
    except FileRejected as error:
        summary.reject_file(str(error), error.code)
    except OSError as error:
        summary.reject_file(f"{summary.path}: cannot be read ({error})", "unreadable")
    except Exception as error:
        if not is_database_error(error):  # raw driver errors too: the bulk load speaks COPY
            raise
        summary.reject_file(f"database error: {redact(describe(error))}; nothing of this file was written", "database")
    if summary.failure and not summary.interrupted:
        log.error("import_failed", kind=kind, file=summary.path, reason=summary.failure)
