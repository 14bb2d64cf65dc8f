"""`kapman import …`: load KapMan CSV files (SPEC §8, §8.1), streaming, idempotent, every row accounted for.

Columns are those of SPEC §2 with `symbol` instead of `ticker_id`. A malformed
row, or one with a value its column cannot hold, is rejected with its line
number and reason while the rest loads; a damaged file (cut short, not UTF-8)
loads nothing. The file is one transaction, so a reader never sees half of it;
`strict` turns any reject into a failure with nothing written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.interrupts import StopRequest
from app.importers import csv_fields
from app.importers.file_load import check_stop, load_file
from app.importers.load_summary import LoadSummary
from app.importers.option_merge import merge_contracts
from app.importers.source import DamagedFile, FileRejected, LineSource
from app.repositories.bulk import bulk_insert_ignore
from app.repositories.options import differences, insert_ohlcv_rows, insert_option_rows, option_key
from app.repositories.tickers import ensure_tickers, ticker_uuid

log = structlog.get_logger()

CHUNK_ROWS = 5000
LINE = "_line"  # the source line of a parsed row, for reject messages
RowError = csv_fields.RowError


@dataclass(frozen=True, slots=True)
class ImportKind:
    table: str
    required_columns: tuple[str, ...]
    parse: Callable[[dict[str, str]], dict[str, Any]]
    needs_ticker_id: bool


KINDS: dict[str, ImportKind] = {
    "tickers": ImportKind("tickers", ("symbol",), csv_fields.parse_ticker, False),
    "watchlist": ImportKind("watchlists", ("watchlist_id", "symbol"), csv_fields.parse_watchlist, False),
    "ohlcv": ImportKind("ohlcv", ("symbol", "date", "close"), csv_fields.parse_ohlcv, True),
    "options-chains": ImportKind(
        "options_chains",
        ("time", "symbol", "expiration_date", "strike_price", "option_type"),
        csv_fields.parse_option,
        True,
    ),
}


@dataclass(kw_only=True)
class ImportSummary(LoadSummary):
    kind: str


class ImportFileError(FileRejected):
    """The file as a whole cannot be imported (missing, unreadable, wrong header)."""


def _header(rows: Iterator[list[str]], path: Path, kind: ImportKind) -> list[str]:
    header = [h.strip() for h in next(rows, [])]
    missing = [c for c in kind.required_columns if c not in header]
    if missing:
        raise ImportFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    return header


def _parse_row(
    cells: list[str], header: list[str], kind: ImportKind, line: int, summary: ImportSummary
) -> dict[str, Any] | None:
    """The validated row, or None once its reject is recorded on the summary."""
    try:
        if len(cells) > len(header):
            raise RowError("more fields than the header", "more_fields")
        return {**kind.parse(dict(zip(header, cells, strict=True))), LINE: line}
    except RowError as error:
        summary.reject(line, str(error), error.code)
        return None


def _read_chunks(path: Path, kind: ImportKind, summary: ImportSummary) -> Iterator[list[dict[str, Any]]]:
    """Validated rows in chunks; rejects are recorded on the summary as they are met. A short row
    is rejected, unless it is the file's last: then the file ended early and is damaged."""
    source = LineSource(path)
    reader = csv.reader(iter(source))
    header = _header(reader, path, kind)
    chunk: list[dict[str, Any]] = []
    short_line: int | None = None  # a short row is judged once we know whether another follows
    try:
        for cells in reader:
            if not cells:
                continue  # a blank line is no row
            if short_line is not None:
                summary.reject(short_line, "fewer fields than the header", "fewer_fields")
                short_line = None
            summary.rows_read += 1
            line = reader.line_num
            if len(cells) < len(header):
                short_line = line
                continue
            row = _parse_row(cells, header, kind, line, summary)
            if row is not None:
                chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
    except csv.Error as error:
        raise DamagedFile(f"{path}: line {reader.line_num}: {error}; nothing of this file was loaded") from None
    if short_line is not None:
        raise DamagedFile(
            f"{path}: the last line ({short_line}) has fewer fields than the header: the file ends early; "
            "nothing of this file was loaded"
        )
    if chunk:
        yield chunk


