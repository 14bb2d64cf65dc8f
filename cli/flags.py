"""The flag groups several commands share, as models `cli.options` turns into options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.defaults import LOCK_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from app.batch.options import BatchOptions

_FLAGS = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class LogFlags(BaseModel):
    """Where the database is and what is logged (every command)."""

    model_config = _FLAGS

    db_url: str | None = Field(None, description="Database URL [env KAPMAN_DATABASE_URL; default sqlite:///kapman.db].")
    lock_timeout: float = Field(
        LOCK_TIMEOUT_SECONDS,
        gt=0,
        description="Seconds a statement may wait for a lock (PostgreSQL lock_timeout; SQLite busy wait); "
        "expiry is retried, then fails the batch.",
    )
    statement_timeout: float = Field(
        STATEMENT_TIMEOUT_SECONDS,
        gt=0,
        description="Seconds a PostgreSQL statement may run (statement_timeout).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING"] | None = Field(
        None,
        description="Minimum level logged (overrides --quiet/--verbose/--debug).",
        json_schema_extra={"case_sensitive": False},
    )
    log_format: Literal["auto", "console", "json"] = Field(
        "auto", description="auto: console lines on a terminal, JSON lines otherwise."
    )
    verbose: bool = Field(False, description="Also log one line per ticker.", json_schema_extra={"short": "-v"})
    debug: bool = Field(False, description="DEBUG level; implies --verbose.")
    quiet: bool = Field(
        False, description="Only warnings, errors and the batch start/end lines.", json_schema_extra={"short": "-q"}
    )

    @property
    def debug_level(self) -> bool:
        return self.debug or (self.log_level or "").upper() == "DEBUG"


class RunFlags(BaseModel):
    """Which ticker-days a metric command processes, and how (SPEC §3, §4, §7)."""

    model_config = _FLAGS

    date: str | None = Field(None, description="One trading date YYYY-MM-DD (overrides a range).")
    snapshot_time: str | None = Field(None, description="A date, or an ISO timestamp with offset used as the cut-off.")
    start_date: str | None = Field(None, description="First date of a range (needs --end-date).")
    end_date: str | None = Field(None, description="Last date of a range (needs --start-date).")
    watchlist: str | None = Field(None, description="Only this watchlist_id.")
    tickers: str | None = Field(None, description="Comma-separated symbols narrowing the universe.")
    fill_missing: bool = Field(False, description="Only ticker-days whose document is missing or an ERROR document.")
    dry_run: bool = Field(False, description="Compute and log; write nothing.")
    heartbeat: int | None = Field(None, description="Log progress every N ticker-days (and every 60 s).")
    shard: str | None = Field(None, description="i/n: process only shard i of n (by symbol hash), 1-based.")


class SpotFlag(BaseModel):
    """Dealer metrics only: one spot for every ticker (SPEC §5.1)."""

    model_config = _FLAGS

    spot_override: float | None = Field(
        None, gt=0, description="Use this spot for every ticker (recorded as spot source 'override')."
    )


def batch_options(run: RunFlags, logs: LogFlags, database: str, overrides: tuple[str, ...]) -> BatchOptions:
    """The service's batch options from the parsed flags; a contradiction is a usage error."""
    import typer

    from app.batch.dates import DateSelection, NotASession
    from app.batch.options import BatchOptions
    from cli.parsing import parse_date, parse_shard, parse_snapshot_time, parse_symbols

    snapshot_day, snapshot_moment = parse_snapshot_time(run.snapshot_time)
    day = snapshot_day or parse_date(run.date, "--date")
    start, end = parse_date(run.start_date, "--start-date"), parse_date(run.end_date, "--end-date")
    try:  # the values are validated once, by the library's own types; their messages name the flag
        return BatchOptions(
            dates=DateSelection(day=day, snapshot_time=snapshot_moment, start=start, end=end),
            watchlist=run.watchlist,
            tickers=parse_symbols(run.tickers),
            fill_missing=run.fill_missing,
            dry_run=run.dry_run,
            heartbeat=run.heartbeat,
            verbose=logs.verbose or logs.debug,
            debug=logs.debug_level,
            quiet=logs.quiet,
            shard=parse_shard(run.shard),
            overrides=overrides,
            database=database,
        )
    except NotASession as error:
        raise typer.BadParameter(str(error), param_hint="--snapshot-time" if snapshot_day else "--date") from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
