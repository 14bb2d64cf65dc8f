"""What every file import counts (SPEC §8.1): rows read = loaded + already present + merged + rejected.

Each rejection has a reason code (counted in `reasons`) and a message (the first
ones listed with their line and logged at WARNING). A file rejected whole (damaged,
refused by the database, interrupted) loads nothing: every row it read is then
counted as rejected under that file-level reason, so the sum still holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from app.repositories.classify import InsertOutcome

log = structlog.get_logger()

MAX_REJECTS_LOGGED = 50


@dataclass(kw_only=True)
class LoadSummary:
    path: str
    rows_read: int = 0
    loaded: int = 0
    already_present: int = 0
    merged: int = 0  # rows folded into another row of their key by the §8.1 merge rule
    merged_keys: int = 0  # keys whose rows were merged into one
    rejected: int = 0
    conflicting_duplicates: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # rejected rows by reason code
    rejects: list[tuple[int, str]] = field(default_factory=list)
    exit_code: int = 0
    failure: str | None = None
    interrupted: str | None = None  # the signal that stopped the import

    def reject(self, line: int, reason: str, code: str, rows: int = 1) -> None:
        """Count `rows` rejected rows of one line; the first ones are listed and logged with their reason."""
        self.rejected += rows
        self.reasons[code] += rows
        if code == "conflicting_duplicate":
            self.conflicting_duplicates += rows
        if len(self.rejects) < MAX_REJECTS_LOGGED:
            self.rejects.append((line, reason))
            log.warning("row_rejected", file=self.path, line=line, reason=reason, code=code)

    def reject_file(self, reason: str, code: str, exit_code: int = 1) -> None:
        """Nothing of the file was written: every row read is rejected under `code`."""
        self.loaded = self.already_present = self.merged = self.rejected = self.conflicting_duplicates = 0
        self.merged_keys = 0
        self.reasons = Counter({code: self.rows_read} if self.rows_read else {})
        self.rejected = self.rows_read
        self.exit_code, self.failure = exit_code, reason

    def count_insert(self, outcome: InsertOutcome, lines: Sequence[int], conflict: str) -> None:
        """Count an insert; `lines[i]` is the source line of row i, and `conflict` the reject reason
        of a conflicting duplicate, with `{columns}` for the columns that differ."""
        self.loaded += outcome.inserted
        self.already_present += len(outcome.already_present)
        for position, columns in outcome.conflicting:
            self.reject(lines[position], conflict.format(columns=", ".join(columns)), "conflicting_duplicate")

    def log_end(self, event: str, **fields: Any) -> None:
        """The summary line of the file: `event` at INFO, or `import_interrupted` at WARNING."""
        if self.interrupted:
            log.warning("import_interrupted", signal=self.interrupted, **fields, **self.counts())
        else:
            log.info(event, **fields, **self.counts())

    @property
    def accounted(self) -> bool:
        return self.rows_read == self.loaded + self.already_present + self.merged + self.rejected

    def counts(self) -> dict[str, Any]:
        """The summary's figures, as logged."""
        return {
            "file": self.path,
            "rows_read": self.rows_read,
            "loaded": self.loaded,
            "already_present": self.already_present,
            "merged": self.merged,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "merged_keys": self.merged_keys,
            "accounted": self.accounted,
            "exit_code": self.exit_code,
        }
