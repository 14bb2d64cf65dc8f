"""Commands that look at the results: show, report, history, dashboard and the demo.

Each command imports what it runs inside its body (SQLAlchemy, numpy, matplotlib, Jinja2), so help screens
and the other commands start quickly.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from app.sample.spec import DemoSpec
from cli.flags import LogFlags
from cli.options import command
from cli.runtime import guarded, interactive_summary, start

DateOpt = Annotated[str | None, typer.Option("--date", help="Trading date YYYY-MM-DD [default: latest OHLCV date].")]
TickersOpt = Annotated[str | None, typer.Option("--tickers", help="Comma-separated symbols narrowing the universe.")]
WatchlistOpt = Annotated[str | None, typer.Option("--watchlist", help="Only this watchlist_id.")]
SymbolArg = Annotated[str, typer.Argument(help="Ticker symbol.", show_default=False)]


class ShowFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ImageFormat(StrEnum):
    png = "png"
    svg = "svg"


def _show(
    date: DateOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    output: Annotated[
        ShowFormat, typer.Option("--format", help="table on a terminal; json or csv for scripts.")
    ] = ShowFormat.table,
    *,
    logs: LogFlags,
) -> None:
    """One row per watchlist ticker for a session: dealer and volatility headline figures."""
    from app.batch.dates import NoDataError
    from app.reporting.show import build_show_table
    from cli.parsing import parse_date, parse_symbols
    from cli.render import render_show_table

    runtime = start(logs)
    try:
        table = build_show_table(
            runtime.session_factory(), parse_date(date, "--date"), watchlist=watchlist, tickers=parse_symbols(tickers)
        )
    except NoDataError as error:
        _log().error("show_failed", reason=str(error))
        raise typer.Exit(1) from None
    render_show_table(table, output.value)


def _report(
    symbol: SymbolArg,
    date: DateOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the chart files.")] = Path("kapman-report"),
    image_format: Annotated[ImageFormat, typer.Option("--format", help="Image format.")] = ImageFormat.png,
    strike_range: Annotated[
        float | None,
        typer.Option(
            "--strike-range",
            min=0.01,
            max=10.0,
            help="GEX chart: strikes within this fraction of spot [default: the window holding 95% of |GEX|].",
            show_default=False,
        ),
    ] = None,
    *,
    logs: LogFlags,
) -> None:
    """Charts for one ticker and session: GEX by strike and gamma profile, IV smile and term structure, IV history."""
    from app.batch.dates import NoDataError
    from app.reporting.report import ReportError, build_report, write_report
    from cli.parsing import parse_date

    runtime = start(logs)
    try:
        built = build_report(runtime.session_factory(), symbol, parse_date(date, "--date"), strike_range=strike_range)
    except (ReportError, NoDataError) as error:
        _log().error("report_failed", symbol=symbol.upper(), reason=str(error))
        raise typer.Exit(1) from None
    files = write_report(built, out, image_format.value)
    if not files:
        _log().error(
            "report_failed", symbol=built.symbol, reason="no chart had data: " + "; ".join(built.skipped.values())
        )
        raise typer.Exit(1)
    for path in files:
        typer.echo(str(path))


def _history(
    symbol: SymbolArg,
    start_date: Annotated[str | None, typer.Option("--start-date", help="First session [default: a year back].")] = (
        None
    ),
    end_date: Annotated[str | None, typer.Option("--end-date", help="Last session [default: latest OHLCV date].")] = (
        None
    ),
    out: Annotated[Path, typer.Option("--out", help="Directory for the chart file.")] = Path("kapman-report"),
    image_format: Annotated[ImageFormat, typer.Option("--format", help="Image format.")] = ImageFormat.png,
    *,
    logs: LogFlags,
) -> None:
    """A ticker over its stored sessions: levels against spot, dealer gamma, IV30 against HV20, IV30 rank, and
    the expected move against the close that followed."""
    from app.batch.dates import NoDataError
    from app.reporting.history import HistoryError, build_history
    from app.reporting.history_chart import history_figure
    from cli.parsing import parse_date

    runtime = start(logs)
    start_day, end_day = parse_date(start_date, "--start-date"), parse_date(end_date, "--end-date")
    try:
        history = build_history(runtime.session_factory(), symbol, start_day, end_day)
    except (HistoryError, NoDataError) as error:
        _log().error("history_failed", symbol=symbol.upper(), reason=str(error))
        raise typer.Exit(1) from None
    out.mkdir(parents=True, exist_ok=True)
    first, last = history.sessions[0].isoformat(), history.sessions[-1].isoformat()
    path = out / f"{history.symbol}_{first}_{last}_history.{image_format.value}"
    history_figure(history).savefig(path, format=image_format.value)
    _log().info("history_written", symbol=history.symbol, sessions=len(history.sessions), file=str(path))
    typer.echo(str(path))


def _dashboard(
    out: Annotated[Path, typer.Option("--out", help="Directory for the site (index.html and one page per ticker).")],
    date: DateOpt = None,
    watchlist: WatchlistOpt = None,
    tickers: TickersOpt = None,
    *,
    logs: LogFlags,
) -> None:
    """A static site for a session, opened from the file system (no server, no network): the watchlist's table
    and a page per ticker with its charts."""
    from app.batch.dates import NoDataError
    from app.reporting.dashboard import build_dashboard
    from cli.parsing import parse_date, parse_symbols
    from cli.progress import progress_reporter

    runtime = start(logs)
    try:
        day, symbols = parse_date(date, "--date"), parse_symbols(tickers)
        with progress_reporter(runtime.log_format) as progress:
            site = build_dashboard(
                runtime.session_factory(), out, day, watchlist=watchlist, tickers=symbols, progress=progress
            )
    except NoDataError as error:
        _log().error("dashboard_failed", reason=str(error))
        raise typer.Exit(1) from None
    typer.echo(str(site.pages[0]))


def _demo(spec: DemoSpec, logs: LogFlags) -> None:
    """Migrate, write a sample market, run both jobs over it, show the last session, chart two tickers and
    write the dashboard."""
    from app.batch.interrupts import stop_on_signals
    from app.services.demo import run_demo
    from cli.progress import progress_reporter
    from cli.render import render_demo_summary, render_show_table

    runtime = start(logs)
    summary_only = interactive_summary(logs)  # on a terminal: a progress bar and a summary, not every event
    with stop_on_signals() as stop, progress_reporter(runtime.log_format) as progress:
        result = run_demo(runtime.session_factory(create_sqlite_file=True), spec, progress=progress, stop=stop)
    if summary_only:
        render_demo_summary(result)
    if result.table is not None:
        render_show_table(result.table, "table")
    if result.report_files:
        typer.echo(f"Charts for {', '.join(result.reported_symbols or [])}:")
        for path in result.report_files:
            typer.echo(f"  {path}")
    if result.dashboard is not None:
        typer.echo(f"Dashboard (open it in a browser, no server needed): {result.dashboard}")
    raise typer.Exit(result.exit_code)


def _log() -> Any:
    import structlog

    return structlog.get_logger()


def register(app: typer.Typer) -> None:
    command(app, "show", wrap=guarded)(_show)
    command(app, "report", wrap=guarded)(_report)
    command(app, "history", wrap=guarded)(_history)
    command(app, "dashboard", wrap=guarded)(_dashboard)
    command(app, "demo", wrap=guarded)(_demo)
