"""What every file import counts: rows loaded, already present, conflicting, rejected (SPEC §8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from app.repositories.options import InsertOutcome

log = structlog.get_logger()

MAX_REJECTS_LOGGED = 50


@dataclass(kw_only=True)
class LoadSummary:
    path: str
    loaded: int = 0
    already_present: int = 0
    conflicting_duplicates: int = 0
    merged_keys: int = 0  # keys whose rows were merged into one (§8.1)
    rejected: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)
    exit_code: int = 0
    failure: str | None = None

    def reject(self, line: int, reason: str) -> None:
        """Count a rejected line; the first ones are listed and logged with their reason."""
        self.rejected += 1
        if len(self.rejects) < MAX_REJECTS_LOGGED:
            self.rejects.append((line, reason))
            log.warning("row_rejected", file=self.path, line=line, reason=reason)

    def count_options(self, outcome: InsertOutcome, lines: Sequence[int], conflict: str) -> None:
        """Count an option-row insert; `lines[i]` is the source line of row i, and `conflict` the
        reject reason of a conflicting duplicate, with `{columns}` for the columns that differ."""
        self.loaded += outcome.inserted
        self.already_present += len(outcome.already_present)
        for position, columns in outcome.conflicting:
            self.conflicting_duplicates += 1
            self.reject(lines[position], conflict.format(columns=", ".join(columns)))
