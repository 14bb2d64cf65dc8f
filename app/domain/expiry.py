"""When contracts of an options snapshot expire, relative to the snapshot (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
MARKET_CLOSE = dt.time(16, 0)
