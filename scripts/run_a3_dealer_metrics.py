"""`python -m scripts.run_a3_dealer_metrics [flags]` is `kapman dealer-metrics [flags]` (KapMan's A3 step)."""

import typer

from cli.main import app


def main() -> None:
    # The command itself, not the app with its name prepended: usage and errors then read
    # "python -m scripts.run_a3_dealer_metrics [OPTIONS]", which is what a user types.
    command = typer.main.get_command(app).commands["dealer-metrics"]
    command.main(prog_name="python -m scripts.run_a3_dealer_metrics")


if __name__ == "__main__":
    main()
