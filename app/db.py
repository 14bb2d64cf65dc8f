"""Engine and session factory: the one place connections are configured."""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import mask_url, normalize_url, sqlite_file
from app.defaults import LOCK_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.pool import ConnectionPoolEntry

# Strict JSON at the storage boundary: NaN/Infinity can never reach a document.
json_dumps = partial(json.dumps, allow_nan=False, separators=(",", ":"))


class DatabaseNotFound(RuntimeError):
    """A SQLite database file that a command needs does not exist (it is not created silently)."""


def make_engine(
    url: str,
    *,
    create_sqlite_file: bool = True,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
) -> Engine:
    """An engine for `url`. With `create_sqlite_file` False a missing SQLite file is an error
    instead of a new, empty database (only `kapman db upgrade` and `kapman demo` create one).

    No statement waits forever (SPEC §7): every PostgreSQL session sets `lock_timeout` and
    `statement_timeout` (seconds; their expiry is a transient fault, retried), and SQLite's busy
    wait for another process's write lock is bounded by `lock_timeout`."""
    url = normalize_url(url)
    path = sqlite_file(url)
    if path is not None and not create_sqlite_file and not path.exists():
        raise DatabaseNotFound(
            f"the SQLite database {path} does not exist; create it with `kapman db upgrade --db-url {mask_url(url)}`"
        )
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, lock_timeout)
    else:
        # No pre-ping: a stale pooled connection fails its first statement, which is classified as a
        # connection fault and retried on a fresh connection (SQLAlchemy discards the dead one).
        engine = create_engine(
            url,
            json_serializer=json_dumps,
            connect_args={"options": _session_options(url, lock_timeout, statement_timeout)},
        )
    _track_checkouts(engine)
    return engine


def _sqlite_engine(url: str, lock_timeout: float) -> Engine:
    # Pooled connections may be used by the prefetch thread; the pool gives each to one thread at a time.
    # `timeout` is SQLite's busy wait for another process's write lock.
    engine = create_engine(
        url, json_serializer=json_dumps, connect_args={"timeout": lock_timeout, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


# The driver connections each engine has checked out: what a stop request cancels.
_checked_out: weakref.WeakKeyDictionary[Engine, set[Any]] = weakref.WeakKeyDictionary()
_checked_out_lock = threading.Lock()


def _track_checkouts(engine: Engine) -> None:
    live: set[Any] = set()
    _checked_out[engine] = live

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        with _checked_out_lock:
            live.add(dbapi_connection)

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        with _checked_out_lock:
            live.discard(dbapi_connection)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "close", checkin)


def cancel_statements(engine: Engine) -> int:
    """Cancel whatever the engine's checked-out connections are running (from any thread): a
    statement blocked on a lock ends with a cancellation error instead of waiting (SPEC §7 interrupts).
    PostgreSQL: a cancel request on a connection of its own; SQLite: sqlite3_interrupt (which does
    not shorten a busy wait: that one is bounded by the lock timeout). Returns how many were sent."""
    with _checked_out_lock:
        connections = list(_checked_out.get(engine, ()))
    sent = 0
    for connection in connections:
        with contextlib.suppress(Exception):  # a connection that is gone has nothing to cancel
            if hasattr(connection, "cancel_safe"):  # psycopg 3.2+: bounded, no blocking libpq call
                connection.cancel_safe(timeout=2.0)
            elif hasattr(connection, "cancel"):
                connection.cancel()
            elif hasattr(connection, "interrupt"):
                connection.interrupt()
            sent += 1
    return sent


def _session_options(url: str, lock_timeout: float, statement_timeout: float) -> str:
    """libpq `options` setting both timeouts at connection (no extra round trip), after any given in the URL."""
    given = make_url(url).query.get("options", "")
    ours = f"-c lock_timeout={_milliseconds(lock_timeout)} -c statement_timeout={_milliseconds(statement_timeout)}"
    return f"{given if isinstance(given, str) else ' '.join(given)} {ours}".strip()


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def make_session_factory(url_or_engine: str | Engine) -> sessionmaker[Session]:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    return sessionmaker(bind=engine, expire_on_commit=False)


def engine_of(session_factory: sessionmaker[Session]) -> Engine:
    """The engine a session factory is bound to."""
    return session_factory.kw["bind"]


def is_in_memory_sqlite(session_factory: sessionmaker[Session]) -> bool:
    """`sqlite://` is one database per connection: nothing may use it from a second thread."""
    url = engine_of(session_factory).url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
