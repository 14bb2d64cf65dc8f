"""The history figure: levels against spot, gamma, IV30 against HV20, IV30 rank, the expected move.

Each panel has its own scale; a series the stored documents do not hold is named as n/a on its
panel instead of silently missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.reporting.charts import CALL_COLOR, FLIP_COLOR, NET_COLOR, PUT_COLOR, SPOT_COLOR, ZERO_GAMMA_COLOR
from app.reporting.history import TickerHistory
from app.reporting.scales import money_scale

HISTORY_GAP_DAYS = 10  # a longer pause between stored sessions is drawn as a gap, not a step
RANK_LOOKBACK = 252
LEVEL_BAND = 0.15  # levels further than this from spot (a far-wing flip) are noted, not drawn off the scale
POSITIVE_BG, NEGATIVE_BG = "#c6f6d5", "#fed7d7"
LEVEL_LABELS = {
    "call_resistance": "call resistance (largest call GEX above spot)",
    "put_support": "put support (largest put GEX below spot)",
    "call_gex_wall": "call GEX wall",
    "put_gex_wall": "put GEX wall",
}
# Text keyword arguments of mixed types, as matplotlib takes them.
NA_STYLE: dict[str, Any] = {"fontsize": 9, "color": "#4a5568", "ha": "left", "va": "top"}


def with_gaps(days: list[dt.date], *series: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert a break (NaN) where stored sessions are more than HISTORY_GAP_DAYS apart."""
    x = np.array(days, dtype="datetime64[D]")
    breaks = np.flatnonzero(np.diff(x).astype(int) > HISTORY_GAP_DAYS) + 1
    if breaks.size == 0:
        return (x, *series)
    midpoints = x[breaks - 1] + (x[breaks] - x[breaks - 1]) // 2
    return (np.insert(x, breaks, midpoints), *(np.insert(s.astype(float), breaks, np.nan) for s in series))


def _missing(ax: Axes, names: list[str], far: list[str] | None = None) -> None:
    notes = (["n/a: " + "; ".join(names)] if names else []) + (["not drawn: " + "; ".join(far)] if far else [])
    if notes:
        ax.text(0.01, 0.97, "\n".join(notes), transform=ax.transAxes, **NA_STYLE)


def _regime_background(ax: Axes, history: TickerHistory) -> None:
    """Green behind sessions whose dealers were long gamma at spot (Γ(S) > 0), red behind short."""
    x = np.array(history.sessions, dtype="datetime64[D]")
    gamma = history["gamma_at_spot"]
    half = np.timedelta64(12, "h")
    for i in range(len(x)):
        if np.isfinite(gamma[i]) and gamma[i] != 0:
            color = POSITIVE_BG if gamma[i] > 0 else NEGATIVE_BG
            ax.axvspan(x[i] - half, x[i] + half, color=color, alpha=0.5, lw=0, zorder=0)


def _levels_panel(ax: Axes, history: TickerHistory) -> None:
    _regime_background(ax, history)
    x, spot = with_gaps(history.sessions, history.spot)
    ax.plot(x, spot, color=SPOT_COLOR, lw=2, label="spot (close)", zorder=4)
    resistance, support = "call_resistance", "put_support"
    if not history.has(resistance) and not history.has(support):  # documents before positioning (SPEC 13.1)
        resistance, support = "call_gex_wall", "put_gex_wall"
    lines = (
        ("zero_gamma", ZERO_GAMMA_COLOR, "-", "zero gamma"),
        ("gamma_flip", FLIP_COLOR, "--", "gamma flip (strike-cumulative)"),
        (resistance, CALL_COLOR, "-.", LEVEL_LABELS[resistance]),
        (support, PUT_COLOR, "-.", LEVEL_LABELS[support]),
    )
    finite_spot = history.spot[np.isfinite(history.spot)]
    low, high = (float(finite_spot.min()), float(finite_spot.max())) if finite_spot.size else (0.0, 1.0)
    missing, far = [], []
    for name, color, style, label in lines:
        values = history[name]
        near = np.abs(values / history.spot - 1) <= LEVEL_BAND
        if not np.isfinite(values).any():
            missing.append(label)
            continue
        if (np.isfinite(values) & ~near).any():
            count = int((np.isfinite(values) & ~near).sum())
            far.append(f"{label} beyond ±{LEVEL_BAND:.0%} of spot on {count} session{'s' if count > 1 else ''}")
        shown = np.where(near, values, np.nan)
        if np.isfinite(shown).any():
            low, high = min(low, float(np.nanmin(shown))), max(high, float(np.nanmax(shown)))
        ax.plot(*with_gaps(history.sessions, shown), color=color, ls=style, lw=1.4, label=label, zorder=3)
    pad = (high - low) * 0.08 or high * 0.02
    ax.set_ylim(low - pad, high + pad)
    _missing(ax, missing, far)
    ax.set_ylabel("price")
    ax.set_title(
        f"{history.symbol} — levels against spot (background: green long gamma, red short gamma at spot)", fontsize=10
    )
    ax.legend(loc="lower left", fontsize=8, ncol=3, framealpha=0.85)