def _merge_duplicate_keys(rows: list[dict[str, Any]], summary: ImportSummary) -> list[dict[str, Any]]:
    """--merge-duplicates: rows of the chunk sharing a key become one by the §8.1 rule (quotes of the
    row read last); rows repeated with identical values are left for the loader to count."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(option_key(row), []).append(row)
    merged = []
    for members in groups.values():
        distinct: list[dict[str, Any]] = []
        for row in members:
            if not any(not differences(row, kept) for kept in distinct):
                distinct.append(row)
        if len(distinct) > 1:
            summary.merged_keys += 1
            summary.merged += len(distinct) - 1
            merged.append({**merge_contracts(distinct, quotes_from=len(distinct) - 1), LINE: distinct[0][LINE]})
            merged += [row for row in members if row not in distinct]
        else:
            merged += members
    return merged


def _write_chunk(
    session: Session, kind: ImportKind, rows: list[dict[str, Any]], summary: ImportSummary, merge_duplicates: bool
) -> None:
    """Insert the chunk's rows (counted as loaded, already present or conflicting). Rows naming an
    ambiguous symbol are rejected."""
    if kind.needs_ticker_id:
        ids, ambiguous = ensure_tickers(session, {r["symbol"] for r in rows})
        for r in rows:
            if r["symbol"] in ambiguous:
                spellings = ", ".join(ambiguous[r["symbol"]])
                summary.reject(r[LINE], f"symbol {r['symbol']} matches several tickers rows ({spellings})", "ambiguous")
        rows = [r for r in rows if r["symbol"] not in ambiguous]
        for r in rows:
            r["ticker_id"] = ids[r.pop("symbol")]
    elif kind.table == "tickers":
        for r in rows:
            r["id"] = ticker_uuid(r["symbol"])
    if not rows:
        return
    if kind.table in ("options_chains", "ohlcv"):
        if merge_duplicates and kind.table == "options_chains":
            rows = _merge_duplicate_keys(rows, summary)
        insert = insert_option_rows if kind.table == "options_chains" else insert_ohlcv_rows
        outcome = insert(session, [{k: v for k, v in r.items() if k != LINE} for r in rows])
        summary.count_insert(outcome, [r[LINE] for r in rows], "conflicting_duplicate: key loaded with other {columns}")
        return
    columns = {name: [r[name] for r in rows] for name in rows[0] if name != LINE}
    inserted = bulk_insert_ignore(session, kind.table, columns)
    summary.loaded += inserted
    summary.already_present += len(rows) - inserted


def run_import(
    session_factory: sessionmaker[Session],
    kind_name: str,
    path: Path,
    *,
    strict: bool = False,
    merge_duplicates: bool = False,
    stop: StopRequest | None = None,
) -> ImportSummary:
    """Load one CSV file in one transaction; rows already present (same key, same values) are left
    untouched, and a key present with other values is a conflicting duplicate (rejected) unless
    `merge_duplicates` asks to merge the file's own duplicates (SPEC §8.1)."""
    kind = KINDS[kind_name]
    summary = ImportSummary(kind=kind_name, path=str(path))

    def load(session: Session) -> None:
        if not path.is_file():
            raise ImportFileError(f"{path}: no such file")
        for chunk in _read_chunks(path, kind, summary):
            check_stop(stop)
            _write_chunk(session, kind, chunk, summary, merge_duplicates)
        if strict and summary.rejected:
            raise FileRejected(f"--strict: {summary.rejected} row(s) rejected; nothing written", "strict")

    load_file(session_factory, summary, load, kind=kind_name, stop=stop)
    summary.log_end("import_finished", kind=kind_name)
    return summary
