"""Printing a show table as a rich table, JSON or CSV (the command's product goes to stdout)."""

from __future__ import annotations

import csv
import io
import json

import typer
from rich.console import Console
from rich.table import Table

from app.reporting.show import COLUMNS, ShowTable

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


def table_cell(name: str, value) -> str:
    if value is None:
        return "—"
    if name in ("gex_net", "gex_net_change"):
        return f"{value / 1e6:,.2f}"
    if name in PERCENT:
        return f"{value * 100:.1f}%"
    pattern = FORMATS.get(name)
    return pattern.format(value) if pattern else str(value)


def table_title(table: ShowTable) -> str:
    title = f"KapMan metrics — session {table.date.isoformat()}"
    if not table.is_session:
        title += " (not an NYSE session)"
    if table.sign_conventions:
        title += " — GEX " + "; ".join(SIGNS.get(c, c) for c in table.sign_conventions)
    return title


def render_show_table(table: ShowTable, output: str) -> None:
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
    console = Console(width=max(Console().width, 240))
    view = Table(title=table_title(table), header_style="bold")
    for name in COLUMNS:
        left = name in ("symbol", "position", "vs_zero_gamma", "changed", "note")
        view.add_column(
            HEADERS[name],
            justify="left" if left else "right",
            no_wrap=name not in ("note", "changed"),
            min_width=len(HEADERS[name]) if name not in ("note", "changed") else 12,
        )
    for row in rows:
        view.add_row(*(table_cell(name, row[name]) for name in COLUMNS))
    console.print(view)
