"""What fits the columns of SPEC §2, so the same file stores the same rows on SQLite and PostgreSQL.

PostgreSQL would round a strike to numeric(12,4) (107.00001 and 107.00002 become one
key) or refuse a value out of range (failing a whole batch of rows), where SQLite
stores it as given: such a value is a counted rejection of its row instead.
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1  # volume and open_interest of options_chains
INT64_MAX = 2**63 - 1  # ohlcv.volume
NUMERIC_12_4_LIMIT = 1e8  # numeric(12,4) holds |x| < 10^8
STRIKE_DECIMALS = 4
SYMBOL_MAX = 20


def check_strike(strike: float | None) -> str | None:
    """Why a strike does not fit numeric(12,4), or None."""
    if strike is None:
        return None
    if strike >= NUMERIC_12_4_LIMIT:
        return f"strike_price {strike:g} is beyond numeric(12,4)"
    if round(strike, STRIKE_DECIMALS) != strike:
        return f"strike_price {strike!r} has more than {STRIKE_DECIMALS} decimals (numeric(12,4) would round it)"
    return None


def check_price(price: float | None, name: str) -> str | None:
    if price is not None and abs(price) >= NUMERIC_12_4_LIMIT:
        return f"{name} {price:g} is beyond numeric(12,4)"
    return None


def check_count(value: float | None, name: str, limit: int = INT32_MAX) -> str | None:
    if value is not None and value > limit:
        return f"{name} {value} is beyond its integer column (max {limit:,})"
    return None
