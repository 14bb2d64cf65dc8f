"""Apply the Alembic migrations shipped with the package, and adopt KapMan tables created outside Alembic.

Alembic is imported inside the functions: only `kapman db upgrade` (and the demo) pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import app
from app.config import redact
from app.repositories.faults import describe
from app.repositories.schema import existing_mapped_tables, schema_differences

if TYPE_CHECKING:
    from alembic.config import Config

BASELINE_REVISION = "0001_baseline"


def script_location() -> Path:
    """alembic/ of a checkout (editable install), or its copy inside an installed wheel."""
    package_dir = Path(app.__file__).resolve().parent
    for candidate in (package_dir / "_migrations", package_dir.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migration scripts not found next to the app package")


def _config(connection: Any) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as applied without running it (tables that already exist)."""
    from alembic import command

    with engine.begin() as connection:
        command.stamp(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


log = structlog.get_logger()


def upgrade_database(engine: Engine) -> int:
    """Apply migrations up to head; 0 on success, 1 with an ERROR event otherwise.

    A database whose KapMan tables exist without Alembic's bookkeeping (created by
    KapMan's own baseline SQL) is adopted when its tables and columns match: the
    baseline is stamped, not run. When they differ, nothing is changed and every
    difference is listed.
    """
    masked = engine.url.render_as_string(hide_password=True)
    try:
        before = current_revision(engine)
        if before is None:
            with engine.connect() as connection:
                found = existing_mapped_tables(connection)
                differences = schema_differences(connection) if found else []
            if differences:
                log.error(
                    "db_upgrade_failed",
                    database=masked,
                    reason="the database has KapMan tables that differ from the ones this project maps; "
                    "nothing was changed",
                    differences=differences,
                )
                return 1
            if found:
                stamp(engine, BASELINE_REVISION)
                log.info(
                    "db_adopted",
                    database=masked,
                    tables=found,
                    stamped=BASELINE_REVISION,
                    note="tables created outside Alembic match the baseline; stamped instead of created",
                )
        upgrade(engine)
        after = current_revision(engine)
    except SQLAlchemyError as error:
        log.error("db_upgrade_failed", database=masked, reason=redact(describe(error)))
        return 1
    log.info("db_upgraded", database=masked, from_revision=before, to_revision=after, changed=before != after)
    return 0
