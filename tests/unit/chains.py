"""Hand-sized chains for unit tests."""

from __future__ import annotations

import datetime as dt
import math
import uuid

from app.domain.chain import OptionChain
from app.domain.models import SnapshotContext

DEFAULTS = dict(dte=10, oi=1000, volume=10, bid=1.00, ask=1.05, iv=0.30, delta=math.nan, gamma=0.05)


def chain(*contracts: dict, clock=None) -> OptionChain:
    """Each contract: dict with type ('C'/'P') and strike, other fields defaulting to DEFAULTS."""
    rows = [{**DEFAULTS, **c} for c in contracts]
    return OptionChain.from_arrays(
        clock=clock,
        strike=[r["strike"] for r in rows],
        option_type=[r["type"] for r in rows],
        dte_days=[r["dte"] for r in rows],
        open_interest=[r["oi"] for r in rows],
        volume=[r["volume"] for r in rows],
        bid=[r["bid"] for r in rows],
        ask=[r["ask"] for r in rows],
        implied_volatility=[r["iv"] for r in rows],
        delta=[r["delta"] for r in rows],
        gamma=[r["gamma"] for r in rows],
    )


def context(**overrides) -> SnapshotContext:
    values = dict(
        symbol="TEST",
        ticker_id=uuid.UUID(int=1),
        snapshot_time=dt.datetime(2024, 1, 3, 4, 59, 59, 999999, tzinfo=dt.UTC),
        snapshot_date=dt.date(2024, 1, 2),
        model_version="kapman-metrics/test",
    )
    values.update(overrides)
    return SnapshotContext(**values)
