"""A hand-sized market written with the factories (the numbers are worked out in the tests)."""

from __future__ import annotations

import datetime as dt

from app.repositories.tickers import ticker_uuid
from tests.factories import (
    OhlcvFactory,
    OptionContractFactory,
    TickerFactory,
    WatchlistFactory,
    chain_time,
)

DAY = dt.date(2024, 1, 2)  # a Tuesday session
NEXT_DAY = dt.date(2024, 1, 3)
EXPIRIES = (dt.date(2024, 1, 19), dt.date(2024, 2, 16))  # DTE 17 and 45 on DAY

# Per expiry, at spot 100 (S^2 * 0.01 * 100 = 10,000): P95 +800,000; C100 -500,000; C105 -450,000.
THREE_STRIKES = (("P", 95.0, 0.04, 2000), ("C", 100.0, 0.05, 1000), ("C", 105.0, 0.03, 1500))


def add_chain(ticker, day=DAY, *, contracts=THREE_STRIKES, expiries=EXPIRIES, hour=16, iv=0.30):
    for expiry in expiries:
        for option_type, strike, gamma, oi in contracts:
            OptionContractFactory(
                ticker=ticker,
                time=chain_time(day, hour),
                expiration_date=expiry,
                strike_price=strike,
                option_type=option_type,
                gamma=gamma,
                open_interest=oi,
                volume=10,
                bid=1.00,
                ask=1.05,
                implied_volatility=iv,
                delta=0.25 if option_type == "C" else -0.25,
            )


def build_market(day=DAY):
    """AAA: full hand chain; THIN: 2 contracts; NOSPOT: chain, no bar; NOOPT: bar, no chain; GHOST: no ticker."""
    tickers = {s: TickerFactory(symbol=s, id=ticker_uuid(s)) for s in ("AAA", "THIN", "NOSPOT", "NOOPT")}
    for symbol in (*tickers, "GHOST"):
        WatchlistFactory(symbol=symbol)
    for symbol in ("AAA", "THIN", "NOOPT"):
        OhlcvFactory(ticker=tickers[symbol], date=day, close=100.0)
    add_chain(tickers["AAA"], day)
    add_chain(tickers["THIN"], day, contracts=THREE_STRIKES[1:2])
    add_chain(tickers["NOSPOT"], day)
    return tickers


def build_sessions(days, symbols=("AAA", "BBB", "CCC", "DDD", "EEE")):
    """Tickers with the three-strike chain and a bar on every day (spot drifting by a point a day)."""
    tickers = {s: TickerFactory(symbol=s, id=ticker_uuid(s)) for s in symbols}
    for symbol, ticker in tickers.items():
        WatchlistFactory(symbol=symbol)
        for i, day in enumerate(days):
            OhlcvFactory(ticker=ticker, date=day, close=100.0 + i)
            add_chain(ticker, day, iv=0.25 + 0.01 * i)
    return tickers
