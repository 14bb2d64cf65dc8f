"""`kapman import …`: load KapMan CSV files (SPEC §8), streaming, idempotent, rejecting bad rows.

Columns are those of SPEC §2 with `symbol` instead of `ticker_id`. A malformed
row is rejected with its line number and reason while the rest loads;
`strict` turns any reject into a failure with nothing written.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import redact
from app.importers.load_summary import LoadSummary
from app.importers.option_merge import merge_contracts
from app.repositories.bulk import bulk_insert_ignore
from app.repositories.faults import describe, is_database_error
from app.repositories.options import differences, insert_option_rows, option_key
from app.repositories.tickers import ensure_tickers, ticker_uuid

log = structlog.get_logger()

CHUNK_ROWS = 5000
DEFAULT_WATCHLIST_SOURCE = "kapman-import"
LINE = "_line"  # the source line of a parsed row, for reject messages


class RowError(ValueError):
    """Why one CSV row cannot be loaded."""


def _text(value: str | None, name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise RowError(f"{name} is required")
        return None
    if max_len and len(value) > max_len:
        raise RowError(f"{name} longer than {max_len} characters")
    return value


def _required(value: str | None, name: str, *, max_len: int | None = None) -> str:
    text = _text(value, name, required=True, max_len=max_len)
    assert text is not None  # _text raises for an empty required value
    return text


def _symbol(value: str | None) -> str:
    return _required(value, "symbol", max_len=20).upper()


def _number(
    value: str | None,
    name: str,
    *,
    required: bool = False,
    positive: bool = False,
    non_negative: bool = False,
) -> float | None:
    text = _text(value, name, required=required)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RowError(f"{name} is not a number: {text!r}") from None
    if not math.isfinite(number):
        raise RowError(f"{name} is not finite: {text!r}")
    if positive and number <= 0:
        raise RowError(f"{name} must be > 0: {text!r}")
    if non_negative and number < 0:
        raise RowError(f"{name} is negative: {text!r}")
    return number


def _count(value: str | None, name: str) -> int | None:
    number = _number(value, name, non_negative=True)
    if number is None:
        return None
    if number != int(number):
        raise RowError(f"{name} is not a whole number: {value!r}")
    return int(number)


def _date(value: str | None, name: str, *, required: bool = True) -> dt.date | None:
    text = _text(value, name, required=required)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{name} is not a date (YYYY-MM-DD): {text!r}") from None


def _timestamp(value: str | None, name: str) -> dt.datetime:
    text = _required(value, name)
    if text.endswith(("+00", "-00")) or (len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit()):
        text += ":00"  # PostgreSQL writes offsets as +00
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"{name} is not an ISO timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise RowError(f"{name} has no UTC offset (ambiguous): {text!r}")
    return moment.astimezone(dt.UTC)


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("", "true", "t", "1", "yes", "y"):
        return True
    if text in ("false", "f", "0", "no", "n"):
        return False
    raise RowError(f"{name} is not a boolean: {value!r}")


def _parse_ticker(row: dict[str, str]) -> dict[str, Any]:
    return {
        "symbol": _symbol(row.get("symbol")),
        "name": _text(row.get("name"), "name"),
        "sector": _text(row.get("sector"), "sector"),
        "is_active": _flag(row.get("is_active"), "is_active"),
    }


def _parse_watchlist(row: dict[str, str]) -> dict[str, Any]:
    return {
        "watchlist_id": _text(row.get("watchlist_id"), "watchlist_id", required=True, max_len=255),
        "symbol": _symbol(row.get("symbol")),
        "active": _flag(row.get("active"), "active"),
        # KapMan's table requires both; a file without them says "this import, from today".
        "source": _text(row.get("source"), "source") or DEFAULT_WATCHLIST_SOURCE,
        "effective_date": _date(row.get("effective_date"), "effective_date", required=False) or dt.date.today(),
    }


def _parse_ohlcv(row: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {"symbol": _symbol(row.get("symbol")), "date": _date(row.get("date"), "date")}
    for name in ("open", "high", "low"):
        values[name] = _number(row.get(name), name, positive=True)
    values["close"] = _number(row.get("close"), "close", required=True, positive=True)
    values["volume"] = _count(row.get("volume"), "volume")
    return values


def _parse_option(row: dict[str, str]) -> dict[str, Any]:
    option_type = (row.get("option_type") or "").strip()
    if option_type not in ("C", "P"):
        raise RowError(f"option_type must be C or P: {option_type!r}")
    values = {
        "time": _timestamp(row.get("time"), "time"),
        "symbol": _symbol(row.get("symbol")),
        "expiration_date": _date(row.get("expiration_date"), "expiration_date"),
        "strike_price": _number(row.get("strike_price"), "strike_price", required=True, positive=True),
        "option_type": option_type,
        "volume": _count(row.get("volume"), "volume"),
        "open_interest": _count(row.get("open_interest"), "open_interest"),
    }
    for name in ("bid", "ask", "last"):
        values[name] = _number(row.get(name), name, non_negative=True)
    for name in ("implied_volatility", "delta", "gamma", "theta", "vega"):
        values[name] = _number(row.get(name), name)
    return values


@dataclass(frozen=True, slots=True)
class ImportKind:
    table: str
    required_columns: tuple[str, ...]
    parse: Callable[[dict[str, str]], dict[str, Any]]
    needs_ticker_id: bool


KINDS: dict[str, ImportKind] = {
    "tickers": ImportKind("tickers", ("symbol",), _parse_ticker, False),
    "watchlist": ImportKind("watchlists", ("watchlist_id", "symbol"), _parse_watchlist, False),
    "ohlcv": ImportKind("ohlcv", ("symbol", "date", "close"), _parse_ohlcv, True),
    "options-chains": ImportKind(
        "options_chains",
        ("time", "symbol", "expiration_date", "strike_price", "option_type"),
        _parse_option,
        True,
    ),
}


@dataclass(kw_only=True)
class ImportSummary(LoadSummary):
    kind: str
    rows_read: int = 0


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (missing, unreadable, wrong header)."""


