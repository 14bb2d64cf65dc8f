"""Real faults on a real PostgreSQL: a limited role, a held lock, a stopped server."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Role:
    name: str
    password: str
    url: str


@contextlib.contextmanager
def limited_role(admin: Engine, admin_url: str, **settings: str):
    """A login role with read/write grants on every table (and `ALTER ROLE … SET` settings)."""
    name = f"kapman_job_{uuid.uuid4().hex[:8]}"
    password = f"sw0rdf1sh-{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {name}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {name}"))
        for setting, value in settings.items():
            conn.execute(text(f"ALTER ROLE {name} SET {setting} = '{value}'"))
    url = make_url(admin_url).set(username=name, password=password).render_as_string(hide_password=False)
    try:
        yield Role(name, password, url)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'"))
            conn.execute(text(f"DROP OWNED BY {name}"))
            conn.execute(text(f"DROP ROLE {name}"))


@contextlib.contextmanager
def table_lock(admin: Engine, table: str):
    """Hold ACCESS EXCLUSIVE on `table` until the block ends or `release()` is called."""
    conn = admin.connect()
    transaction = conn.begin()
    conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))

    def release() -> None:
        if transaction.is_active:
            transaction.rollback()

    try:
        yield release
    finally:
        release()
        conn.close()


def stored_texts(engine: Engine) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """Every stored document as the database holds it (jsonb text), for byte-for-byte comparisons."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT CAST(time AS TEXT), CAST(ticker_id AS TEXT), CAST(dealer_metrics_json AS TEXT), "
                "CAST(volatility_metrics_json AS TEXT) FROM daily_snapshots"
            )
        )
        return {(t, tid): (dealer, vol) for t, tid, dealer, vol in rows}


@contextlib.contextmanager
def extra_not_null_column(engine: Engine, column: str = "pipeline_stage"):
    """Schema drift: another stage's NOT NULL column without a default on daily_snapshots.

    SQLite cannot add such a column to a table, so there the table is rebuilt with it (and the
    original put back afterwards)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE daily_snapshots ADD COLUMN {column} text NOT NULL"))
        else:
            create = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'daily_snapshots'")).scalar_one()
            conn.execute(text("ALTER TABLE daily_snapshots RENAME TO daily_snapshots_kept"))
            conn.execute(text(create.replace("(", f"({column} TEXT NOT NULL, ", 1)))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE daily_snapshots DROP COLUMN {column}"))
            else:
                conn.execute(text("DROP TABLE daily_snapshots"))
                conn.execute(text("ALTER TABLE daily_snapshots_kept RENAME TO daily_snapshots"))


@contextlib.contextmanager
def refusing_symbol(engine: Engine, symbol: str, message: str = "value too long for type character varying(50)"):
    """A trigger that refuses every daily_snapshots row whose dealer document names `symbol`, as a
    database refuses one ticker-day's row (a string data error on PostgreSQL, a trigger abort on SQLite)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_symbol() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.dealer_metrics_json -> 'metadata' ->> 'symbol' = '{symbol}' THEN "
                    f"RAISE EXCEPTION '{message}' USING ERRCODE = '22001'; END IF; RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_symbol BEFORE INSERT OR UPDATE ON daily_snapshots "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_symbol()"
                )
            )
        else:
            for event in ("INSERT", "UPDATE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_symbol_{event.lower()} BEFORE {event} ON daily_snapshots "
                        f"WHEN json_extract(NEW.dealer_metrics_json, '$.metadata.symbol') = '{symbol}' "
                        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                    )
                )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP TRIGGER refuse_symbol ON daily_snapshots"))
                conn.execute(text("DROP FUNCTION refuse_symbol()"))
            else:
                conn.execute(text("DROP TRIGGER refuse_symbol_insert"))
                conn.execute(text("DROP TRIGGER refuse_symbol_update"))


def failing_upserts(monkeypatch, fail) -> None:
    """Call `fail()` before every upsert of a ticker-day's documents, whichever way the writer sends it
    (SQLAlchemy, or the driver's pipeline on PostgreSQL); `fail` raises the fault to inject."""
    from app.repositories import snapshots

    for name in ("upsert_documents", "upsert_documents_in_savepoint"):
        real = getattr(snapshots, name)

        def failing(*args, _real=real, **kwargs):
            fail()
            return _real(*args, **kwargs)

        monkeypatch.setattr(snapshots, name, failing)
