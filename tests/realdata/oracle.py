"""An independent reading of a Cboe download and of SPEC §5, §6 and §8.1, for checking the project.

Plain Python over the CSV's rows (the csv module, loops, dicts): nothing here
imports the project, so an error in the project's vectorized code cannot hide
behind the same error here. Figures come out unrounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "cboe"
PM_ROOTS = {"SPXW": "SPX", "NDXP": "NDX"}
FIELDS = ("bid", "ask", "volume", "iv", "delta", "gamma", "oi")


@dataclass
class Contract:
    root: str
    kind: str  # "C" / "P"
    expiration: dt.date
    strike: float
    bid: float | None
    ask: float | None
    volume: int
    oi: int
    iv: float | None
    delta: float | None
    gamma: float | None


@dataclass
class Download:
    last: float
    lines: int
    raw_asks_zero: int
    raw_ivs_zero: int
    contracts: list[Contract]  # as read, before any merge, placeholders already null


def read(name: str) -> Download:
    with gzip.open(DATA / f"{name}.csv.gz", "rt", newline="") as handle:
        rows = list(csv.reader(handle))
    last = float(rows[1][1].split(":")[1])
    header = rows[3]
    strike_at = header.index("Strike")
    columns = {
        "C": dict(zip(header[2:strike_at], range(2, strike_at), strict=True)),
        "P": dict(zip(header[strike_at + 2 :], range(strike_at + 2, len(header)), strict=True)),
    }
    symbol_at = {"C": 1, "P": strike_at + 1}
    contracts, asks_zero, ivs_zero = [], 0, 0
    for row in rows[4:]:
        expiration = dt.datetime.strptime(row[0], "%a %b %d %Y").date()
        strike = float(row[strike_at])
        for kind in ("C", "P"):
            col = columns[kind]
            symbol = row[symbol_at[kind]]
            ask, iv = float(row[col["Ask"]]), float(row[col["IV"]])
            asks_zero += ask == 0
            ivs_zero += iv == 0
            contracts.append(
                Contract(
                    root=symbol[: len(symbol) - 15],
                    kind=kind,
                    expiration=expiration,
                    strike=strike,
                    bid=float(row[col["Bid"]]),
                    ask=None if ask == 0 else ask,
                    volume=int(row[col["Volume"]]),
                    oi=int(row[col["Open Interest"]]),
                    iv=None if iv == 0 else iv,
                    delta=float(row[col["Delta"]]),
                    gamma=float(row[col["Gamma"]]),
                )
            )
    return Download(last, len(rows) - 4, asks_zero, ivs_zero, contracts)


def merged(contracts: list[Contract]) -> tuple[list[Contract], int]:
    """§8.1: one contract per (expiration, strike, type); returns them and how many keys merged."""
    groups: dict[tuple, list[Contract]] = defaultdict(list)
    for c in contracts:
        groups[(c.expiration, c.strike, c.kind)].append(c)
    out, merges = [], 0
    for members in groups.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        merges += 1
        pm = next((m for m in members if m.root in PM_ROOTS), members[0])
        total_oi = sum(m.oi for m in members)

        def weighted(attr: str, members=members) -> float | None:
            having = [m for m in members if getattr(m, attr) is not None]
            if not having:
                return None
            weight = sum(m.oi for m in having)
            if weight == 0:
                return sum(getattr(m, attr) for m in having) / len(having)
            return sum(getattr(m, attr) * m.oi for m in having) / weight

        out.append(
            Contract(pm.root, pm.kind, pm.expiration, pm.strike, pm.bid, pm.ask, sum(m.volume for m in members),
                     total_oi, weighted("iv"), weighted("delta"), weighted("gamma"))
        )  # fmt: skip
    return out, merges


# ------------------------------------------------------------------ SPEC §5


@dataclass
class Thresholds:
    max_dte: int = 90
    min_oi: int = 100
    min_volume: int = 1
    max_spread_pct: float = 10.0
    max_moneyness: float = 0.20
    slope_range: float = 0.02
    top_n: int = 3
    sign: str = "kapman"


LOOSE = Thresholds(max_dte=100_000, min_oi=0, min_volume=0, max_spread_pct=1e12, max_moneyness=100.0)


def _dte(c: Contract, session: dt.date) -> int:
    return (c.expiration - session).days


def eligibility(contracts, session: dt.date, after_close: bool, t: Thresholds):
    """The §5.1 rules in order: (eligible contracts, counts per rule)."""
    counts: dict[str, int] = defaultdict(int)
    eligible = []
    for c in contracts:
        dte = _dte(c, session)
        priced = c.bid is not None and c.ask is not None
        mid = (c.bid + c.ask) / 2 if priced else 0.0
        if c.strike <= 0 or c.oi < 0 or c.volume < 0 or (priced and c.bid > c.ask):
            rule = "malformed"
        elif dte < 0 or (dte == 0 and after_close):
            rule = "expired"
        elif dte > t.max_dte:
            rule = "dte_exceeded"
        elif c.gamma is None:
            rule = "missing_gamma"
        elif not (c.oi > 0 and c.oi >= t.min_oi):
            rule = "low_open_interest"
        elif c.volume < t.min_volume:
            rule = "low_volume"
        elif priced and mid > 0 and (c.ask - c.bid) / mid * 100 > t.max_spread_pct + 1e-9:
            rule = "wide_spread"
        else:
            eligible.append(c)
            continue
        counts[rule] += 1
    return eligible, counts


def contract_gex(c: Contract, spot: float, sign: str) -> float:
    s = (-1.0 if c.kind == "C" else 1.0) * (1.0 if sign == "kapman" else -1.0)
    return s * abs(c.gamma) * c.oi * spot * spot * 0.01 * 100


def dealer(contracts, spot: float, session: dt.date, after_close: bool, t: Thresholds) -> dict:
    eligible, counts = eligibility(contracts, session, after_close, t)
    by_strike: dict[float, float] = defaultdict(float)
    for c in eligible:
        by_strike[c.strike] += contract_gex(c, spot, t.sign)
    strikes = sorted(by_strike)
    flip = None
    running = by_strike[strikes[0]] if strikes else 0.0
    for previous, strike in itertools.pairwise(strikes):
        after = running + by_strike[strike]
        if flip is None and ((running < 0 <= after) or (running > 0 >= after)):
            flip = previous + abs(running) / abs(after - running) * (strike - previous)
        running = after
    half = t.slope_range * spot
    upper = sum(g for k, g in by_strike.items() if spot <= k <= spot + half)
    lower = sum(g for k, g in by_strike.items() if spot - half <= k < spot)
    walls = {}
    for kind in ("C", "P"):
        agg: dict[float, list[float]] = {}
        for c in eligible:
            if c.kind == kind and abs(c.strike - spot) / spot <= t.max_moneyness:
                entry = agg.setdefault(c.strike, [0.0, 0.0, 0])
                entry[0] += c.oi
                entry[1] += contract_gex(c, spot, t.sign)
                entry[2] += 1
        ranked = sorted(agg.items(), key=lambda kv: (-kv[1][0], abs(kv[0] - spot), kv[0]))[: t.top_n]
        walls[kind] = [(k, oi, g, n) for k, (oi, g, n) in ranked]
    return {
        "eligible": len(eligible),
        "filter_stats": dict(counts),
        "gex_total": sum(abs(g) for g in by_strike.values()),
        "gex_net": sum(by_strike.values()),
        "gamma_flip": flip,
        "gex_slope": (upper - lower) / (2 * half) if by_strike else None,
        "call_walls": walls["C"],
        "put_walls": walls["P"],
        "strikes": len(strikes),
    }


# ------------------------------------------------------------------ SPEC §6


def volatility(contracts, session: dt.date, after_close: bool, history: list[float] = ()) -> dict:
    selected = []
    for c in contracts:
        dte = _dte(c, session)
        priced = c.bid is not None and c.ask is not None
        if c.strike <= 0 or (priced and c.bid > c.ask):
            continue
        if dte < 0 or (dte == 0 and after_close):
            continue
        selected.append(c)
    valid = [c for c in selected if c.iv is not None and 0 < c.iv <= 5]

    def weighted(cs):
        if not cs:
            return None
        total = sum(c.oi for c in cs)
        return sum(c.iv * c.oi for c in cs) / total if total > 0 else sum(c.iv for c in cs) / len(cs)

    def leg(kind: str, target: float, pct: float):
        cs = sorted((c for c in valid if c.kind == kind), key=lambda c: (c.strike, _dte(c, session)))
        if not cs:
            return None
        best = min(abs(c.delta - target) for c in cs)
        if best <= 0.15 + 1e-9:
            tied = [c for c in cs if abs(c.delta - target) <= best + 1e-12]
            tied.sort(key=lambda c: (abs(_dte(c, session) - 30), _dte(c, session), c.strike))
            return tied[0].iv
        n = len(cs)
        return cs[min(n - 1, math.floor(pct * n)) if n >= 3 else n // 2].iv

    call_leg, put_leg = leg("C", 0.25, 0.75), leg("P", -0.25, 0.25)
    front = [c.iv for c in valid if abs(_dte(c, session) - 30) <= 15]
    back = [c.iv for c in valid if abs(_dte(c, session) - 90) <= 30]
    call_oi = sum(c.oi for c in selected if c.kind == "C")
    put_oi = sum(c.oi for c in selected if c.kind == "P")
    call_vol = sum(c.volume for c in selected if c.kind == "C")
    put_vol = sum(c.volume for c in selected if c.kind == "P")
    ivs = [c.iv for c in valid]
    mean = sum(ivs) / len(ivs)
    avg_call, avg_put = weighted([c for c in valid if c.kind == "C"]), weighted([c for c in valid if c.kind == "P"])
    front_iv = sum(front) / len(front) if front else None
    back_iv = sum(back) / len(back) if back else None
    return {
        "average_iv": weighted(valid),
        "avg_call_iv": avg_call,
        "avg_put_iv": avg_put,
        "iv_stddev": math.sqrt(sum((x - mean) ** 2 for x in ivs) / len(ivs)),
        "iv_skew": (put_leg - call_leg) * 100,
        "iv_skew_call_put": (round(avg_put, 4) - round(avg_call, 4)) * 100,
        "put_call_ratio_oi": put_oi / call_oi,
        "put_call_volume_ratio": put_vol / call_vol if call_vol else None,
        "oi_ratio": (call_vol + put_vol) / (call_oi + put_oi),
        "front_month_iv": front_iv,
        "back_month_iv": back_iv,
        "iv_term_structure": (back_iv - front_iv) * 100 if front_iv is not None and back_iv is not None else None,
        "counts": {"total": len(contracts), "selected": len(selected), "with_iv": len(valid)},
    }


# ------------------------------------------------------------------ SPEC §12


def years_to_expiry(c: Contract, snapshot: dt.datetime) -> float:
    """From the snapshot to 16:00 New York on the expiration date, in years of 365 days, ≥ 15 minutes."""
    from zoneinfo import ZoneInfo

    close = dt.datetime.combine(c.expiration, dt.time(16), tzinfo=ZoneInfo("America/New_York"))
    seconds = (close.astimezone(dt.UTC) - snapshot.astimezone(dt.UTC)).total_seconds()
    return max(seconds / (365 * 86400), 15 * 60 / (365 * 86400))


def _usable(iv: float | None) -> bool:
    return iv is not None and 0 < iv <= 5


def _sign(kind: str, sign: str) -> float:
    return (-1.0 if kind == "C" else 1.0) * (1.0 if sign == "kapman" else -1.0)


def levels(contracts, spot: float, session: dt.date, snapshot: dt.datetime, after_close: bool, t: Thresholds) -> dict:
    """§12.1 and §13.2 over all open interest (only the sign of `t` matters), and §13.1's GEX strikes."""
    universe = [
        c for c in contracts
        if c.oi > 0 and c.strike > 0 and c.volume >= 0
        and not (c.bid is not None and c.ask is not None and c.bid > c.ask)
        and not (_dte(c, session) < 0 or (_dte(c, session) == 0 and after_close))
    ]  # fmt: skip
    modelled = [c for c in universe if _usable(c.iv)]
    grid = [spot * (0.80 + 0.0025 * i) for i in range(161)]
    years = {id(c): years_to_expiry(c, snapshot) for c in modelled}

    def exposure(s: float) -> float:
        total = 0.0
        for c in modelled:
            a = c.iv * math.sqrt(years[id(c)])
            d1 = (math.log(s / c.strike) + a * a / 2) / a
            gamma = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi) / (s * a)
            total += _sign(c.kind, t.sign) * gamma * c.oi * s * s * 0.01 * 100
        return total

    profile = [exposure(s) for s in grid] if modelled else []
    crossings = []
    for i in range(len(profile) - 1):
        a, b = profile[i], profile[i + 1]
        if a * b < 0 or (b == 0 and a != 0):
            crossings.append(grid[i] + (grid[i + 1] - grid[i]) * abs(a) / abs(b - a))
    zero = min(crossings, key=lambda x: (abs(x - spot), x)) if crossings else None

    # §13.2: vanna = −φ(d1)·d2/σ, charm = φ(d1)·d2/(2T), per contract at spot
    vanna = charm = 0.0
    for c in modelled:
        T = years[id(c)]
        d1 = (math.log(spot / c.strike) + c.iv * c.iv * T / 2) / (c.iv * math.sqrt(T))
        d2 = d1 - c.iv * math.sqrt(T)
        density = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
        vanna += _sign(c.kind, t.sign) * (-density * d2 / c.iv) * c.oi * 100 * spot * 0.01
        charm += _sign(c.kind, t.sign) * (density * d2 / (2 * T)) / 365 * c.oi * 100 * spot

    per_strike: dict[str, dict[float, float]] = {"C": defaultdict(float), "P": defaultdict(float)}
    for c in universe:
        if c.gamma is not None:
            per_strike[c.kind][c.strike] += contract_gex(c, spot, t.sign)

    def wall(kind: str) -> float | None:
        gex = per_strike[kind]
        return min(gex, key=lambda k: (-abs(gex[k]), abs(k - spot), k)) if gex else None

    def ranked(kind: str, above: bool) -> list[tuple[float, float]]:
        gex = per_strike[kind]
        side = [k for k in gex if (k >= spot if above else k <= spot) and gex[k] != 0]
        return [(k, gex[k]) for k in sorted(side, key=lambda k: (-abs(gex[k]), abs(k - spot), k))[:3]]

    with_delta = [c for c in universe if c.delta is not None]
    dex = sum(_sign(c.kind, t.sign) * c.delta * c.oi * 100 * spot for c in with_delta)
    return {
        "zero_gamma": zero,
        "gamma_at_spot": exposure(spot) if modelled else None,
        "call_gex_wall": wall("C"),
        "put_gex_wall": wall("P"),
        "dex_net": dex if with_delta else None,
        "vanna_exposure": vanna if modelled else None,
        "charm_exposure": charm if modelled else None,
        "contracts_used": len(modelled),
        "universe_contracts": len(universe),
        "call_resistance": ranked("C", True),
        "put_support": ranked("P", False),
    }


