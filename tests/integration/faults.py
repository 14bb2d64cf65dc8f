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
