"""Where the database is, and how to show anything about it without its password."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///kapman.db"
DATABASE_URL_ENV = "KAPMAN_DATABASE_URL"
MASK = "***"

# scheme://user:password@host — everything from the ':' after the user to the last '@' of the
# URL, so a password holding an unencoded '@' or ':' is masked whole.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^:/?#\s@\"']*:)(?P<secret>[^\s\"']*)(?=@)")
# libpq keyword strings and environment-style assignments: password=secret, PGPASSWORD='secret'.
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\b(?:pg)?password\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,;&)]+)")
# Passwords shorter than this are masked only inside URLs and keyword strings: masking every
# occurrence of a one-letter password would garble every log line.
_MIN_LITERAL_SECRET = 4
_known_secrets: set[str] = set()


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


def sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # URI form: the path ends at the query string
        return Path(parsed.database[5:].split("?", 1)[0])
    return Path(parsed.database)


def register_secret(url: str | None) -> None:
    """Remember the password of a URL so that it is masked wherever it appears in output."""
    if not url:
        return
    try:
        password = make_url(url).password
    except Exception:  # an unparsable URL is masked by the URL pattern
        return
    if password and len(str(password)) >= _MIN_LITERAL_SECRET:
        _known_secrets.add(str(password))


def redact(text: str) -> str:
    """`text` with every database password masked: in URLs, in libpq keyword strings, and any
    password registered with `register_secret` wherever it stands."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_url(url: str) -> str:
    """The URL as it may be shown: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown only as redacted text
        return redact(url)
