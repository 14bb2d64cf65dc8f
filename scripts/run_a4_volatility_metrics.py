"""`python -m scripts.run_a4_volatility_metrics [flags]` is `kapman vol-metrics [flags]` (KapMan's A4 step)."""

import sys

from cli.main import app


def main() -> None:
    app(["vol-metrics", *sys.argv[1:]], prog_name="python -m scripts.run_a4_volatility_metrics")


if __name__ == "__main__":
    main()
