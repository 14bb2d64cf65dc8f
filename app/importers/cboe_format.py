"""Reading a Cboe "delayed quotes" option-chain download (`quotedata.csv`, SPEC §8.1).

Lines before the column header carry the underlying's name, its last price and
the download time, written several ways over the years and sometimes with an
unbalanced quote, so they are read with patterns, not as CSV. The column header
starts with "Expiration Date"; columns are found by name, the call's before
"Strike" and the put's after it. Each further line holds one expiration and
strike: a call and a put. Cboe writes 0 for "none": an ask of 0 and an IV of 0
are read as null (and counted).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.importers.limits import check_count, check_price, check_strike
from app.importers.source import FileRejected
from app.time import NEW_YORK

_ZONES: dict[str, dt.tzinfo] = {
    "EDT": NEW_YORK, "EST": NEW_YORK, "ET": NEW_YORK,
    "CDT": ZoneInfo("America/Chicago"), "CST": ZoneInfo("America/Chicago"), "CT": ZoneInfo("America/Chicago"),
    "UTC": dt.UTC, "GMT": dt.UTC, "Z": dt.UTC,
}  # fmt: skip
_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
_EXPIRATION_FORMATS = ("%a %b %d %Y", "%b %d %Y", "%d %b %Y", "%m/%d/%Y", "%Y-%m-%d", "%a %B %d %Y")
# root, YYMMDD, C/P, strike × 1000 (8 digits): SPXW230914C01200000
_OPTION_SYMBOL = re.compile(r"^(?P<root>[A-Z][A-Z0-9.]*?)(?P<date>\d{6})(?P<type>[CP])(?P<strike>\d{8})$")
_FIELD_NAMES = {
    "bid": "bid", "ask": "ask", "last sale": "last", "last": "last", "volume": "volume", "vol": "volume",
    "iv": "implied_volatility", "implied volatility": "implied_volatility", "imp vol": "implied_volatility",
    "delta": "delta", "gamma": "gamma", "theta": "theta", "vega": "vega",
    "open interest": "open_interest", "open int": "open_interest", "oi": "open_interest",
}  # fmt: skip
REQUIRED_FIELDS = ("bid", "ask", "volume", "implied_volatility", "delta", "gamma", "open_interest")
_COUNTS = ("volume", "open_interest")
_PRICES = ("bid", "ask", "last")


class CboeFileError(FileRejected):
    """The file as a whole cannot be read as a Cboe download."""


class LineError(ValueError):
    """Why one line of contracts cannot be read; `code` is the counted reason."""

    def __init__(self, message: str, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class CboeHeader:
    name: str | None
    last: float | None
    downloaded: dt.datetime | None  # aware


@dataclass(frozen=True, slots=True)
class Columns:
    expiration: int
    strike: int
    symbols: dict[str, int]  # "C"/"P" → column of the option symbol
    fields: dict[str, dict[str, int]]  # "C"/"P" → field name → column


@dataclass(slots=True)
class ReadCounts:
    lines: int = 0
    nulled_ask: int = 0
    nulled_iv: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # line, reason, reason code
    short_line: int | None = None  # a line with fewer fields than the header, not yet known to be the last


# ------------------------------------------------------------------ header


@dataclass(slots=True)
class _Stamp:
    """The parts of a download time found so far, word by word."""

    month: int | None = None
    day: int | None = None
    year: int | None = None
    clock: list[int] | None = None
    meridiem: str | None = None
    zone: dt.tzinfo = NEW_YORK


def _date_word(word: str, low: str, stamp: _Stamp) -> bool:
    """Reads `word` into the stamp's date when it is part of one; whether it was."""
    if low[:3] in _MONTHS and stamp.month is None and low.isalpha():
        stamp.month = _MONTHS[low[:3]]
    elif re.fullmatch(r"\d{4}", word):
        stamp.year = int(word)
    elif re.fullmatch(r"\d{1,2}", word) and stamp.day is None:
        stamp.day = int(word)
    elif re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", word):
        stamp.month, stamp.day, stamp.year = (int(x) for x in word.split("/"))
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        stamp.year, stamp.month, stamp.day = (int(x) for x in word.split("-"))
    else:
        return False
    return True


