"""An independent reading of SPEC §13.5 (the expected move) over a Cboe download's contracts.

Plain loops over the oracle's merged contracts; nothing here imports the project.
"""

from __future__ import annotations

import datetime as dt
import math

from tests.realdata.oracle import Contract


def _mid(c: Contract) -> float | None:
    if c.bid is None or c.ask is None or not (c.bid >= 0 and c.ask > 0 and c.bid <= c.ask):
        return None
    return (c.bid + c.ask) / 2


def _malformed(c: Contract) -> bool:
    return (c.delta is not None and abs(c.delta) > 1) or (c.gamma is not None and abs(c.gamma) > 1e4)


def expected_move(contracts, spot: float, session: dt.date, atm_by_expiry: dict, atm_iv_30d: float | None) -> dict:
    """{front: {...}, d30: {...}} unrounded, with the front expiry's date as ISO text."""
    mids: dict[dt.date, dict[float, dict[str, float]]] = {}
    for c in contracts:
        mid = _mid(c)
        if mid is None or _malformed(c) or (c.expiration - session).days < 1:
            continue
        mids.setdefault(c.expiration, {}).setdefault(c.strike, {})[c.kind] = mid
    front: dict = {}
    for expiration in sorted(mids):
        both = [k for k, quotes in mids[expiration].items() if "C" in quotes and "P" in quotes]
        if not both:
            continue
        strike = min(both, key=lambda k: (abs(k - spot), k))
        price = mids[expiration][strike]["C"] + mids[expiration][strike]["P"]
        iv_move = None
        if expiration in atm_by_expiry:
            years, iv = atm_by_expiry[expiration]
            iv_move = spot * iv * math.sqrt(years)
        front = {
            "expiry": expiration.isoformat(), "dte": (expiration - session).days, "straddle_strike": strike,
            "straddle_price": price, "straddle_pct": price / spot * 100, "lower": spot - price, "upper": spot + price,
            "iv_move": iv_move, "iv_move_pct": None if iv_move is None else iv_move / spot * 100,
        }  # fmt: skip
        break
    d30: dict = {"iv_move": None, "iv_move_pct": None, "lower": None, "upper": None}
    if atm_iv_30d is not None:
        move = spot * atm_iv_30d * math.sqrt(30 / 365)
        d30 = {"iv_move": move, "iv_move_pct": move / spot * 100, "lower": spot - move, "upper": spot + move}
    return {"front": front, "d30": d30}
