"""Database administration the CLI exposes: migrations, and adopting tables created outside Alembic."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.config import redact
from app.repositories.faults import describe
from app.repositories.schema import existing_mapped_tables, schema_differences

log = structlog.get_logger()


def upgrade_database(engine: Engine) -> int:
    """Apply migrations up to head; 0 on success, 1 with an ERROR event otherwise.

    A database whose KapMan tables exist without Alembic's bookkeeping (created by
    KapMan's own baseline SQL) is adopted when its tables and columns match: the
    baseline is stamped, not run. When they differ, nothing is changed and every
    difference is listed.
    """
    from app import migrations  # Alembic is only needed here; other commands start without it

    masked = engine.url.render_as_string(hide_password=True)
    try:
        before = migrations.current_revision(engine)
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
                migrations.stamp(engine, migrations.BASELINE_REVISION)
                log.info(
                    "db_adopted",
                    database=masked,
                    tables=found,
                    stamped=migrations.BASELINE_REVISION,
                    note="tables created outside Alembic match the baseline; stamped instead of created",
                )
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    except SQLAlchemyError as error:
        log.error("db_upgrade_failed", database=masked, reason=redact(describe(error)))
        return 1
    log.info("db_upgraded", database=masked, from_revision=before, to_revision=after, changed=before != after)
    return 0
