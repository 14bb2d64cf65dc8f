"""KapMan metrics: dealer gamma exposure and volatility metrics per ticker and session."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Resolved on first use: importlib.metadata costs a `--help` ~20-50 ms it never needs.
    if name not in ("__version__", "MODEL_VERSION"):
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("kapman-metrics")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        version = "0.0.0+unknown"
    globals().update(__version__=version, MODEL_VERSION=f"kapman-metrics/{version}")
    return str(globals()[name])
