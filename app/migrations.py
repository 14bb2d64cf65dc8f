"""Apply the Alembic migrations shipped with the package."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

import app
from alembic import command


def script_location() -> Path:
    """alembic/ of a checkout (editable install), or its copy inside an installed wheel."""
    package_dir = Path(app.__file__).resolve().parent
    for candidate in (package_dir / "_migrations", package_dir.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migration scripts not found next to the app package")


def _config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    cfg.attributes["connection"] = connection
    return cfg


BASELINE_REVISION = "0001_baseline"


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as applied without running it (tables that already exist)."""
    with engine.begin() as connection:
        command.stamp(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
