"""`kapman`: thin Typer commands over the services.

Options come from the Pydantic models the services take (see cli/options.py):
a threshold, its default, its help and its validation live on the model field.
Heavy libraries (matplotlib for charts, scipy for the sample market, pandas for
the NYSE calendar) are imported only where they are used, so every command
starts quickly.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

# Only what help screens need: Typer, Pydantic and the parameter models. Each command imports
# what it runs (SQLAlchemy, numpy, psycopg, matplotlib) inside its body.
from app.defaults import DEALER_HEARTBEAT, VOLATILITY_HEARTBEAT
from app.domain.models import DealerParams, VolatilityParams
from app.sample.spec import SampleMarket
from cli import views
from cli.flags import LogFlags, RunFlags, SpotFlag, batch_options
from cli.options import command, given_on_command_line
from cli.runtime import guarded, start

app = typer.Typer(
    name="kapman",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain "Error: …" lines for usage errors, no boxes
    help="Dealer and volatility metrics for the KapMan pipeline.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic).")
import_app = typer.Typer(
    no_args_is_help=True, help="Load KapMan CSV files (columns of the tables, `symbol` for ticker_id)."
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")

FileArg = Annotated[Path, typer.Argument(help="CSV file with a header row.", show_default=False)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Any rejected row fails the import; nothing is written.")]


# ------------------------------------------------------------------ schema, data


@command(db_app, "upgrade", wrap=guarded)
def db_upgrade(logs: LogFlags) -> None:
    """Apply the migrations to the database (safe to run again); adopt matching KapMan tables."""
    from app.db import engine_of
    from app.migrations import upgrade_database

    runtime = start(logs)
    raise typer.Exit(upgrade_database(engine_of(runtime.session_factory(create_sqlite_file=True))))


def _register_import(kind: str, help_text: str) -> None:
    @command(import_app, kind, wrap=guarded)
    def import_file(file: FileArg, strict: StrictOpt = False, *, logs: LogFlags) -> None:
        from app.batch.interrupts import stop_on_signals
        from app.importers.csv_import import run_import

        runtime = start(logs)
        with stop_on_signals() as stop:
            summary = run_import(runtime.session_factory(), kind, file, strict=strict, stop=stop)
        raise typer.Exit(summary.exit_code)

    import_file.__doc__ = help_text


for _kind, _help in (
    ("tickers", "Columns: symbol, name, sector, is_active."),
    ("watchlist", "Columns: watchlist_id, symbol, active, source, effective_date."),
    ("ohlcv", "Columns: symbol, date, open, high, low, close, volume."),
):
    _register_import(_kind, _help)


@command(import_app, "options-chains", wrap=guarded)
def import_options_chains(
    file: FileArg,
    strict: StrictOpt = False,
    merge_duplicates: Annotated[
        bool,
        typer.Option(
            "--merge-duplicates",
            help="Merge rows of the file that share a key (OI and volume summed, greeks OI-weighted) "
            "instead of rejecting them as conflicting duplicates.",
        ),
    ] = False,
    *,
    logs: LogFlags,
) -> None:
    """Columns: time (with offset), symbol, expiration_date, strike_price, option_type (C/P), bid, ask, last,
    volume, open_interest, implied_volatility, delta, gamma, theta, vega."""
    from app.batch.interrupts import stop_on_signals
    from app.importers.csv_import import run_import

    runtime = start(logs)
    with stop_on_signals() as stop:
        summary = run_import(
            runtime.session_factory(),
            "options-chains",
            file,
            strict=strict,
            merge_duplicates=merge_duplicates,
            stop=stop,
        )
    raise typer.Exit(summary.exit_code)


@command(import_app, "cboe", wrap=guarded)
def import_cboe(
    files: Annotated[list[Path], typer.Argument(help="Cboe quotedata.csv downloads (.csv or .csv.gz).")],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="The underlying [default: from the option symbols' roots].")
    ] = None,
    watchlist: Annotated[
        str | None, typer.Option("--watchlist", help="Also put the underlying on this watchlist (active).")
    ] = None,
    *,
    logs: LogFlags,
) -> None:
    """Cboe delayed-quotes option-chain downloads: ticker, the session's bar and the options snapshot."""
    from app.batch.interrupts import stop_on_signals
    from app.importers.cboe_import import run_cboe_import

    runtime = start(logs)
    with stop_on_signals() as stop:
        summaries = run_cboe_import(runtime.session_factory(), files, symbol, watchlist, stop)
    # the worst exit code; an interrupt's (130/143) outranks a failed file's 1
    raise typer.Exit(stop.exit_code if stop.requested else max(s.exit_code for s in summaries))


