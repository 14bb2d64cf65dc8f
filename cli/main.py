"""`kapman`: thin Typer commands over the services."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from pydantic import ValidationError

from app.config import mask_url, register_secret, resolve_database_url
from app.db import DatabaseNotFound, engine_of, make_engine, make_session_factory
from app.domain.models import DealerParams, VolatilityParams
from app.logging import configure_logging, resolve_level
from app.services.admin import upgrade_database
from app.services.batch import BatchOptions
from app.services.daily import run_daily
from app.services.dates import DateSelection, NoDataError
from app.services.dealer_metrics import run_dealer_metrics
from app.services.demo import run_demo
from app.services.importer import run_import
from app.services.interrupts import stop_on_signals
from app.services.report import ReportError, build_report, write_report
from app.services.retry import explain_error
from app.services.sample_data import DEFAULT_END_DATE, DEFAULT_WATCHLIST, run_sample_data
from app.services.show import build_show_table
from app.services.volatility_metrics import run_volatility_metrics
from cli.parsing import parse_date, parse_shard, parse_snapshot_time, parse_symbols
from cli.progress import progress_reporter
from cli.render import render_show_table

log = structlog.get_logger()

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

# ------------------------------------------------------------------ shared options


class LevelChoice(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"


class FormatChoice(StrEnum):
    auto = "auto"
    console = "console"
    json = "json"


class ConventionChoice(StrEnum):
    kapman = "kapman"
    industry = "industry"


DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        help="Database URL [env KAPMAN_DATABASE_URL; default sqlite:///kapman.db].",
        show_default=False,
    ),
]
LogLevel = Annotated[
    LevelChoice | None,
    typer.Option(
        "--log-level",
        case_sensitive=False,
        help="Minimum level logged (overrides --quiet/--verbose/--debug).",
    ),
]
LogFormat = Annotated[
    FormatChoice,
    typer.Option("--log-format", help="auto: console lines on a terminal, JSON lines otherwise."),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also log one line per ticker.")]
Debug = Annotated[bool, typer.Option("--debug", help="DEBUG level; implies --verbose.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings, errors and the batch start/end lines.")]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="One trading date YYYY-MM-DD (overrides a range).", show_default=False),
]
SnapshotOpt = Annotated[
    str | None,
    typer.Option(
        "--snapshot-time",
        help="A date, or an ISO timestamp with offset used as the cut-off as is.",
        show_default=False,
    ),
]
StartOpt = Annotated[
    str | None,
    typer.Option("--start-date", help="First date of a range (needs --end-date).", show_default=False),
]
EndOpt = Annotated[
    str | None,
    typer.Option("--end-date", help="Last date of a range (needs --start-date).", show_default=False),
]
WatchlistOpt = Annotated[str | None, typer.Option("--watchlist", help="Only this watchlist_id.", show_default=False)]
TickersOpt = Annotated[
    str | None,
    typer.Option("--tickers", help="Comma-separated symbols narrowing the universe.", show_default=False),
]
FillMissingOpt = Annotated[bool, typer.Option("--fill-missing", help="Only ticker-days whose document is missing.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Compute and log; write nothing.")]
ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", help="i/n: process only shard i of n (by symbol hash), 1-based.", show_default=False),
]
MaxDte = Annotated[int, typer.Option("--max-dte-days", min=0, help="Drop contracts expiring later than this.")]
MinOi = Annotated[int, typer.Option("--min-open-interest", min=0, help="Minimum open interest.")]
MinVolume = Annotated[int, typer.Option("--min-volume", min=0, help="Minimum volume (null counts as 0).")]
MaxSpread = Annotated[float, typer.Option("--max-spread-pct", min=0, help="Maximum (ask-bid)/mid in percent.")]
WallsTopN = Annotated[int, typer.Option("--walls-top-n", min=1, help="Walls kept per option type.")]
SlopeRange = Annotated[
    float,
    typer.Option(
        "--gex-slope-range-pct",
        min=0,
        max=1,
        help="Half-width of the slope window as a fraction of spot (0.02 = 2%).",
    ),
]
MaxMoneyness = Annotated[float, typer.Option("--max-moneyness", min=0, help="Walls only within |K-S|/S of this.")]
NeutralGex = Annotated[float, typer.Option("--neutral-gex-threshold", min=0, help="|net GEX| below this is neutral.")]
SpotOverride = Annotated[
    float | None,
    typer.Option(
        "--spot-override",
        parser=lambda text: _positive_float(text, "--spot-override"),
        help="Use this spot for every ticker (recorded as spot source 'override').",
        show_default=False,
    ),
]
SignConvention = Annotated[
    ConventionChoice,
    typer.Option("--sign-convention", help="kapman: calls -1, puts +1; industry: calls +1, puts -1."),
]
StaleAfter = Annotated[
    int,
    typer.Option("--stale-after-days", min=0, help="Options snapshots older than this get the stale diagnostic."),
]
Lookback = Annotated[int, typer.Option("--lookback", min=1, help="Rows of IV history used for rank and percentile.")]
MinHistory = Annotated[int, typer.Option("--min-history", min=1, help="History points needed before IV rank is given.")]

DEALER_FLAGS = {
    "max_dte_days": "--max-dte-days",
    "min_open_interest": "--min-open-interest",
    "min_volume": "--min-volume",
    "max_spread_pct": "--max-spread-pct",
    "walls_top_n": "--walls-top-n",
    "gex_slope_range_pct": "--gex-slope-range-pct",
    "max_moneyness": "--max-moneyness",
    "neutral_gex_threshold": "--neutral-gex-threshold",
    "sign_convention": "--sign-convention",
    "stale_after_days": "--stale-after-days",
    "spot_override": "--spot-override",
}
VOL_FLAGS = {
    "lookback": "--lookback",
    "min_history": "--min-history",
    "stale_after_days": "--stale-after-days",
}


@dataclass(frozen=True, slots=True)
class Runtime:
    url: str
    masked_url: str
    log_format: str


def _start(
    db_url: str | None, log_level: str | None, verbose: bool, debug: bool, quiet: bool, log_format: str
) -> Runtime:
    """Configure logging once for this invocation and resolve the database URL."""
    log_format = str(log_format.value if isinstance(log_format, StrEnum) else log_format)
    level_name = log_level.value if isinstance(log_level, StrEnum) else log_level
    configure_logging(
        level=resolve_level(level_name, verbose, debug, quiet),
        quiet=quiet and not level_name,
        log_format=log_format,
    )
    try:
        url = resolve_database_url(db_url)
    except Exception:
        raise typer.BadParameter("not a database URL", param_hint="--db-url") from None
    register_secret(url)
    return Runtime(url=url, masked_url=mask_url(url), log_format=log_format)


def _session_factory(runtime: Runtime, *, create_sqlite_file: bool = False):
    try:
        return make_session_factory(make_engine(runtime.url, create_sqlite_file=create_sqlite_file))
    except DatabaseNotFound:
        raise
    except Exception as error:  # unknown driver, malformed URL
        raise typer.BadParameter(
            f"cannot use database URL {runtime.masked_url}: {type(error).__name__}", param_hint="--db-url"
        ) from None


def guarded(command):
    """Unexpected errors end as one ERROR line and exit 1, never a bare traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except DatabaseNotFound as error:
            log.error("database_missing", reason=str(error))
            raise typer.Exit(1) from None
        except Exception as error:
            log.error("command_failed", error=explain_error(error))
            log.debug("command_traceback", exc_info=True)
            raise typer.Exit(1) from None

    return wrapper


