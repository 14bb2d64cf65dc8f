"""KapMan metrics: dealer gamma exposure and volatility metrics per ticker and session."""

from importlib import metadata

try:
    __version__ = metadata.version("kapman-metrics")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

MODEL_VERSION = f"kapman-metrics/{__version__}"
