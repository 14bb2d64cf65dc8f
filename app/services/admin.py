"""Database administration the CLI exposes: migrations and a connectivity check."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app import migrations
from app.config import scrub_secret

log = structlog.get_logger()


def upgrade_database(engine: Engine) -> int:
    """Apply migrations up to head; 0 on success, 1 with an ERROR event otherwise."""
    url = engine.url.render_as_string(hide_password=False)
    masked = engine.url.render_as_string(hide_password=True)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    except SQLAlchemyError as error:
        reason = scrub_secret(f"{type(error).__name__}: {str(error).splitlines()[0]}", url)
        log.error("db_upgrade_failed", database=masked, reason=reason)
        return 1
    log.info("db_upgraded", database=masked, from_revision=before, to_revision=after, changed=before != after)
    return 0
