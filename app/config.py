"""Where the database is, and how to show anything about it without its password."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///kapman.db"
DATABASE_URL_ENV = "KAPMAN_DATABASE_URL"
MASK = "***"

# Masking is structural, never a search for the password's text: a password such as "info" must not
# turn every `"level": "info"` into ***. Passwords are found where they stand in a URL (its password
# field, or a query parameter that names one) and in libpq keyword strings (password=…, PGPASSWORD=…).
_SECRET_KEY = r"(?:pg|ssl)?password|passwd|pwd"
_SECRET_KEYS = re.compile(rf"(?i)^(?:{_SECRET_KEY})$")
# scheme://user:password@host — everything from the ':' after the user to the last '@' of the
# URL, so a password holding an unencoded '@' or ':' is masked whole.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^:/?#\s@\"']*:)(?P<secret>[^\s\"']*)(?=@)")
# key=value pairs of libpq keyword strings, URL query strings and environment-style assignments:
# password=secret, ?password=secret&…, PGPASSWORD='secret'.
_KEYWORD_PASSWORD = re.compile(
    rf"(?i)(?P<head>(?<![\w-])(?:{_SECRET_KEY})\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,;&)\"']+)"
)


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


def redact(text: str) -> str:
    """`text` with every database password masked: in URLs (the password field and query
    parameters naming a password) and in libpq keyword strings."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def mask_url(url: str) -> str:
    """The URL as it may be shown: its password and any query parameter naming a password replaced by ***."""
    try:
        parsed = make_url(url)
        shown = parsed.set(query={}).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown only as redacted text
        return redact(url)
    pairs = []
    for key, value in parsed.query.items():
        for item in value if isinstance(value, tuple) else (value,):
            pairs.append(f"{quote(key)}={MASK if _SECRET_KEYS.match(key) else quote(item, safe='/:')}")
    return shown + ("?" + "&".join(pairs) if pairs else "")
