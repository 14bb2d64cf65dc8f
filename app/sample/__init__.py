"""The deterministic synthetic market (tickers, watchlist, OHLCV, Black–Scholes chains) for demos,
benchmarks and tests."""
