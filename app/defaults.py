"""Defaults the CLI shows in its help, in a module light enough for `--help` to import (no numpy,
no SQLAlchemy). The library reads the same constants, so each default is written once."""

DEALER_HEARTBEAT = 25  # ticker-days between progress lines
VOLATILITY_HEARTBEAT = 50

# SPEC §7 bounded waits: PostgreSQL lock_timeout / statement_timeout, and SQLite's busy wait.
LOCK_TIMEOUT_SECONDS = 10.0
STATEMENT_TIMEOUT_SECONDS = 300.0
