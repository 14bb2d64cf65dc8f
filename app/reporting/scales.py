"""Chart scales chosen from the data: money units, the strike window, labels that do not collide."""

from __future__ import annotations

import math

import numpy as np

WINDOW_SHARE = 0.95  # the default strike window holds this share of |GEX| ...
WINDOW_FLOOR = 0.02  # ... but is never narrower than ±2% of spot ...
WINDOW_CAP = 0.20  # ... nor wider than the ±20% the levels are swept over
WINDOW_MARGIN = 1.08  # room beyond the last strike it must hold, so its bar is not cut at the edge


def money_scale(largest: float) -> tuple[float, str]:
    """Divisor and unit for dollar figures of this size: $B from a billion, $M from a million, else $K."""
    largest = abs(largest) if math.isfinite(largest) else 0.0
    if largest >= 1e9:
        return 1e9, "$B"
    if largest >= 1e6:
        return 1e6, "$M"
    return 1e3, "$K"


def money_text(value: float | None) -> str:
    """A dollar figure with the unit its size needs: -$1.23 B, $45.6 M; n/a for a missing one."""
    if value is None or not math.isfinite(value):
        return "n/a"
    divisor, unit = money_scale(value)
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value) / divisor:,.2f} {unit[1:]}"


def adaptive_strike_range(
    strikes: np.ndarray,
    gex_abs: np.ndarray,
    spot: float,
    *,
    must_show: tuple[float | None, ...] = (),
    share: float = WINDOW_SHARE,
) -> float:
    """The half-width (fraction of spot) of the narrowest window around spot holding `share` of the
    |GEX| of all strikes, widened to show the levels in `must_show` that lie within the cap.

    On index chains most |GEX| sits within a few percent of spot while strikes run ±50%: a fixed
    ±20% window draws 5-point strikes a few pixels wide.
    """
    distance = np.abs(strikes / spot - 1.0)
    weight = np.abs(np.nan_to_num(gex_abs))
    total = float(weight.sum())
    if total <= 0:
        return WINDOW_CAP
    order = np.argsort(distance, kind="stable")
    held = np.cumsum(weight[order]) / total
    needed = float(distance[order][int(np.searchsorted(held, share - 1e-12))])
    half_width = needed * WINDOW_MARGIN
    for level in must_show:
        if level is not None and math.isfinite(level) and abs(level / spot - 1) <= WINDOW_CAP:
            half_width = max(half_width, abs(level / spot - 1) * 1.02)
    return float(min(WINDOW_CAP, max(WINDOW_FLOOR, half_width)))


def label_rows(positions: list[float], min_gap: float) -> list[int]:
    """A row (0, 1, 2…) for each label at these positions (axes fractions) so that labels within
    `min_gap` of each other sit on different rows; the first free row is taken."""
    rows = [0] * len(positions)
    last_in_row: dict[int, float] = {}
    for index in sorted(range(len(positions)), key=lambda i: positions[i]):
        row = 0
        while row in last_in_row and positions[index] - last_in_row[row] < min_gap:
            row += 1
        rows[index] = row
        last_in_row[row] = positions[index]
    return rows