def _positive_float(text: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number", param_hint=flag) from None
    if not value > 0 or value == float("inf"):
        raise typer.BadParameter(f"{text!r} must be a positive finite number", param_hint=flag)
    return value


def _overrides(ctx: typer.Context, names: dict[str, str]) -> tuple[str, ...]:
    given = []
    for name, flag in names.items():
        source = ctx.get_parameter_source(name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            given.append(flag.lstrip("-").replace("-", "_"))
    return tuple(given)


def _batch_options(ctx: typer.Context, runtime: Runtime, args: dict[str, Any], flags: dict[str, str]) -> BatchOptions:
    """The run flags shared by the metric commands, from the command's arguments."""
    snapshot_day, snapshot_moment = parse_snapshot_time(args["snapshot_time"])
    day = snapshot_day or parse_date(args["date"], "--date")
    start, end = parse_date(args["start_date"], "--start-date"), parse_date(args["end_date"], "--end-date")
    try:
        selection = DateSelection(day=day, snapshot_time=snapshot_moment, start=start, end=end)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--start-date/--end-date") from None
    return BatchOptions(
        dates=selection,
        watchlist=args["watchlist"],
        tickers=parse_symbols(args["tickers"]),
        fill_missing=args["fill_missing"],
        dry_run=args["dry_run"],
        heartbeat=args["heartbeat"],
        verbose=args["verbose"] or args["debug"],
        quiet=args["quiet"],
        debug=args["debug"] or str(getattr(args["log_level"], "value", args["log_level"])).upper() == "DEBUG",
        shard=parse_shard(args["shard"]),
        overrides=_overrides(ctx, flags),
        database=runtime.masked_url,
    )


def _params(model, args: dict[str, Any], flags: dict[str, str]):
    """The model's fields taken from the command's arguments; a rejected value is a usage error."""
    values = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in args.items() if k in model.model_fields}
    try:
        return model(**values)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise typer.BadParameter(first["msg"], param_hint=flags.get(field, field)) from None


# ------------------------------------------------------------------ db / import / sample data


@db_app.command("upgrade")
@guarded
def db_upgrade(
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Apply the migrations to the database (safe to run again)."""
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    engine = engine_of(_session_factory(runtime, create_sqlite_file=True))
    raise typer.Exit(upgrade_database(engine))


def _import(kind: str, file: Path, strict: bool, db_url, log_level, log_format, verbose, debug, quiet) -> None:
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    summary = run_import(_session_factory(runtime), kind, file, strict=strict)
    raise typer.Exit(summary.exit_code)


FileArg = Annotated[Path, typer.Argument(help="CSV file with a header row.", show_default=False)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Any rejected row fails the import; nothing is written.")]


@import_app.command("tickers")
@guarded
def import_tickers(
    file: FileArg,
    strict: StrictOpt = False,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Columns: symbol, name, sector, is_active."""
    _import("tickers", file, strict, db_url, log_level, log_format, verbose, debug, quiet)


@import_app.command("watchlist")
@guarded
def import_watchlist(
    file: FileArg,
    strict: StrictOpt = False,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Columns: watchlist_id, symbol, active, source, effective_date."""
    _import("watchlist", file, strict, db_url, log_level, log_format, verbose, debug, quiet)


@import_app.command("ohlcv")
@guarded
def import_ohlcv(
    file: FileArg,
    strict: StrictOpt = False,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Columns: symbol, date, open, high, low, close, volume."""
    _import("ohlcv", file, strict, db_url, log_level, log_format, verbose, debug, quiet)


@import_app.command("options-chains")
@guarded
def import_options(
    file: FileArg,
    strict: StrictOpt = False,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Columns: time (with offset), symbol, expiration_date, strike_price, option_type (C/P), bid, ask, last,
    volume, open_interest, implied_volatility, delta, gamma, theta, vega."""
    _import("options-chains", file, strict, db_url, log_level, log_format, verbose, debug, quiet)


@app.command("sample-data")
@guarded
def sample_data(
    tickers: Annotated[
        int, typer.Option("--tickers", min=1, max=2000, help="Tickers (3 of them edge cases when >= 5).")
    ] = 20,
    days: Annotated[int, typer.Option("--days", min=1, max=2000, help="Sessions, ending at --end-date.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same rows.")] = 7,
    end_date: Annotated[
        str, typer.Option("--end-date", help="Last session of the sample market.")
    ] = DEFAULT_END_DATE.isoformat(),
    watchlist: Annotated[str, typer.Option("--watchlist", help="watchlist_id to fill.")] = DEFAULT_WATCHLIST,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Write a deterministic synthetic market (tickers, watchlist, OHLCV, option chains) into the database."""
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    run_sample_data(
        _session_factory(runtime),
        tickers=tickers,
        days=days,
        seed=seed,
        end_date=parse_date(end_date, "--end-date"),
        watchlist=watchlist,
    )


# ------------------------------------------------------------------ metric jobs


@app.command("dealer-metrics")
@guarded
def dealer_metrics(
    ctx: typer.Context,
    db_url: DbUrl = None,
    date: DateOpt = None,
    snapshot_time: SnapshotOpt = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    fill_missing: FillMissingOpt = False,
    dry_run: DryRunOpt = False,
    heartbeat: Annotated[int, typer.Option("--heartbeat", min=1, help="Log progress every N tickers.")] = 25,
    shard: ShardOpt = None,
    max_dte_days: MaxDte = 90,
    min_open_interest: MinOi = 100,
    min_volume: MinVolume = 1,
    max_spread_pct: MaxSpread = 10.0,
    walls_top_n: WallsTopN = 3,
    gex_slope_range_pct: SlopeRange = 0.02,
    max_moneyness: MaxMoneyness = 0.20,
    neutral_gex_threshold: NeutralGex = 1_000_000.0,
    spot_override: SpotOverride = None,
    sign_convention: SignConvention = ConventionChoice.kapman,
    stale_after_days: StaleAfter = 3,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
) -> None:
    """Compute dealer metrics (GEX, flip, walls, DGPI) into daily_snapshots.dealer_metrics_json."""
    args = locals().copy()
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    params = _params(DealerParams, args, DEALER_FLAGS)
    options = _batch_options(ctx, runtime, args, DEALER_FLAGS)
    session_factory = _session_factory(runtime)
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_dealer_metrics(
            session_factory, options, params, spot_override=spot_override, progress=progress, stop=stop
        )
    raise typer.Exit(summary.exit_code)


@app.command("vol-metrics")
@guarded
def vol_metrics(
    ctx: typer.Context,
    db_url: DbUrl = None,
    date: DateOpt = None,
    snapshot_time: SnapshotOpt = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    fill_missing: FillMissingOpt = False,
    dry_run: DryRunOpt = False,
    heartbeat: Annotated[int, typer.Option("--heartbeat", min=1, help="Log progress every N tickers.")] = 50,
    shard: ShardOpt = None,
    lookback: Lookback = 252,
    min_history: MinHistory = 20,
    stale_after_days: StaleAfter = 3,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
) -> None:
    """Compute volatility metrics (IV, rank, skew, term structure) into daily_snapshots.volatility_metrics_json."""
    args = locals().copy()
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    params = _params(VolatilityParams, args, VOL_FLAGS)
    options = _batch_options(ctx, runtime, args, VOL_FLAGS)
    session_factory = _session_factory(runtime)
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_volatility_metrics(session_factory, options, params, progress=progress, stop=stop)
    raise typer.Exit(summary.exit_code)


@app.command("run-daily")
@guarded
def run_daily_command(
    ctx: typer.Context,
    db_url: DbUrl = None,
    date: DateOpt = None,
    snapshot_time: SnapshotOpt = None,
    start_date: StartOpt = None,
    end_date: EndOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    fill_missing: FillMissingOpt = False,
    dry_run: DryRunOpt = False,
    heartbeat: Annotated[int, typer.Option("--heartbeat", min=1, help="Log progress every N tickers.")] = 50,
    shard: ShardOpt = None,
    lookback: Lookback = 252,
    min_history: MinHistory = 20,
    max_dte_days: MaxDte = 90,
    min_open_interest: MinOi = 100,
    min_volume: MinVolume = 1,
    max_spread_pct: MaxSpread = 10.0,
    walls_top_n: WallsTopN = 3,
    gex_slope_range_pct: SlopeRange = 0.02,
    max_moneyness: MaxMoneyness = 0.20,
    neutral_gex_threshold: NeutralGex = 1_000_000.0,
    spot_override: SpotOverride = None,
    sign_convention: SignConvention = ConventionChoice.kapman,
    stale_after_days: StaleAfter = 3,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
) -> None:
    """The daily pipeline entry: volatility metrics, then dealer metrics, for the same dates and universe."""
    args = locals().copy()
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    dealer_params = _params(DealerParams, args, DEALER_FLAGS)
    vol_params = _params(VolatilityParams, args, VOL_FLAGS)
    options = _batch_options(ctx, runtime, args, {**DEALER_FLAGS, **VOL_FLAGS})
    session_factory = _session_factory(runtime)
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        summary = run_daily(
            session_factory,
            options,
            dealer_params=dealer_params,
            volatility_params=vol_params,
            spot_override=spot_override,
            progress=progress,
            stop=stop,
        )
    raise typer.Exit(summary.exit_code)


class ShowFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ImageFormat(StrEnum):
    png = "png"
    svg = "svg"


@app.command("show")
@guarded
def show(
    date: DateOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    output: Annotated[ShowFormat, typer.Option("--format", help="table on a terminal; json or csv for scripts.")] = (
        ShowFormat.table
    ),
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """One row per watchlist ticker for a session: dealer and volatility headline figures."""
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    try:
        table = build_show_table(
            _session_factory(runtime), parse_date(date, "--date"), watchlist=watchlist, tickers=parse_symbols(tickers)
        )
    except NoDataError as error:
        log.error("show_failed", reason=str(error))
        raise typer.Exit(1) from None
    render_show_table(table, output.value)


@app.command("report")
@guarded
def report(
    symbol: Annotated[str, typer.Argument(help="Ticker symbol.", show_default=False)],
    date: DateOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the chart files.")] = Path("kapman-report"),
    image_format: Annotated[ImageFormat, typer.Option("--format", help="Image format.")] = ImageFormat.png,
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Charts for one ticker and session: GEX profile, IV smile and term structure, IV history."""
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    try:
        built = build_report(_session_factory(runtime), symbol, parse_date(date, "--date"))
    except (ReportError, NoDataError) as error:
        log.error("report_failed", symbol=symbol.upper(), reason=str(error))
        raise typer.Exit(1) from None
    files = write_report(built, out, image_format.value)
    if not files:
        log.error(
            "report_failed", symbol=built.symbol, reason="no chart had data: " + "; ".join(built.skipped.values())
        )
        raise typer.Exit(1)
    for path in files:
        typer.echo(str(path))


@app.command("demo")
@guarded
def demo(
    tickers: Annotated[int, typer.Option("--tickers", min=5, max=500, help="Sample tickers (3 are edge cases).")] = 12,
    days: Annotated[int, typer.Option("--days", min=2, max=500, help="Sample sessions (IV rank needs 21+).")] = 30,
    out: Annotated[Path, typer.Option("--out", help="Directory for the chart files.")] = Path("kapman-report"),
    db_url: DbUrl = None,
    log_level: LogLevel = None,
    log_format: LogFormat = FormatChoice.auto,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Migrate, write a sample market, run both jobs over it, show the last session and chart two tickers."""
    runtime = _start(db_url, log_level, verbose, debug, quiet, log_format)
    with progress_reporter(runtime.log_format) as progress:
        result = run_demo(
            _session_factory(runtime, create_sqlite_file=True),
            tickers=tickers,
            days=days,
            out_dir=out,
            progress=progress,
        )
    if result.table is not None:
        render_show_table(result.table, "table")
    if result.report_files:
        typer.echo(f"Charts for {', '.join(result.reported_symbols)}:")
        for path in result.report_files:
            typer.echo(f"  {path}")
    raise typer.Exit(result.exit_code)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
