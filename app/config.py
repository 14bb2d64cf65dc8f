"""Where the database is, and how to show its URL without its password."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///kapman.db"
DATABASE_URL_ENV = "KAPMAN_DATABASE_URL"


def resolve_database_url(cli_value: str | None = None) -> str:
    """`--db-url`, else $KAPMAN_DATABASE_URL, else the embedded SQLite file."""
    if cli_value:
        return normalize_url(cli_value)
    env_value = os.environ.get(DATABASE_URL_ENV)
    if env_value:
        return normalize_url(env_value)
    return DEFAULT_DATABASE_URL


def normalize_url(url: str) -> str:
    """Route plain postgresql:// URLs to psycopg 3, the driver this project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def mask_url(url: str) -> str:
    """The URL as it may be shown: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without anything after a colon-at pair
        return "<unparsable database URL>"


def scrub_secret(text: str, url: str) -> str:
    """Remove the URL's password from a message (driver errors sometimes echo the DSN)."""
    try:
        password = make_url(url).password
    except Exception:
        return text
    if password:
        text = text.replace(str(password), "***")
    return text
