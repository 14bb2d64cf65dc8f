"""One import writes at a time (SPEC §8.1: two imports of one snapshot never leave a mix of both files).

Each file is loaded in one transaction that first takes this lock: a transaction-scoped
advisory lock on PostgreSQL, the database write lock (BEGIN IMMEDIATE) on SQLite. The
second import waits, then sees the first's rows as present or conflicting. The wait
polls, so an interrupt is honoured while it waits, and it is bounded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.repositories.types import driver_connection

IMPORT_LOCK_KEY = 0x4B41504D  # "KAPM": the advisory lock id of imports
POLL_SECONDS = 0.2


class ImportLockUnavailable(RuntimeError):
    """Another import held the lock for longer than the wait allows, or the wait was interrupted."""


def _try_sqlite(session: Session) -> bool:
    raw = driver_connection(session)
    if raw.in_transaction:
        return True  # this transaction already writes, so it holds the lock
    (previous,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute(f"PRAGMA busy_timeout={int(POLL_SECONDS * 1000)}")
    try:
        raw.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(previous)}")


def _try_postgresql(session: Session) -> bool:
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY}).scalar())


def acquire_import_lock(
    session: Session, *, stop_requested: Callable[[], bool], on_wait: Callable[[], None], wait_seconds: float
) -> None:
    """Take the import lock for the session's transaction, waiting at most `wait_seconds`."""
    attempt = _try_postgresql if session.get_bind().dialect.name == "postgresql" else _try_sqlite
    deadline = time.monotonic() + wait_seconds
    waited = False
    while not attempt(session):
        if not waited:
            on_wait()
            waited = True
        if stop_requested():
            raise ImportLockUnavailable("interrupted while waiting for another import to finish")
        if time.monotonic() > deadline:
            raise ImportLockUnavailable(f"another import held the database for more than {wait_seconds:.0f} s")
        if session.get_bind().dialect.name == "postgresql":
            time.sleep(POLL_SECONDS)  # SQLite's attempt itself waits POLL_SECONDS