def _gamma_panel(ax: Axes, history: TickerHistory) -> None:
    gamma, net = history["gamma_at_spot"], history["gex_net"]
    divisor, unit = money_scale(float(np.nanmax(np.abs(np.concatenate([gamma, net, [0.0]])))))
    x = np.array(history.sessions, dtype="datetime64[D]")
    net_shown = np.nan_to_num(net) / divisor
    ax.bar(x, net_shown, width=0.8, color=np.where(net_shown >= 0, CALL_COLOR, PUT_COLOR), alpha=0.6,
           label="net GEX (seed filters, strike sum)", zorder=2)  # fmt: skip
    ax.plot(*with_gaps(history.sessions, gamma / divisor), color=NET_COLOR, lw=1.6, marker=".",
            label="gamma at spot Γ(S) (all open interest)", zorder=3)  # fmt: skip
    ax.axhline(0, color="#718096", lw=0.8)
    _missing(ax, [n for n, key in (("gamma at spot", "gamma_at_spot"), ("net GEX", "gex_net")) if not history.has(key)])
    ax.set_ylabel(f"{unit} per 1% move")
    ax.set_title("dealer gamma", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, ncol=2, framealpha=0.85)


def iv_panel(ax: Axes, history: TickerHistory) -> None:
    iv30, hv20 = history["iv30"] * 100, history["hv20"] * 100
    low = np.array([np.nanmin(iv30[max(0, i - RANK_LOOKBACK) : i]) if np.isfinite(iv30[:i]).any() else np.nan
                    for i in range(len(iv30))])  # fmt: skip
    high = np.array([np.nanmax(iv30[max(0, i - RANK_LOOKBACK) : i]) if np.isfinite(iv30[:i]).any() else np.nan
                     for i in range(len(iv30))])  # fmt: skip
    x, iv_x, hv_x, low_x, high_x = with_gaps(history.sessions, iv30, hv20, low, high)
    shown = int(np.isfinite(iv30).sum())
    band = f"IV30 min–max of the prior sessions shown ({shown} stored, at most {RANK_LOOKBACK})"
    ax.fill_between(x, low_x, high_x, color="#a0aec0", alpha=0.35, label=band)
    ax.plot(x, iv_x, color=CALL_COLOR, lw=1.6, marker=".", label="IV30 (ATM, 30-day constant maturity)")
    ax.plot(x, hv_x, color=PUT_COLOR, lw=1.6, marker=".", label="HV20 (close-to-close)")
    _missing(ax, [n for n, key in (("IV30", "iv30"), ("HV20 (no realized.hv_20)", "hv20")) if not history.has(key)])
    ax.set_ylabel("volatility, %")
    ax.set_title("implied against realized volatility", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, ncol=2, framealpha=0.85)


def rank_panel(ax: Axes, history: TickerHistory) -> None:
    x, rank = with_gaps(history.sessions, history["iv30_rank"])
    ax.plot(x, rank, color=FLIP_COLOR, lw=1.6, marker=".", label="IV30 rank (0–100, stored history)")
    for level in (20, 80):
        ax.axhline(level, color="#a0aec0", lw=0.8, ls=":")
    ax.set_ylim(-5, 105)
    _missing(ax, [] if history.has("iv30_rank") else ["IV30 rank (needs 20 prior sessions of IV30)"])
    ax.set_ylabel("IV30 rank")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)


def _expected_move_panel(ax: Axes, history: TickerHistory) -> None:
    lower, upper, realized = history["em_lower"], history["em_upper"], history.close_at_expiry()
    x = np.array(history.sessions, dtype="datetime64[D]")
    quoted = np.isfinite(lower) & np.isfinite(upper)
    ax.vlines(x[quoted], lower[quoted], upper[quoted], color="#a0aec0", lw=5, alpha=0.8,
              label="front expected move (straddle), quoted on the session")  # fmt: skip
    judged = quoted & np.isfinite(realized)
    inside = judged & (realized >= lower) & (realized <= upper)
    ax.plot(x[inside], realized[inside], "o", color=SPOT_COLOR, ms=4, label="close on that expiry: inside")
    ax.plot(x[judged & ~inside], realized[judged & ~inside], "o", color=PUT_COLOR, ms=5, label="outside")
    ax.plot(*with_gaps(history.sessions, history.spot), color=NET_COLOR, lw=0.8, alpha=0.5, label="spot")
    if quoted.any():
        summary = f"closes inside the band: {int(inside.sum())} of {int(judged.sum())} expiries reached"
        ax.text(0.99, 0.97, summary, transform=ax.transAxes, ha="right", va="top", fontsize=9)
    _missing(ax, [] if quoted.any() else ["expected move (no expected_move.front)"])
    ax.set_ylabel("price")
    ax.set_title("expected move against the close that followed", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, ncol=2, framealpha=0.85)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(alpha=0.25)


def history_figure(history: TickerHistory) -> Figure:
    """Five panels over the stored sessions, sharing the date axis."""
    fig = Figure(figsize=(12, 15), dpi=100)
    axes = fig.subplots(5, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 1.2, 2.5]})
    for draw, ax in zip((_levels_panel, _gamma_panel, iv_panel, rank_panel, _expected_move_panel), axes, strict=True):
        draw(ax, history)
        _date_axis(ax)
    fig.tight_layout()
    return fig


def iv_history_figure(history: TickerHistory) -> Figure:
    """`kapman report`'s history chart: IV30 against HV20, and IV30 rank on its own scale."""
    fig = Figure(figsize=(11, 6), dpi=110)
    iv_ax, rank_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    iv_panel(iv_ax, history)
    iv_ax.set_title(f"{history.symbol} — IV30 against HV20 by trading date", fontsize=10)
    rank_panel(rank_ax, history)
    for ax in (iv_ax, rank_ax):
        _date_axis(ax)
    fig.tight_layout()
    return fig
