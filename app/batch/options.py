"""What a batch is asked to do: dates, universe, flags (SPEC §3, §4, §7, §8)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from app.batch.dates import DateSelection

DEFAULT_CHUNK_TICKERS = 100
# ~9 float64 columns per contract plus their sorted copies: ~2 KB per 10 contracts, so a chunk of
# 40,000 contracts is ~15 MB whatever the chain sizes (SPEC §11); smaller chunks let the read of one
# overlap the computation of the previous one even for a single evening of ~50 tickers.
DEFAULT_CHUNK_CONTRACTS = 40_000


@dataclass(frozen=True, slots=True)
class BatchOptions:
    dates: DateSelection = field(default_factory=DateSelection)
    watchlist: str | None = None
    tickers: tuple[str, ...] = ()
    fill_missing: bool = False
    dry_run: bool = False
    heartbeat: int | None = None  # ticker-days between progress lines; None: the job's default
    verbose: bool = False
    debug: bool = False  # log per-ticker filter statistics and intermediate values
    quiet: bool = False  # recorded in the start event; the logging setup does the quieting
    shard: tuple[int, int] | None = None  # (i, n), 1-based
    chunk_size: int = DEFAULT_CHUNK_TICKERS  # tickers per chunk at most
    chunk_contracts: int = DEFAULT_CHUNK_CONTRACTS  # contracts per chunk at most
    overrides: tuple[str, ...] = ()
    database: str = ""  # masked URL, for the start event only

    def __post_init__(self) -> None:
        if self.heartbeat is not None and self.heartbeat < 1:
            raise ValueError("--heartbeat must be at least 1")
        if self.chunk_size < 1 or self.chunk_contracts < 1:
            raise ValueError("chunk limits must be at least 1")
        if self.shard is not None:
            index, count = self.shard
            if count < 1 or not 1 <= index <= count:
                raise ValueError(f"--shard {index}/{count}: expected i/n with 1 <= i <= n")


def shard_of(symbol: str, count: int) -> int:
    """1-based shard of a symbol; crc32 is stable across processes and machines (hash() is not)."""
    return zlib.crc32(symbol.encode()) % count + 1