def _time_word(word: str, low: str, stamp: _Stamp) -> None:
    """Reads `word` into the stamp's clock, AM/PM or time zone when it is one of them."""
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", word):
        stamp.clock = [int(x) for x in word.split(":")]
    elif low in ("am", "pm"):
        stamp.meridiem = low
    elif word.upper() in _ZONES:
        stamp.zone = _ZONES[word.upper()]


def _parse_download_time(text: str) -> dt.datetime | None:
    """`September 14, 2023 at 4:31 PM EDT`, `February 5 2022, 8:09 PM EST`, `22 March 2024, 9:46 PM EDT`, …"""
    stamp = _Stamp()
    for word in re.sub(r"[,\"]", " ", text).replace(" at ", " ").split():
        low = word.lower().rstrip(".")
        if not _date_word(word, low, stamp):
            _time_word(word, low, stamp)
    month, day, year, clock, meridiem = stamp.month, stamp.day, stamp.year, stamp.clock, stamp.meridiem
    if month is None or day is None or year is None or clock is None:
        return None
    hour = clock[0] % 12 + (12 if meridiem == "pm" else 0) if meridiem else clock[0]
    try:
        local = dt.datetime(year, month, day, hour, clock[1], clock[2] if len(clock) > 2 else 0)
    except ValueError:
        return None
    return local.replace(tzinfo=stamp.zone)


def parse_header(lines: Iterable[str]) -> CboeHeader:
    """The underlying's name, last price and the download time, from the lines before the columns."""
    text = "\n".join(lines)
    last = re.search(r"Last:\s*([-+]?[\d,]*\.?\d+)", text)
    moment = re.search(r"Date:\s*(.*?)\s*(?:\"\s*(?:,|$)|,\s*(?:Bid|Ask|Size|Volume)\s*:|$)", text, re.MULTILINE)
    name = None
    for line in lines:
        if "Last:" in line:
            name = line.split("Last:")[0].strip().strip('",').strip() or None
            break
    return CboeHeader(
        name=name,
        last=float(last.group(1).replace(",", "")) if last else None,
        downloaded=_parse_download_time(moment.group(1)) if moment else None,
    )


def parse_columns(cells: list[str]) -> Columns:
    """Where each field is, by header name; the call's columns come before Strike, the put's after."""
    names = [re.sub(r"\s+", " ", c.strip().lower()) for c in cells]
    try:
        expiration = next(i for i, n in enumerate(names) if n.startswith("expiration"))
        strike = names.index("strike")
    except (StopIteration, ValueError):
        raise CboeFileError(f"no 'Expiration Date' and 'Strike' columns in the header: {cells}") from None
    symbols, fields = {}, {}
    for kind, span in (("C", range(expiration + 1, strike)), ("P", range(strike + 1, len(names)))):
        symbol = next((i for i in span if names[i] in ("calls", "call", "puts", "put") or "symbol" in names[i]), None)
        if symbol is None:
            raise CboeFileError(f"no option symbol column for the {'calls' if kind == 'C' else 'puts'}: {cells}")
        symbols[kind] = symbol
        fields[kind] = {_FIELD_NAMES[names[i]]: i for i in span if names[i] in _FIELD_NAMES}
        missing = [f for f in REQUIRED_FIELDS if f not in fields[kind]]
        if missing:
            side = "call" if kind == "C" else "put"
            raise CboeFileError(f"no {side} column(s) for {', '.join(missing)} in the header: {cells}")
    return Columns(expiration, strike, symbols, fields)


# ------------------------------------------------------------------ lines


def _expiration(text: str) -> dt.date:
    cleaned = " ".join(text.replace(",", " ").split())
    for form in _EXPIRATION_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, form).date()
        except ValueError:
            continue
    raise LineError(f"expiration date not understood: {text!r}")


