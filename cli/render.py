"""Printing a show table (fitted to the terminal), JSON or CSV, and the demo's summary (stdout)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from app.reporting.show import COLUMNS, ShowTable

if TYPE_CHECKING:
    from app.batch.summary import BatchSummary
    from app.services.demo import DemoResult

HEADERS = {
    "symbol": "symbol", "dealer_status": "dealer", "position": "position", "gex_net": "net GEX $M",
    "vs_zero_gamma": "vs zero γ", "spot_vs_zero_gamma_pct": "to zero γ %", "call_resistance": "resist",
    "put_support": "support", "gex_net_change": "Δ GEX $M", "zero_gamma_change_pct": "Δ zero γ %",
    "changed": "changed",
    "gamma_flip": "flip", "zero_gamma": "zero γ", "call_wall": "OI call", "put_wall": "OI put",
    "call_gex_wall": "GEX call", "put_gex_wall": "GEX put", "dgpi": "DGPI", "average_iv": "avg IV",
    "iv_rank": "IV rank", "atm_iv_30d": "IV30", "iv30_rank": "IV30 rk", "iv_hv_ratio": "IV/HV",
    "vrp_30d": "VRP pts", "move_pct": "move ±%", "move_expiry": "move exp", "put_call_oi": "P/C OI",
    "term_structure": "term pts", "vol_status": "vol", "note": "note",
}  # fmt: skip
FORMATS = {
    # strikes and levels with the digits they have: 4,500 / 452.5 / 4,491.43
    "gamma_flip": "{:,g}", "zero_gamma": "{:,g}", "call_wall": "{:,g}", "put_wall": "{:,g}",
    "call_gex_wall": "{:,g}", "put_gex_wall": "{:,g}", "dgpi": "{:.2f}", "iv_rank": "{:.1f}",
    "iv30_rank": "{:.1f}", "iv_hv_ratio": "{:.2f}", "vrp_30d": "{:+.2f}", "move_pct": "±{:.2f}%",
    "put_call_oi": "{:.2f}", "term_structure": "{:+.2f}",
    "spot_vs_zero_gamma_pct": "{:+.2f}", "call_resistance": "{:,g}", "put_support": "{:,g}",
    "zero_gamma_change_pct": "{:+.2f}",
}  # fmt: skip
PERCENT = {"average_iv", "atm_iv_30d"}  # decimals in the documents (0.42), shown as 42.0%
SIGNS = {"kapman": "kapman sign: calls −, puts +", "industry": "industry sign: calls +, puts −"}
# What a narrow terminal keeps first: what traders read, then the seed's figures. A column the
# list does not name ranks just after the headline group.
HEADLINE = ("symbol", "position", "zero_gamma", "call_gex_wall", "put_gex_wall", "atm_iv_30d", "iv30_rank")
SECONDARY = ("dealer_status", "gex_net", "note", "gamma_flip", "dgpi", "iv_rank", "average_iv", "call_wall",
             "put_wall", "put_call_oi", "term_structure", "vol_status")  # fmt: skip
NOTE_MIN_WIDTH = 16


def table_cell(name: str, value: str | float | None) -> str:
    if value is None:
        return "—"
    if name in ("gex_net", "gex_net_change") and isinstance(value, (int, float)):
        return f"{value / 1e6:,.2f}"
    if name in PERCENT:
        return f"{value * 100:.1f}%"
    pattern = FORMATS.get(name)
    if pattern and isinstance(value, (int, float)):
        return pattern.format(value)
    return str(value)


def table_title(table: ShowTable) -> str:
    title = f"KapMan metrics — session {table.date.isoformat()}"
    if not table.is_session:
        title += " (not an NYSE session)"
    if table.sign_conventions:
        title += " — GEX " + "; ".join(SIGNS.get(c, c) for c in table.sign_conventions)
    return title


def _priority(name: str) -> float:
    if name in HEADLINE:
        return HEADLINE.index(name)
    if name in SECONDARY:
        return len(HEADLINE) + 1 + SECONDARY.index(name)
    return len(HEADLINE) + 0.5


def fit_columns(cells: dict[str, list[str]], width: int | None) -> list[str]:
    """The columns (in table order) that fit `width` characters, kept by priority; all when width is None."""
    if width is None:
        return list(cells)
    chosen: set[str] = set()
    used = 1  # the left border
    for name in sorted(cells, key=_priority):
        header = HEADERS.get(name, name)
        need = NOTE_MIN_WIDTH if name == "note" else max(len(header), *(len(c) for c in cells[name]))
        if used + need + 3 <= width:  # one space either side and a border
            chosen.add(name)
            used += need + 3
    return [name for name in cells if name in chosen]


def render_show_table(table: ShowTable, output: str, console: Console | None = None) -> None:
    rows = [row.model_dump() for row in table.rows]
    if output == "json":
        typer.echo(json.dumps({"date": table.date.isoformat(), "rows": rows}, indent=2))
        return
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["date", *COLUMNS], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({"date": table.date.isoformat(), **{k: "" if v is None else v for k, v in row.items()}})
        typer.echo(buffer.getvalue(), nl=False)
        return
    console = console or Console()
    cells = {name: [table_cell(name, row[name]) for row in rows] for name in COLUMNS}
    # Off a terminal there is no screen to fit: every column, as wide as it needs.
    shown = fit_columns(cells, console.width if console.is_terminal else None)
    if not console.is_terminal:
        console = Console(file=console.file, width=10_000)
    view = Table(title=table_title(table), header_style="bold")
    for name in shown:
        wraps = name in ("note", "changed")
        view.add_column(
            HEADERS.get(name, name),
            justify="left" if name in ("symbol", "position", "vs_zero_gamma", "changed", "note") else "right",
            no_wrap=not wraps,
            min_width=NOTE_MIN_WIDTH if wraps else None,
        )
    for index in range(len(rows)):
        view.add_row(*(cells[name][index] for name in shown))
    console.print(view)
    hidden = [HEADERS.get(name, name) for name in COLUMNS if name not in shown]
    if hidden:
        console.print(f"Not shown at this width: {', '.join(hidden)} (--format json|csv gives every column).")


def outcome_line(summary: BatchSummary) -> str:
    """'360 ticker-days: 300 complete, 48 with a data gap, 12 without options' (zero counts left out)."""
    parts = [
        f"{count} {label}"
        for count, label in (
            (summary.success, "complete"),
            (summary.partial, "with a data gap"),
            (summary.missing_options, "without options"),
            (summary.soft_failed, "failed"),
        )
        if count
    ]
    return f"{summary.processed} ticker-days: {', '.join(parts) or 'none'}"


def render_demo_summary(result: DemoResult) -> None:
    lines = []
    if result.sample is not None:
        sample = result.sample
        lines.append(
            f"Sample market: {sample.tickers} tickers × {len(sample.sessions)} sessions "
            f"({sample.sessions[0]} to {sample.sessions[-1]}), {sample.option_rows:,} option rows written "
            f"in {sample.seconds:.1f} s."
        )
    if result.daily is not None:
        daily = result.daily
        lines.append(f"Volatility documents, {outcome_line(daily.volatility)}.")
        lines.append(f"Dealer documents, {outcome_line(daily.dealer)} ({daily.total_seconds:.1f} s).")
        if daily.volatility.unknown_symbols:
            lines.append(f"On the watchlist without a tickers row: {', '.join(daily.volatility.unknown_symbols)}.")
    for line in lines:
        typer.echo(line)
