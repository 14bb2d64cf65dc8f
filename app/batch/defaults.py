"""Job defaults the CLI shows in its help, in a module light enough for `--help` to import."""

DEALER_HEARTBEAT = 25  # ticker-days between progress lines
VOLATILITY_HEARTBEAT = 50
