"""What `kapman sample-data` and `kapman demo` build: Pydantic models the CLI's flags are generated from.

Kept apart from the builders (numpy, SQLAlchemy) so that `--help` does not import them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_END_DATE = dt.date(2026, 11, 20)
DEFAULT_WATCHLIST = "sample"


class SampleMarket(BaseModel):
    """What `kapman sample-data` writes (the CLI's flags are generated from these fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tickers: int = Field(20, ge=1, le=2000, description="Tickers (3 of them edge cases when >= 5).")
    days: int = Field(20, ge=1, le=2000, description="Sessions, ending at --end-date.")
    seed: int = Field(7, description="Random seed; same seed, same rows.")
    end_date: dt.date = Field(DEFAULT_END_DATE, description="Last session of the sample market (YYYY-MM-DD).")
    watchlist: str = Field(DEFAULT_WATCHLIST, description="watchlist_id to fill.")


class DemoSpec(BaseModel):
    """What `kapman demo` builds (the CLI's flags are generated from these fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tickers: int = Field(12, ge=5, le=500, description="Sample tickers (3 are edge cases).")
    days: int = Field(30, ge=2, le=500, description="Sample sessions (IV rank needs 21+).")
    out: Path = Field(Path("kapman-report"), description="Directory for the chart files.")
    dashboard: Path = Field(Path("kapman-dashboard"), description="Directory for the dashboard site.")