def _interpolate(points: list[tuple[float, float]], horizon: float) -> float | None:
    below = [p for p in points if p[0] <= horizon]
    above = [p for p in points if p[0] >= horizon]
    if not below or not above:
        return None
    (t1, v1), (t2, v2) = max(below), min(above)
    if t1 == t2:
        return v1
    w = v1 * v1 * t1 + (v2 * v2 * t2 - v1 * v1 * t1) * (horizon - t1) / (t2 - t1)
    return math.sqrt(w / horizon)


def constant_maturity(contracts, spot: float, session: dt.date, snapshot: dt.datetime, after_close: bool) -> dict:
    valid = [
        c for c in contracts
        if _usable(c.iv) and not (_dte(c, session) < 0 or (_dte(c, session) == 0 and after_close))
        and not (c.bid is not None and c.ask is not None and c.bid > c.ask)
    ]  # fmt: skip
    by_expiry: dict[dt.date, list[Contract]] = defaultdict(list)
    for c in valid:
        by_expiry[c.expiration].append(c)
    atm_points, legs = [], {"C": [], "P": []}
    atm_by_expiry: dict[dt.date, tuple[float, float]] = {}
    for _expiration, members in sorted(by_expiry.items()):
        years = years_to_expiry(members[0], snapshot)
        per_strike: dict[float, list[float]] = defaultdict(list)
        for c in members:
            per_strike[c.strike].append(c.iv)
        strikes = sorted(per_strike)
        if strikes[0] <= spot <= strikes[-1]:
            above = next(k for k in strikes if k >= spot)
            below = max(k for k in strikes if k <= spot)
            iv_above = sum(per_strike[above]) / len(per_strike[above])
            iv_below = sum(per_strike[below]) / len(per_strike[below])
            value = iv_above if above == below else iv_below + (spot - below) / (above - below) * (iv_above - iv_below)
            atm_points.append((years, value))
            atm_by_expiry[_expiration] = (years, value)
        for kind, target in (("C", 0.25), ("P", -0.25)):
            otm = [c for c in members if c.kind == kind and c.delta is not None]
            otm = [c for c in otm if (c.strike >= spot if kind == "C" else c.strike <= spot)]
            walk = sorted(otm, key=lambda c: c.strike, reverse=kind == "P")
            for i, c in enumerate(walk):
                if c.delta == target:
                    legs[kind].append((years, c.iv))
                    break
                if i + 1 < len(walk):
                    d1, d2 = c.delta, walk[i + 1].delta
                    if min(d1, d2) <= target <= max(d1, d2) and d1 != d2:
                        legs[kind].append((years, c.iv + (target - d1) / (d2 - d1) * (walk[i + 1].iv - c.iv)))
                        break
    atm30, atm90 = _interpolate(atm_points, 30 / 365), _interpolate(atm_points, 90 / 365)
    call30, put30 = _interpolate(legs["C"], 30 / 365), _interpolate(legs["P"], 30 / 365)
    return {
        "atm_iv_30d": atm30,
        "atm_iv_90d": atm90,
        "atm_term_structure": (atm90 - atm30) * 100 if atm30 is not None and atm90 is not None else None,
        "rr25_30d": (put30 - call30) * 100 if put30 is not None and call30 is not None else None,
        "atm_by_expiry": atm_by_expiry,  # (T, ATM IV) of each expiry that has one (§13.5's iv_move)
    }