def _number(text: str, name: str) -> float | None:
    text = text.strip().replace(",", "")
    if text in ("", "-", "--", "N/A", "n/a"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise LineError(f"{name} is not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise LineError(f"{name} is not finite: {text!r}")
    return value


def _contract(cells: list[str], columns: Columns, kind: str, expiration: dt.date, strike: float) -> dict[str, Any]:
    symbol = cells[columns.symbols[kind]].strip()
    match = _OPTION_SYMBOL.match(symbol)
    if match is None:
        raise LineError(f"option symbol not understood: {symbol!r}")
    if match["type"] != kind:
        raise LineError(f"{symbol} is not a {'call' if kind == 'C' else 'put'}")
    if int(match["strike"]) != round(strike * 1000) or match["date"] != expiration.strftime("%y%m%d"):
        raise LineError(f"{symbol} does not match expiration {expiration} and strike {strike:g}")
    values: dict[str, Any] = {"root": match["root"], "option_type": kind}
    for name, index in columns.fields[kind].items():
        value = _number(cells[index], name) if index < len(cells) else None
        if name in _COUNTS and value is not None:
            if value < 0 or value != int(value):
                raise LineError(f"{name} is not a count: {cells[index]!r}")
            value = int(value)
        problem = check_count(value, name) if name in _COUNTS else check_price(value, name) if name in _PRICES else None
        if problem:
            raise LineError(f"{kind}: {problem}", "out_of_range")
        values[name] = value
    return values


def _null_placeholders(contract: dict[str, Any], counts: ReadCounts) -> dict[str, Any]:
    if contract.get("ask") == 0:
        contract["ask"] = None  # Cboe's "no offer"
        counts.nulled_ask += 1
    if contract.get("implied_volatility") == 0:
        contract["implied_volatility"] = None  # Cboe's "not computed"
        counts.nulled_iv += 1
    return contract


def _column_header(lines: Iterator[str]) -> tuple[list[str], str, int]:
    """The lines before the column header, the header line and its line number (consumed from `lines`)."""
    before: list[str] = []
    for line_number, raw in enumerate(lines, start=1):
        if raw.strip().lower().startswith("expiration"):
            return before, raw, line_number
        before.append(raw.rstrip("\r\n"))
    raise CboeFileError("no column header line (one starting with 'Expiration Date')")


def _line_contracts(cells: list[str], columns: Columns) -> tuple[dt.date, float, list[dict[str, Any]]]:
    """The expiration, strike, call and put of one line; LineError when the line cannot be read."""
    expiration = _expiration(cells[columns.expiration])
    strike = _number(cells[columns.strike], "strike")
    if strike is None or strike <= 0:
        raise LineError(f"strike must be > 0: {cells[columns.strike]!r}")
    problem = check_strike(strike)
    if problem:
        raise LineError(problem, "out_of_range")
    return expiration, strike, [_contract(cells, columns, k, expiration, strike) for k in ("C", "P")]


def _contracts(
    lines: Iterator[str], first: int, width: int, columns: Columns, counts: ReadCounts
) -> Iterator[tuple[int, dict]]:
    for number, cells in enumerate(csv.reader(lines), start=first):
        if not any(c.strip() for c in cells):
            continue
        if counts.short_line is not None:  # a short line followed by another was not the file's end
            counts.rejects.append((counts.short_line, "fewer fields than the header", "fewer_fields"))
            counts.short_line = None
        counts.lines += 1
        if len(cells) < width:
            counts.short_line = number
            continue
        try:
            expiration, strike, found = _line_contracts(cells, columns)
        except LineError as error:
            counts.rejects.append((number, str(error), error.code))
            continue
        for contract in found:
            _null_placeholders(contract, counts)
            yield number, {"expiration_date": expiration, "strike_price": strike, **contract}


def read_contracts(lines: Iterator[str], counts: ReadCounts) -> tuple[CboeHeader, Iterator[tuple[int, dict]]]:
    """The header, and the contracts of the file with their line numbers (a malformed line is
    recorded in `counts.rejects` and skipped)."""
    before, raw, line_number = _column_header(lines)
    cells = next(csv.reader([raw]))
    columns = parse_columns(cells)
    header = parse_header(before)
    return header, _contracts(lines, line_number + 1, len(cells), columns, counts)
