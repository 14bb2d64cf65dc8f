"""Fixtures: a migrated SQLite and PostgreSQL database per test, and the test lanes.

Isolation: `db` (and `pg_db`, `sqlite_db`) empty the tables after each test, for tests whose code
commits on connections of its own (the batch engine's reader and writer threads, imports);
`db_tx` runs the test inside one outer transaction that is rolled back, for tests that need no
real commit (a commit inside the test releases a savepoint).

Lanes: every test is marked `unit`, `integration`, `realdata` or `browser` by its folder (tests/cli counts as
integration), so `scripts/test.sh unit` runs the fast lane.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from app import migrations
from app.db import make_engine, make_session_factory
from tests.factories import TestSession
from tests.pg import PostgresServer, PostgresUnavailable

TABLES_CHILD_FIRST = ("daily_snapshots", "options_chains", "ohlcv", "watchlists", "tickers")
LANES = {
    "unit": "unit",
    "integration": "integration",
    "cli": "integration",
    "realdata": "realdata",
    "browser": "browser",
}


def pytest_collection_modifyitems(config, items):
    tests_dir = Path(__file__).parent
    for item in items:
        relative = Path(item.fspath).relative_to(tests_dir)
        lane = LANES.get(relative.parts[0]) if len(relative.parts) > 1 else None
        if lane is not None:
            item.add_marker(getattr(pytest.mark, lane))


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine
    session_factory: sessionmaker[Session]

    def session(self) -> Session:
        return self.session_factory()


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer()
    except PostgresUnavailable as error:
        pytest.fail(f"PostgreSQL tests need a server and none could be had: {error}", pytrace=False)
    yield server
    server.close()


@pytest.fixture(scope="session")
def migrated_engines(tmp_path_factory, postgres_server):
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'kapman-test.db'}"
    engines = {"sqlite": (sqlite_url, make_engine(sqlite_url))}
    pg_url = postgres_server.create_database()
    engines["postgresql"] = (pg_url, make_engine(pg_url))
    for _, engine in engines.values():
        migrations.upgrade(engine)
    yield engines
    for _, engine in engines.values():
        engine.dispose()


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)}"))
        else:
            for table in TABLES_CHILD_FIRST:
                conn.execute(text(f"DELETE FROM {table}"))


def _database(backend: str, engines) -> Iterator[Database]:
    url, engine = engines[backend]
    database = Database(backend, url, engine, make_session_factory(engine))
    TestSession.configure(bind=engine)
    try:
        yield database
    finally:
        TestSession.remove()
        _empty_tables(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, migrated_engines) -> Iterator[Database]:
    """A migrated, empty database on each backend; factories write to it."""
    yield from _database(request.param, migrated_engines)


@pytest.fixture
def pg_db(migrated_engines) -> Iterator[Database]:
    """The PostgreSQL database alone, for what only a real server can show (roles, locks, plans)."""
    yield from _database("postgresql", migrated_engines)


@pytest.fixture
def sqlite_db(migrated_engines) -> Iterator[Database]:
    """The SQLite database alone, for what only SQLite stores (text in a numeric column)."""
    yield from _database("sqlite", migrated_engines)


def _savepoint_capable(engine: Engine) -> Engine:
    """pysqlite opens transactions lazily and mishandles SAVEPOINT; let SQLAlchemy emit BEGIN itself."""
    if engine.dialect.name != "sqlite":
        return engine
    twin = create_engine(engine.url, connect_args={"check_same_thread": False})

    @event.listens_for(twin, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(twin, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    return twin


@pytest.fixture(params=["sqlite", "postgresql"])
def db_tx(request, migrated_engines) -> Iterator[Database]:
    """A migrated, empty database on each backend, inside a transaction rolled back after the test."""
    url, migrated = migrated_engines[request.param]
    engine = _savepoint_capable(migrated)
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    TestSession.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield Database(request.param, url, engine, factory)
    finally:
        TestSession.remove()
        TestSession.configure(join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()
        if engine is not migrated:
            engine.dispose()


@pytest.fixture
def fresh_url(request, tmp_path: Path, postgres_server) -> str:
    """An empty, unmigrated database URL (parametrize indirectly with the backend name)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return postgres_server.create_database()


@pytest.fixture
def logs():
    """Events logged through structlog during the test."""
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


@pytest.fixture(autouse=True)
def _reset_structlog():
    """CLI tests configure structlog onto CliRunner's streams; never let that leak into the next test."""
    yield
    structlog.reset_defaults()