def _read_chunks(path: Path, kind: ImportKind, summary: ImportSummary) -> Iterator[list[dict[str, Any]]]:
    """Validated rows in chunks; rejects are recorded on the summary as they are met."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in kind.required_columns if c not in header]
        if missing:
            raise ImportFileError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}"
            )
        reader.fieldnames = header
        chunk: list[dict[str, Any]] = []
        for row in reader:
            summary.rows_read += 1
            line = reader.line_num
            try:
                if None in row:
                    raise RowError("more fields than the header")
                chunk.append({**kind.parse(row), LINE: line})
            except RowError as error:
                summary.reject(line, str(error))
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
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
            merged.append({**merge_contracts(distinct, quotes_from=len(distinct) - 1), LINE: distinct[0][LINE]})
            merged += [row for row in members if row not in distinct]
        else:
            merged += members
    return merged


def _write_options(
    session: Session, rows: list[dict[str, Any]], summary: ImportSummary, merge_duplicates: bool
) -> None:
    if merge_duplicates:
        rows = _merge_duplicate_keys(rows, summary)
    outcome = insert_option_rows(session, [{k: v for k, v in r.items() if k != LINE} for r in rows])
    summary.count_options(outcome, [r[LINE] for r in rows], "conflicting_duplicate: key loaded with other {columns}")


def _write_chunk(
    session: Session, kind: ImportKind, rows: list[dict[str, Any]], summary: ImportSummary, merge_duplicates: bool
) -> None:
    """Insert the chunk's rows (counted as loaded or already present). Rows naming an ambiguous
    symbol are rejected; an option row whose key holds other values is a conflicting duplicate."""
    if kind.needs_ticker_id:
        ids, ambiguous = ensure_tickers(session, {r["symbol"] for r in rows})
        for r in rows:
            if r["symbol"] in ambiguous:
                spellings = ", ".join(ambiguous[r["symbol"]])
                summary.reject(r[LINE], f"symbol {r['symbol']} matches several tickers rows ({spellings})")
        rows = [r for r in rows if r["symbol"] not in ambiguous]
        for r in rows:
            r["ticker_id"] = ids[r.pop("symbol")]
    elif kind.table == "tickers":
        for r in rows:
            r["id"] = ticker_uuid(r["symbol"])
    if not rows:
        return
    if kind.table == "options_chains":
        _write_options(session, rows, summary, merge_duplicates)
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
) -> ImportSummary:
    """Load one CSV file; rows already present (same key, same values) are left untouched, and a key
    present with other values is a conflicting duplicate (rejected) unless `merge_duplicates` asks to
    merge the file's own duplicates (SPEC §8.1)."""
    kind = KINDS[kind_name]
    summary = ImportSummary(kind=kind_name, path=str(path))
    try:
        if not path.is_file():
            raise ImportFileError(f"{path}: no such file")
        if strict:
            for _ in _read_chunks(path, kind, summary):
                pass
            if summary.rejected:
                summary.exit_code = 1
                summary.failure = f"--strict: {summary.rejected} row(s) rejected; nothing written"
                log.error("import_failed", kind=kind_name, file=str(path), reason=summary.failure)
                return summary
            summary.rows_read = 0
        for chunk in _read_chunks(path, kind, summary):
            with session_factory.begin() as session:
                _write_chunk(session, kind, chunk, summary, merge_duplicates)
    except (ImportFileError, UnicodeDecodeError, csv.Error) as error:
        summary.exit_code, summary.failure = 1, str(error)
    except Exception as error:
        if not is_database_error(error):  # raw driver errors too: the bulk load speaks COPY
            raise
        summary.exit_code, summary.failure = 1, f"database error: {redact(describe(error))}"
    if summary.failure:
        log.error("import_failed", kind=kind_name, file=str(path), reason=summary.failure)
    log.info(
        "import_finished",
        kind=kind_name,
        file=str(path),
        rows_read=summary.rows_read,
        loaded=summary.loaded,
        already_present=summary.already_present,
        rejected=summary.rejected,
        conflicting_duplicates=summary.conflicting_duplicates,
        merged_keys=summary.merged_keys,
        exit_code=summary.exit_code,
    )
    return summary
