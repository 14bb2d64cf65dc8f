"""SPEC §8.1 merge rule: several contracts that share the KapMan key become one.

Used for colliding roots of one underlying in a Cboe download (SPX's AM-settled
monthly and the SPXW PM-settled weekly of the same third Friday) and, on request,
for duplicate keys in a CSV file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

COUNTS = ("open_interest", "volume")
WEIGHTED = ("implied_volatility", "delta", "gamma", "theta", "vega")
QUOTES = ("bid", "ask", "last")


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def merge_contracts(members: Sequence[Mapping[str, Any]], quotes_from: int) -> dict[str, Any]:
    """One contract from `members` (same key): open interest and volume summed; IV and the greeks
    open-interest-weighted over the members that have them (so Σ gamma·OI, hence GEX, is exact;
    their plain mean when those members hold no open interest); bid, ask and last of
    `members[quotes_from]` (the PM-settled member of a Cboe collision)."""
    merged = dict(members[0])
    for name in COUNTS:
        values = [m.get(name) for m in members if m.get(name) is not None]
        merged[name] = sum(values) if values else None
    for name in WEIGHTED:
        having = [m for m in members if _present(m.get(name))]
        if not having:
            merged[name] = None
            continue
        weights = [m.get("open_interest") or 0 for m in having]
        total = sum(weights)
        if total > 0:
            merged[name] = sum(m[name] * w for m, w in zip(having, weights, strict=True)) / total
        else:
            merged[name] = sum(m[name] for m in having) / len(having)
    for name in QUOTES:
        merged[name] = members[quotes_from].get(name)
    return merged
