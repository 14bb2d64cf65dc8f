"""A chunk's chains built in whole-block passes are, array for array and bit for bit, the chains
`OptionChain.from_arrays` builds from each snapshot's own rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from app.domain.chain import OptionChain
from app.domain.chain_block import chains_of_block
from app.domain.expiry import NEW_YORK, ChainClock

SESSION = dt.date(2026, 3, 6)  # a Friday; daylight saving starts on Sunday the 8th


def _block(rng: np.random.Generator, rows: int, owners: int, greeks: tuple[str, ...]) -> dict[str, np.ndarray]:
    strike = rng.choice([90.0, 95.0, 100.0, 100.5, 105.0, np.nan, -5.0], rows)
    days = [-1.0, 0.0, 0.0, 1.0, 2.0, 7.0, 30.0, 400.0, np.nan]
    dte = rng.choice([*days, 2.5] if rng.integers(2) else days, rows)  # a fraction of a day: found by sorting
    columns = {
        "owner": rng.integers(0, owners, rows).astype(float),
        "dte_days": dte,
        "strike": strike,
        "option_type": rng.choice([1.0, -1.0, 0.0], rows, p=[0.45, 0.45, 0.1]),
        "open_interest": rng.choice([0.0, 5.0, 100.0, -1.0], rows),
        "volume": rng.choice([0.0, 3.0, 50.0], rows),
        "bid": rng.choice([np.nan, 0.5, 1.0, 2.0], rows),
        "ask": rng.choice([np.nan, 0.6, 1.0, 1.5], rows),
        "unreadable": rng.choice([0.0, 1.0], rows, p=[0.95, 0.05]),
    }
    values = {
        "implied_volatility": rng.choice([np.nan, 0.0, 0.2, 0.35, 7.0], rows),
        "delta": rng.choice([np.nan, -0.4, 0.5, 3.0], rows),
        "gamma": rng.choice([np.nan, 0.01, 0.05, 2e4], rows),
    }
    columns.update({name: values[name] for name in greeks})
    return columns


def _clocks(owners: int) -> list[ChainClock]:
    times = [
        None,
        dt.datetime(2026, 3, 6, 15, 59, 59, 999_999, tzinfo=NEW_YORK),  # before the close: 0DTE still open
        dt.datetime(2026, 3, 6, 21, 0, 0, 123_457, tzinfo=dt.UTC),  # after the close, odd microseconds
        dt.datetime(2026, 3, 5, 10, 30, tzinfo=NEW_YORK),  # a snapshot from the day before
    ]
    return [ChainClock(SESSION, times[i % len(times)]) for i in range(owners)]


def _assert_same(built: OptionChain, expected: OptionChain) -> None:
    for field in dataclasses.fields(OptionChain):
        ours, theirs = getattr(built, field.name), getattr(expected, field.name)
        assert ours.dtype == theirs.dtype, field.name
        assert ours.tobytes() == theirs.tobytes(), field.name  # bit for bit, NaN payloads included


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("greeks", [("implied_volatility", "delta", "gamma"), ("implied_volatility",), ()])
def test_block_chains_are_the_chains_each_snapshot_builds_alone(seed, greeks):
    rng = np.random.default_rng(seed)
    owners = 5
    columns = _block(rng, 400, owners, greeks)
    owner = columns.pop("owner").astype(np.int64)
    if seed % 2:  # rows grouped by snapshot, as a PostgreSQL read returns them
        grouped = np.argsort(owner, kind="stable")
        owner, columns = owner[grouped], {name: values[grouped] for name, values in columns.items()}
    clocks = _clocks(owners)
    chains = chains_of_block(owner, columns, clocks)
    assert len(chains) == owners
    for i, clock in enumerate(clocks):
        mine = {name: values[owner == i] for name, values in columns.items()}
        _assert_same(chains[i], OptionChain.from_arrays(**mine, clock=clock))
        expected = [_years_by_datetimes(d, clock) for d in chains[i].dte_days.tolist()]
        assert chains[i].years_to_expiry.tobytes() == np.array(expected, dtype=np.float64).tobytes()


def _years_by_datetimes(dte: float, clock: ChainClock) -> float:
    """SPEC §3 from Python datetimes, one contract at a time: snapshot (or the session's close) to 16:00
    New York on the expiration date, in years of 365 days, at least 15 minutes; NaN without a DTE."""
    if math.isnan(dte):
        return math.nan
    close = dt.datetime.combine(clock.session_date + dt.timedelta(days=dte), dt.time(16), tzinfo=NEW_YORK)
    start = clock.snapshot_time or dt.datetime.combine(clock.session_date, dt.time(16), tzinfo=NEW_YORK)
    seconds = (close.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()
    return max(seconds / (365 * 24 * 3600.0), 15 * 60 / (365 * 24 * 3600.0))


def test_a_snapshot_without_rows_is_an_empty_chain():
    columns = {
        "dte_days": np.array([1.0]),
        "strike": np.array([100.0]),
        "option_type": np.array([1.0]),
        "open_interest": np.array([10.0]),
        "volume": np.array([1.0]),
        "bid": np.array([1.0]),
        "ask": np.array([1.1]),
    }
    chains = chains_of_block(np.array([1]), columns, _clocks(3))
    assert [len(c) for c in chains] == [0, 1, 0]
    _assert_same(chains[0], OptionChain.from_arrays(strike=[], option_type=np.array([], dtype=float), dte_days=[]))


def test_a_block_of_two_sessions_is_refused():
    columns = {"dte_days": np.array([1.0, 2.0]), "strike": np.array([1.0, 2.0]), "option_type": np.array([1.0, -1.0])}
    clocks = [ChainClock(SESSION), ChainClock(SESSION + dt.timedelta(days=1))]
    with pytest.raises(ValueError, match="one session"):
        chains_of_block(np.array([0, 1]), columns, clocks)