def business_day_years(c: Contract, session: dt.date) -> float:
    """The public scripts' time to expiry: business days (Mon–Fri, no holidays) over 262, at least 1/262."""
    days = sum(1 for i in range((c.expiration - session).days) if (session + dt.timedelta(days=i)).weekday() < 5)
    return max(days, 1) / 262


def spot_sweep_zero_gamma(
    contracts, spot: float, session: dt.date, snapshot: dt.datetime, after_close: bool, *, business_days: bool
) -> float | None:
    """§12.1's zero gamma (its universe, its 161 levels, its nearest crossing) with either the §3 clock
    time or the public scripts' business-day time: what the choice of time alone moves."""
    universe = [
        c for c in contracts
        if c.oi > 0 and _usable(c.iv) and not (_dte(c, session) < 0 or (_dte(c, session) == 0 and after_close))
    ]  # fmt: skip
    years = [business_day_years(c, session) if business_days else years_to_expiry(c, snapshot) for c in universe]
    grid = [spot * (0.80 + 0.0025 * i) for i in range(161)]
    profile = []
    for s in grid:
        total = 0.0
        for c, T in zip(universe, years, strict=True):
            a = c.iv * math.sqrt(T)
            d1 = (math.log(s / c.strike) + a * a / 2) / a
            total += _sign(c.kind, "kapman") * math.exp(-d1 * d1 / 2) / (s * a) * c.oi * s * s
        profile.append(total)
    crossings = [
        grid[i] + (grid[i + 1] - grid[i]) * abs(profile[i]) / abs(profile[i + 1] - profile[i])
        for i in range(160)
        if profile[i] * profile[i + 1] < 0 or (profile[i + 1] == 0 and profile[i] != 0)
    ]
    return min(crossings, key=lambda x: (abs(x - spot), x)) if crossings else None
