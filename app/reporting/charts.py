"""Figures for `kapman report`: GEX profile, volatility smile and term structure, IV history."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted

import numpy as np
from matplotlib.figure import Figure

CALL_COLOR = "#2b6cb0"
PUT_COLOR = "#c05621"
NET_COLOR = "#1a202c"


@dataclass(frozen=True, slots=True)
class GexChartData:
    symbol: str
    session: str
    status: str
    sign_convention: str
    strikes: np.ndarray
    call_gex: np.ndarray
    put_gex: np.ndarray
    spot: float
    gamma_flip: float | None
    call_walls: list[float]
    put_walls: list[float]


@dataclass(frozen=True, slots=True)
class SmileCurve:
    dte_days: int
    strikes: np.ndarray
    ivs: np.ndarray


@dataclass(frozen=True, slots=True)
class VolChartData:
    symbol: str
    session: str
    spot: float | None
    smiles: list[SmileCurve]
    term_dte: np.ndarray
    term_iv: np.ndarray


@dataclass(frozen=True, slots=True)
class HistoryChartData:
    symbol: str
    sessions: list
    average_iv: np.ndarray
    iv_rank: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray


def _millions(values: np.ndarray) -> np.ndarray:
    return values / 1e6


def gex_profile_figure(data: GexChartData) -> Figure:
    fig = Figure(figsize=(11, 6), dpi=110)
    ax = fig.add_subplot()
    width = float(np.min(np.diff(data.strikes))) * 0.8 if data.strikes.size > 1 else 1.0
    ax.bar(data.strikes, _millions(data.call_gex), width=width, color=CALL_COLOR, alpha=0.8, label="calls")
    ax.bar(data.strikes, _millions(data.put_gex), width=width, color=PUT_COLOR, alpha=0.8, label="puts")
    ax.plot(data.strikes, _millions(data.call_gex + data.put_gex), color=NET_COLOR, lw=1.6, marker=".", label="net")
    ax.axhline(0, color="#718096", lw=0.8)
    ax.axvline(data.spot, color="#2f855a", lw=2, ls="-", label=f"spot {data.spot:,.2f}")
    if data.gamma_flip is not None:
        ax.axvline(data.gamma_flip, color="#805ad5", lw=2, ls="--", label=f"gamma flip {data.gamma_flip:,.2f}")
    # wall markers sit just beyond the tallest bar on their side
    top = max(float(np.max(np.abs(_millions(np.concatenate([data.call_gex, data.put_gex]))), initial=0)), 1e-9)
    for i, strike in enumerate(data.call_walls):
        ax.plot(
            [strike],
            [top * 1.05],
            marker="v",
            ms=11,
            color=CALL_COLOR,
            ls="none",
            label="call walls" if i == 0 else None,
        )
    for i, strike in enumerate(data.put_walls):
        ax.plot(
            [strike],
            [-top * 1.05],
            marker="^",
            ms=11,
            color=PUT_COLOR,
            ls="none",
            label="put walls" if i == 0 else None,
        )
    ax.set_xlabel("strike")
    ax.set_ylabel("GEX, $ millions per 1% move")
    ax.set_title(
        f"{data.symbol} {data.session} — gamma exposure by strike "
        f"(status {data.status}, {data.sign_convention} sign convention)"
    )
    ax.legend(loc="best", fontsize=9)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def volatility_figure(data: VolChartData) -> Figure:
    fig = Figure(figsize=(12, 5), dpi=110)
    smile_ax, term_ax = fig.subplots(1, 2)
    for curve, color in zip(data.smiles, ("#2b6cb0", "#c05621"), strict=False):
        order = np.argsort(curve.strikes)
        smile_ax.plot(
            curve.strikes[order],
            curve.ivs[order] * 100,
            marker="o",
            ms=3,
            color=color,
            label=f"{curve.dte_days} days to expiry",
        )
    if data.spot is not None:
        smile_ax.axvline(data.spot, color="#2f855a", lw=1.5, label=f"spot {data.spot:,.2f}")
    smile_ax.set_xlabel("strike")
    smile_ax.set_ylabel("implied volatility, %")
    smile_ax.set_title(f"{data.symbol} {data.session} — IV smile (OTM puts below spot, OTM calls above)")
    smile_ax.legend(fontsize=9)
    smile_ax.grid(alpha=0.25)
    term_ax.plot(data.term_dte, data.term_iv * 100, marker="o", color=NET_COLOR)
    for lo, hi, label in ((15, 45, "front window"), (60, 120, "back window")):
        term_ax.axvspan(lo, hi, alpha=0.08, color="#805ad5" if lo == 15 else "#2f855a", label=label)
    term_ax.set_xlabel("days to expiry")
    term_ax.set_ylabel("OI-weighted IV, %")
    term_ax.set_title("term structure")
    term_ax.legend(fontsize=9)
    term_ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def history_figure(data: HistoryChartData) -> Figure:
    fig = Figure(figsize=(11, 5), dpi=110)
    iv_ax = fig.add_subplot()
    x = np.arange(len(data.sessions))
    iv_ax.fill_between(
        x,
        data.band_low * 100,
        data.band_high * 100,
        color="#a0aec0",
        alpha=0.35,
        label="252-session min–max (prior sessions)",
    )
    iv_ax.plot(x, data.average_iv * 100, color=CALL_COLOR, marker=".", label="average IV")
    iv_ax.set_ylabel("average IV, %")
    rank_ax = iv_ax.twinx()
    rank_ax.plot(x, data.iv_rank, color=PUT_COLOR, ls="--", marker=".", label="IV rank")
    rank_ax.set_ylim(-5, 105)
    rank_ax.set_ylabel("IV rank")
    step = max(1, len(x) // 8)
    iv_ax.set_xticks(x[::step], [str(s) for s in data.sessions[::step]], rotation=30, ha="right", fontsize=8)
    iv_ax.set_title(f"{data.symbol} — average IV and IV rank by session")
    handles = iv_ax.get_legend_handles_labels()
    rank_handles = rank_ax.get_legend_handles_labels()
    iv_ax.legend(handles[0] + rank_handles[0], handles[1] + rank_handles[1], fontsize=9, loc="upper left")
    iv_ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig
