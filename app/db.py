"""Engine and session factory: the one place connections are configured."""

from __future__ import annotations

import json
from functools import partial

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.config import mask_url, normalize_url, sqlite_file

# Strict JSON at the storage boundary: NaN/Infinity can never reach a document.
_json_dumps = partial(json.dumps, allow_nan=False, separators=(",", ":"))


class DatabaseNotFound(RuntimeError):
    """A SQLite database file that a command needs does not exist (it is not created silently)."""


def make_engine(url: str, *, create_sqlite_file: bool = True) -> Engine:
    """An engine for `url`. With `create_sqlite_file` False a missing SQLite file is an error
    instead of a new, empty database (only `kapman db upgrade` and `kapman demo` create one)."""
    url = normalize_url(url)
    path = sqlite_file(url)
    if path is not None and not create_sqlite_file and not path.exists():
        raise DatabaseNotFound(
            f"the SQLite database {path} does not exist; create it with `kapman db upgrade --db-url {mask_url(url)}`"
        )
    if url.startswith("sqlite"):
        # Pooled connections may be used by the prefetch thread; the pool gives each to one thread at a time.
        engine = create_engine(
            url, json_serializer=_json_dumps, connect_args={"timeout": 30, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # No pre-ping: a stale pooled connection fails its first statement, which is classified as a
    # connection fault and retried on a fresh connection (SQLAlchemy discards the dead one).
    return create_engine(url, json_serializer=_json_dumps)


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
