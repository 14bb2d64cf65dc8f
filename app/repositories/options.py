"""Loading option-chain rows without ever dropping a duplicate key silently (SPEC §8.1)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.repositories.classify import InsertOutcome, insert_classified
from app.repositories.classify import differences as _differences

KEY_COLUMNS = ("time", "ticker_id", "expiration_date", "strike_price", "option_type")
VALUE_COLUMNS = (
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "implied_volatility",
    "delta",
    "gamma",
    "theta",
    "vega",
)
OHLCV_KEY = ("ticker_id", "date")
OHLCV_VALUES = ("open", "high", "low", "close", "volume")

OptionKey = tuple[dt.datetime, uuid.UUID, dt.date, float, str]


def option_key(row: dict[str, Any]) -> OptionKey:
    return (row["time"], row["ticker_id"], row["expiration_date"], float(row["strike_price"]), row["option_type"])


def differences(row: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """The value columns in which two option rows with one key disagree."""
    return _differences(row, stored, VALUE_COLUMNS)


def insert_option_rows(session: Session, rows: Sequence[dict[str, Any]]) -> InsertOutcome:
    """Insert rows whose key is new; report rows whose key is stored (or came earlier in `rows`)
    with the same values (already_present) or with different ones (conflicting, left as stored)."""
    return insert_classified(session, "options_chains", KEY_COLUMNS, VALUE_COLUMNS, rows)


def insert_ohlcv_rows(session: Session, rows: Sequence[dict[str, Any]]) -> InsertOutcome:
    """Daily bars by the same rule: a bar stored with other values is a conflicting duplicate."""
    return insert_classified(session, "ohlcv", OHLCV_KEY, OHLCV_VALUES, rows)
