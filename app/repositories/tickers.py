"""Ticker rows created on first sight (imports)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.repositories.bulk import bulk_insert_ignore
from app.repositories.universe import UniverseRepository

TICKER_NAMESPACE = uuid.UUID("6f1d2c1e-9a8b-4c53-a0d6-4b1f7f3c9e21")


def ticker_uuid(symbol: str) -> uuid.UUID:
    """Stable id per symbol, so the same data gets the same keys in every database."""
    return uuid.uuid5(TICKER_NAMESPACE, symbol)


def ensure_tickers(session: Session, symbols: set[str]) -> tuple[dict[str, uuid.UUID], dict[str, list[str]]]:
    """Ids of these symbols, inserting tickers rows for the ones not seen before; and the symbols
    that match several stored tickers rows differing only in case (left unresolved)."""
    universe = UniverseRepository(session)
    known, ambiguous = universe.resolve_symbols(sorted(symbols))
    missing = sorted(symbols - set(known) - set(ambiguous))
    if missing:
        bulk_insert_ignore(
            session,
            "tickers",
            {"id": [ticker_uuid(s) for s in missing], "symbol": missing, "is_active": True},
        )
        known, ambiguous = universe.resolve_symbols(sorted(symbols))
    return known, ambiguous
