"""`python -m scripts.run_a3_dealer_metrics [flags]` is `kapman dealer-metrics [flags]` (KapMan's A3 step)."""

import sys

from cli.main import app


def main() -> None:
    app(["dealer-metrics", *sys.argv[1:]], prog_name="python -m scripts.run_a3_dealer_metrics")


if __name__ == "__main__":
    main()