@command(app, "sample-data", wrap=guarded)
def sample_data(market: SampleMarket, logs: LogFlags) -> None:
    """Write a deterministic synthetic market (tickers, watchlist, OHLCV, option chains) into the database."""
    from app.sample.market import run_sample_data
    from cli.progress import progress_reporter

    runtime = start(logs)
    with progress_reporter(runtime.log_format) as progress:
        run_sample_data(runtime.session_factory(), market, progress=progress)


# ------------------------------------------------------------------ metric jobs


@command(app, "dealer-metrics", defaults={"heartbeat": DEALER_HEARTBEAT}, wrap=guarded)
def dealer_metrics(ctx: typer.Context, params: DealerParams, spot: SpotFlag, run: RunFlags, logs: LogFlags) -> None:
    """Compute dealer metrics (GEX, flip, walls, DGPI) into daily_snapshots.dealer_metrics_json."""
    from app.batch.interrupts import stop_on_signals
    from app.services.dealer_metrics import run_dealer_metrics
    from cli.progress import progress_reporter

    runtime = start(logs)
    options = batch_options(run, logs, runtime.masked_url, given_on_command_line(ctx, [DealerParams, SpotFlag]))
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_dealer_metrics(
            runtime.session_factory(), options, params, spot_override=spot.spot_override, progress=progress, stop=stop
        )
    raise typer.Exit(summary.exit_code)


@command(app, "vol-metrics", defaults={"heartbeat": VOLATILITY_HEARTBEAT}, wrap=guarded)
def vol_metrics(ctx: typer.Context, params: VolatilityParams, run: RunFlags, logs: LogFlags) -> None:
    """Compute volatility metrics (IV, rank, skew, term structure) into daily_snapshots.volatility_metrics_json."""
    from app.batch.interrupts import stop_on_signals
    from app.services.volatility_metrics import run_volatility_metrics
    from cli.progress import progress_reporter

    runtime = start(logs)
    options = batch_options(run, logs, runtime.masked_url, given_on_command_line(ctx, [VolatilityParams]))
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_volatility_metrics(runtime.session_factory(), options, params, progress=progress, stop=stop)
    raise typer.Exit(summary.exit_code)


@command(app, "run-daily", defaults={"heartbeat": VOLATILITY_HEARTBEAT}, wrap=guarded)
def run_daily_command(
    ctx: typer.Context,
    volatility: VolatilityParams,
    dealer: DealerParams,
    spot: SpotFlag,
    run: RunFlags,
    logs: LogFlags,
) -> None:
    """The daily pipeline entry: volatility then dealer metrics of each ticker-day, from one read."""
    from app.batch.interrupts import stop_on_signals
    from app.services.daily import run_daily
    from cli.progress import progress_reporter

    runtime = start(logs)
    overrides = given_on_command_line(ctx, [VolatilityParams, DealerParams, SpotFlag])
    options = batch_options(run, logs, runtime.masked_url, overrides)
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_daily(
            runtime.session_factory(),
            options,
            dealer_params=dealer,
            volatility_params=volatility,
            spot_override=spot.spot_override,
            progress=progress,
            stop=stop,
        )
    raise typer.Exit(summary.exit_code)


# ------------------------------------------------------------------ looking at results

views.register(app)


def main() -> None:
    try:
        app()
    finally:
        # The process is ending: its objects need no garbage-collection passes on the way out. After a
        # batch, the interpreter's final collections took ~0.2 s of a 1.8 s evening.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
