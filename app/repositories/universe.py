"""The watchlist universe: which symbols to process, and which of them have no ticker row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.repositories.orm import Ticker, Watchlist


@dataclass(frozen=True, slots=True)
class TickerRef:
    symbol: str
    ticker_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Universe:
    tickers: list[TickerRef]
    unknown_symbols: list[str]
    not_in_watchlist: list[str] = field(default_factory=list)
    # Symbols matching several tickers rows that differ only in case (GOOD, good): reported, not guessed.
    ambiguous_symbols: dict[str, list[str]] = field(default_factory=dict)


class UniverseRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list_watchlist_symbols(self, watchlist: str | None = None) -> list[str]:
        """Active watchlist symbols, upper-cased, de-duplicated, sorted."""
        symbol = func.upper(func.trim(Watchlist.symbol))
        stmt = select(symbol).where(or_(Watchlist.active.is_(True), Watchlist.active.is_(None))).distinct()
        if watchlist:
            stmt = stmt.where(Watchlist.watchlist_id == watchlist)
        return sorted({s for (s,) in self._session.execute(stmt) if s})

    def load_universe(self, watchlist: str | None = None, symbols: list[str] | None = None) -> Universe:
        """Resolve watchlist symbols to tickers; `symbols` narrows the watchlist universe."""
        wanted = self.list_watchlist_symbols(watchlist)
        not_in_watchlist: list[str] = []
        if symbols:
            requested = sorted({s.strip().upper() for s in symbols if s.strip()})
            listed = set(wanted)
            not_in_watchlist = [s for s in requested if s not in listed]
            wanted = [s for s in requested if s in listed]
        ids, ambiguous = self.resolve_symbols(wanted)
        return Universe(
            tickers=[TickerRef(s, ids[s]) for s in wanted if s in ids],
            unknown_symbols=[s for s in wanted if s not in ids and s not in ambiguous],
            not_in_watchlist=not_in_watchlist,
            ambiguous_symbols=ambiguous,
        )

    def resolve_symbols(self, symbols: list[str]) -> tuple[dict[str, uuid.UUID], dict[str, list[str]]]:
        """Upper-case symbols → ticker ids, and the symbols that match several tickers rows
        (their stored spellings), which are left out of the mapping."""
        if not symbols:
            return {}, {}
        upper = func.upper(Ticker.symbol)
        rows = self._session.execute(select(upper, Ticker.symbol, Ticker.id).where(upper.in_(symbols)))
        found: dict[str, list[tuple[str, uuid.UUID]]] = {}
        for key, stored, ticker_id in rows:
            found.setdefault(key, []).append((stored, ticker_id))
        ids = {key: matches[0][1] for key, matches in found.items() if len(matches) == 1}
        ambiguous = {key: sorted(s for s, _ in matches) for key, matches in found.items() if len(matches) > 1}
        return ids, ambiguous

    def map_symbols(self, symbols: list[str]) -> dict[str, uuid.UUID]:
        """Upper-case symbols → ticker ids; ambiguous symbols are left out."""
        return self.resolve_symbols(symbols)[0]
