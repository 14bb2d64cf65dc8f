"""One CSV row of each import kind, validated into column values (SPEC §8, §8.1).

A value that does not fit its column is a rejection of its row (`out_of_range`),
never a failure of the file and never a silent change by the database: a strike
with more than 4 decimals or beyond numeric(12,4), a count beyond its integer
column, a price beyond numeric(12,4), a symbol longer than 20 characters once
upper-cased. The limits are shared with the Cboe reader (`app.importers.limits`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from app.importers.limits import INT32_MAX, INT64_MAX, SYMBOL_MAX, check_price, check_strike

DEFAULT_WATCHLIST_SOURCE = "kapman-import"


class RowError(ValueError):
    """Why one CSV row cannot be loaded; `code` is the counted reason."""

    def __init__(self, message: str, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


def _text(value: str | None, name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise RowError(f"{name} is required")
        return None
    if max_len and len(value) > max_len:
        raise RowError(f"{name} longer than {max_len} characters", "out_of_range")
    return value


def _required(value: str | None, name: str) -> str:
    text = _text(value, name, required=True)
    assert text is not None  # _text raises for an empty required value
    return text


def _symbol(value: str | None) -> str:
    # Checked after upper-casing: 'ß' becomes 'SS', so a 12-character symbol can become 24.
    symbol = _required(value, "symbol").upper()
    if len(symbol) > SYMBOL_MAX:
        raise RowError(f"symbol longer than {SYMBOL_MAX} characters once upper-cased: {symbol!r}", "out_of_range")
    return symbol


def _number(
    value: str | None, name: str, *, required: bool = False, positive: bool = False, non_negative: bool = False
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


def _price(value: str | None, name: str, *, required: bool = False, positive: bool = False) -> float | None:
    number = _number(value, name, required=required, positive=positive, non_negative=True)
    problem = check_price(number, name)
    if problem:
        raise RowError(problem, "out_of_range")
    return number


def _count(value: str | None, name: str, limit: int = INT32_MAX) -> int | None:
    number = _number(value, name, non_negative=True)
    if number is None:
        return None
    if number != int(number):
        raise RowError(f"{name} is not a whole number: {value!r}")
    if number > limit:
        raise RowError(f"{name} {value!r} is beyond its integer column (max {limit:,})", "out_of_range")
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


def parse_ticker(row: dict[str, str]) -> dict[str, Any]:
    return {
        "symbol": _symbol(row.get("symbol")),
        "name": _text(row.get("name"), "name"),
        "sector": _text(row.get("sector"), "sector"),
        "is_active": _flag(row.get("is_active"), "is_active"),
    }


def parse_watchlist(row: dict[str, str]) -> dict[str, Any]:
    return {
        "watchlist_id": _text(row.get("watchlist_id"), "watchlist_id", required=True, max_len=255),
        "symbol": _symbol(row.get("symbol")),
        "active": _flag(row.get("active"), "active"),
        # KapMan's table requires both; a file without them says "this import, from today".
        "source": _text(row.get("source"), "source") or DEFAULT_WATCHLIST_SOURCE,
        "effective_date": _date(row.get("effective_date"), "effective_date", required=False) or dt.date.today(),
    }


def parse_ohlcv(row: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {"symbol": _symbol(row.get("symbol")), "date": _date(row.get("date"), "date")}
    for name in ("open", "high", "low"):
        values[name] = _price(row.get(name), name, positive=True)
    values["close"] = _price(row.get("close"), "close", required=True, positive=True)
    values["volume"] = _count(row.get("volume"), "volume", INT64_MAX)
    return values


def parse_option(row: dict[str, str]) -> dict[str, Any]:
    option_type = (row.get("option_type") or "").strip()
    if option_type not in ("C", "P"):
        raise RowError(f"option_type must be C or P: {option_type!r}")
    strike = _number(row.get("strike_price"), "strike_price", required=True, positive=True)
    problem = check_strike(strike)
    if problem:
        raise RowError(problem, "out_of_range")
    values = {
        "time": _timestamp(row.get("time"), "time"),
        "symbol": _symbol(row.get("symbol")),
        "expiration_date": _date(row.get("expiration_date"), "expiration_date"),
        "strike_price": strike,
        "option_type": option_type,
        "volume": _count(row.get("volume"), "volume"),
        "open_interest": _count(row.get("open_interest"), "open_interest"),
    }
    for name in ("bid", "ask", "last"):
        values[name] = _price(row.get(name), name)
    for name in ("implied_volatility", "delta", "gamma", "theta", "vega"):
        values[name] = _number(row.get(name), name)
    return values
