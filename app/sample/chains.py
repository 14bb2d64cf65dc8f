"""Black–Scholes option chains for the synthetic market: strikes, expiries, IV surface, greeks, quotes.

Deterministic: each (ticker seed, session index) pair seeds its own generator, so the draw order
below is part of the sample market's bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import numpy as np

RISK_FREE_RATE = 0.04


@dataclass(frozen=True, slots=True)
class TickerSpec:
    symbol: str
    ticker_id: uuid.UUID
    spot0: float
    vol: float
    base_oi: float
    seed: int


def expirations(session: dt.date) -> list[dt.date]:
    """Weekly Fridays to ~120 days, then monthly third Fridays to ~one year."""
    first_friday = session + dt.timedelta(days=(4 - session.weekday()) % 7)
    weekly = [first_friday + dt.timedelta(weeks=w) for w in range(18) if (w * 7 + (first_friday - session).days) <= 120]
    monthly = []
    year, month = session.year, session.month
    for _ in range(13):
        first = dt.date(year, month, 1)
        third_friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        if 120 < (third_friday - session).days <= 365:
            monthly.append(third_friday)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return sorted(set(weekly + monthly))


STRIKE_STEPS = (0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0)


def _strike_step(spot: float) -> float:
    """The listed increment nearest 3.1% of spot: ~26 strikes in ±40%, ~1,400 contracts a chain."""
    target = spot * 0.031
    return min(STRIKE_STEPS, key=lambda step: abs(np.log(step / target)))


def chain_columns(spec: TickerSpec, session: dt.date, spot: float, day_index: int, thin: bool) -> dict:
    rng = np.random.default_rng((spec.seed, day_index))
    step = _strike_step(spot)
    k, days, is_call = _contract_grid(session, spot, step, thin)
    years = np.maximum(days, 0.5) / 365.0
    log_m = np.log(k / spot)
    level = spec.vol * (1 + 0.03 * np.sin(day_index / 3.0 + spec.seed))
    iv = level * (1 - 0.35 * log_m + 0.9 * log_m**2) * (1 + 0.08 * (np.sqrt(years) - 0.5))
    iv = np.clip(iv * rng.normal(1, 0.01, k.size), 0.05, 3.0)
    price, delta, gamma, vega, theta = _black_scholes(spot, k, years, iv, is_call)
    near = np.exp(-((log_m / 0.12) ** 2))
    round_strike = np.isclose(np.mod(k, step * 4), 0) * 0.8 + 1
    term_weight = np.exp(-days / 90.0) + 0.15
    oi = np.floor(spec.base_oi * near * round_strike * term_weight * rng.uniform(0.5, 1.5, k.size))
    if thin:
        oi = np.floor(rng.uniform(50, 400, k.size))
    volume = rng.poisson(oi * 0.08 + 0.2).astype(np.float64)
    half_spread = np.maximum(0.01, price * rng.uniform(0.01, 0.06, k.size)) / 2
    bid = np.round(np.maximum(price - half_spread, 0.0), 2)
    ask = np.round(np.maximum(price + half_spread, 0.01), 2)
    no_quote = rng.random(k.size) < 0.02
    bid[no_quote] = np.nan
    ask[no_quote] = np.nan
    no_greeks = rng.random(k.size) < 0.01
    columns = {
        "strike_price": np.round(k, 4),
        "option_type": np.where(is_call, "C", "P"),
        "expiration_date": (np.datetime64(session, "D") + days.astype("timedelta64[D]")).astype(object).tolist(),
        "bid": bid,
        "ask": ask,
        "last": np.round((np.nan_to_num(bid) + np.nan_to_num(ask)) / 2, 2),
        "volume": volume,
        "open_interest": oi,
        "implied_volatility": np.where(no_greeks, np.nan, np.round(iv, 4)),
        "delta": np.where(no_greeks, np.nan, np.round(delta, 4)),
        "gamma": np.where(no_greeks, np.nan, np.round(gamma, 6)),
        "theta": np.where(no_greeks, np.nan, np.round(theta, 4)),
        "vega": np.where(no_greeks, np.nan, np.round(vega, 4)),
    }
    columns["volume"] = columns["volume"].astype(np.int64)
    columns["open_interest"] = columns["open_interest"].astype(np.int64)
    return columns


def _contract_grid(session: dt.date, spot: float, step: float, thin: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strike x expiry grid, calls then puts: (strikes, days to expiry, is_call)."""
    if thin:
        strikes = np.round(spot / step) * step + step * np.array([-1.0, 0.0, 1.0])
        expiries = expirations(session)[1:2]
    else:
        strikes = np.arange(np.ceil(spot * 0.6 / step), np.floor(spot * 1.4 / step) + 1) * step
        expiries = expirations(session)
    dte = np.array([(e - session).days for e in expiries], dtype=np.float64)
    k_grid, dte_grid = np.meshgrid(strikes, dte, indexing="ij")
    k = np.concatenate([k_grid.ravel(), k_grid.ravel()])
    days = np.concatenate([dte_grid.ravel(), dte_grid.ravel()])
    return k, days, np.repeat([True, False], k_grid.size)


def _black_scholes(
    spot: float, k: np.ndarray, years: np.ndarray, iv: np.ndarray, is_call: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Price, delta, gamma, vega (per vol point) and theta (per day)."""
    from scipy.special import ndtr  # the normal CDF; imported here so the CLI starts without scipy

    sqrt_t = np.sqrt(years)
    d1 = (np.log(spot / k) + (RISK_FREE_RATE + iv**2 / 2) * years) / (iv * sqrt_t)
    d2 = d1 - iv * sqrt_t
    discount = np.exp(-RISK_FREE_RATE * years)
    call_px = spot * ndtr(d1) - k * discount * ndtr(d2)
    put_px = k * discount * ndtr(-d2) - spot * ndtr(-d1)
    price = np.where(is_call, call_px, put_px)
    delta = np.where(is_call, ndtr(d1), ndtr(d1) - 1)
    gamma = _normal_pdf(d1) / (spot * iv * sqrt_t)
    vega = spot * _normal_pdf(d1) * sqrt_t / 100
    theta_common = -spot * _normal_pdf(d1) * iv / (2 * sqrt_t)
    theta = (
        np.where(
            is_call,
            theta_common - RISK_FREE_RATE * k * discount * ndtr(d2),
            theta_common + RISK_FREE_RATE * k * discount * ndtr(-d2),
        )
        / 365
    )
    return price, delta, gamma, vega, theta


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
