"""Figures for `kapman report`: GEX profile, volatility smile and term structure, IV history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

CALL_COLOR = "#2b6cb0"
PUT_COLOR = "#c05621"
NET_COLOR = "#1a202c"
SPOT_COLOR = "#2f855a"
FLIP_COLOR = "#805ad5"
ZERO_GAMMA_COLOR = "#d53f8c"
SMILE_RANGE = 0.30  # strikes within ±30% of spot
HISTORY_GAP_DAYS = 10  # a longer pause between stored sessions is drawn as a gap, not a step


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
    call_walls: list[float]  # ranked, primary first
    put_walls: list[float]
    strike_range: float = 0.20  # fraction of spot shown either side
    # §12.1 gamma profile Γ(s) over ±20% of spot, when the chain had usable IVs
    profile_spots: np.ndarray | None = None
    profile_gex: np.ndarray | None = None
    zero_gamma: float | None = None
    call_gex_wall: float | None = None  # §12.1: the strike of the largest call / put GEX
    put_gex_wall: float | None = None


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
    term_dte: np.ndarray  # ATM IV by expiry (§12.2)
    term_iv: np.ndarray
    constant_maturity: dict[int, float] = field(default_factory=dict)  # 30/90 → ATM IV
    # §13.5 expected move as (lower, upper, label): the front straddle and the 30-day 1σ IV move
    front_move: tuple[float, float, str] | None = None
    d30_move: tuple[float, float, str] | None = None


@dataclass(frozen=True, slots=True)
class HistoryChartData:
    symbol: str
    sessions: list[dt.date]
    average_iv: np.ndarray
    iv_rank: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray


def _millions(values: np.ndarray) -> np.ndarray:
    return values / 1e6


def _limits(values: np.ndarray, pad: float = 0.12) -> tuple[float, float]:
    """Symmetric limits around zero from the values actually drawn."""
    top = float(np.max(np.abs(values), initial=0.0)) or 1.0
    return -top * (1 + pad), top * (1 + pad)


def _label_outside(ax, x: float, low: float, high: float, text: str, color: str) -> None:
    side = "left" if x < low else "right"
    ax.annotate(
        f"{'◀' if side == 'left' else '▶'} {text}",
        xy=(0.01 if side == "left" else 0.99, 0.02),
        xycoords="axes fraction",
        ha=side,
        fontsize=8,
        color=color,
    )


def _strike_panel(ax, data: GexChartData) -> None:
    low, high = data.spot * (1 - data.strike_range), data.spot * (1 + data.strike_range)
    shown = (data.strikes >= low) & (data.strikes <= high)
    strikes = data.strikes[shown]
    spacing = np.diff(strikes)
    width = float(np.min(spacing[spacing > 0])) * 0.8 if np.any(spacing > 0) else data.spot * 0.004
    calls, puts = _millions(data.call_gex[shown]), _millions(data.put_gex[shown])
    ax.bar(strikes, calls, width=width, color=CALL_COLOR, alpha=0.85, label="calls")
    ax.bar(strikes, puts, width=width, color=PUT_COLOR, alpha=0.85, label="puts")
    ax.set_ylim(*_limits(np.concatenate([calls, puts, calls + puts])))
    ax.axhline(0, color="#718096", lw=0.8)
    # Running GEX from the lowest strike, on its own scale: the SPEC gamma flip is its zero crossing.
    running = _millions(np.cumsum(data.call_gex + data.put_gex))
    cumulative = ax.twinx()
    cumulative.plot(data.strikes[shown], running[shown], color=NET_COLOR, lw=1.4, label="cumulative GEX (right)")
    cumulative.set_ylim(*_limits(running[shown]))
    cumulative.set_ylabel("cumulative GEX from the lowest strike, $M", fontsize=8)
    ax.axvline(data.spot, color=SPOT_COLOR, lw=2, label=f"spot {data.spot:,.2f}")
    if data.gamma_flip is not None and low <= data.gamma_flip <= high:
        ax.axvline(data.gamma_flip, color=FLIP_COLOR, lw=1.8, ls="--", label=f"gamma flip {data.gamma_flip:,.2f}")
    elif data.gamma_flip is not None:
        _label_outside(ax, data.gamma_flip, low, high, f"gamma flip {data.gamma_flip:,.2f}", FLIP_COLOR)
    bottom, top = ax.get_ylim()
    for walls, color, y, marker, prefix in (
        (data.call_walls, CALL_COLOR, top * 0.92, "v", "C"),
        (data.put_walls, PUT_COLOR, bottom * 0.92, "^", "P"),
    ):
        for rank, strike in enumerate(walls, start=1):
            if low <= strike <= high:
                ax.plot([strike], [y], marker=marker, ms=10 if rank == 1 else 7, color=color, ls="none")
                ax.annotate(f"{prefix}{rank}", (strike, y), textcoords="offset points", xytext=(6, -3), fontsize=8)
    for wall, color, kind in ((data.call_gex_wall, CALL_COLOR, "call"), (data.put_gex_wall, PUT_COLOR, "put")):
        if wall is not None and low <= wall <= high:
            ax.axvline(wall, color=color, lw=1.4, ls=":", label=f"{kind} GEX wall {wall:,.2f}")
    ax.set_xlim(low, high)
    ax.set_xlabel("strike")
    ax.set_ylabel("GEX by strike, $M per 1% move")
    ax.set_title(
        f"{data.symbol} {data.session} — gamma exposure by strike, ±{data.strike_range:.0%} of spot "
        f"(status {data.status}, {data.sign_convention} sign; C1–C3 / P1–P3: walls by open interest)",
        fontsize=10,
    )
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = cumulative.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=8)
    ax.grid(alpha=0.25)


def _profile_panel(ax, data: GexChartData) -> None:
    assert data.profile_spots is not None and data.profile_gex is not None
    gamma = _millions(data.profile_gex)
    ax.plot(data.profile_spots, gamma, color=NET_COLOR, lw=1.8, label="Γ(s): total dealer gamma at spot s")
    ax.fill_between(data.profile_spots, gamma, 0, where=gamma >= 0, color=CALL_COLOR, alpha=0.12)
    ax.fill_between(data.profile_spots, gamma, 0, where=gamma < 0, color=PUT_COLOR, alpha=0.12)
    ax.axhline(0, color="#718096", lw=0.8)
    ax.axvline(data.spot, color=SPOT_COLOR, lw=2, label=f"spot {data.spot:,.2f}")
    if data.zero_gamma is not None:
        ax.axvline(data.zero_gamma, color=ZERO_GAMMA_COLOR, lw=1.8, label=f"zero gamma {data.zero_gamma:,.2f}")
    low, high = float(data.profile_spots[0]), float(data.profile_spots[-1])
    if data.gamma_flip is not None and low <= data.gamma_flip <= high:
        ax.axvline(
            data.gamma_flip, color=FLIP_COLOR, lw=1.2, ls="--", label=f"strike-cumulative flip {data.gamma_flip:,.2f}"
        )
    elif data.gamma_flip is not None:
        _label_outside(ax, data.gamma_flip, low, high, f"strike-cumulative flip {data.gamma_flip:,.2f}", FLIP_COLOR)
    ax.set_ylim(*_limits(gamma))
    ax.set_xlim(low, high)
    ax.set_xlabel("hypothetical spot s")
    ax.set_ylabel("Γ(s), $M per 1% move")
    ax.set_title("gamma profile (Black–Scholes at each contract's IV, spot swept ±20%)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.25)


def gex_profile_figure(data: GexChartData) -> Figure:
    with_profile = data.profile_spots is not None and data.profile_gex is not None
    fig = Figure(figsize=(12, 9 if with_profile else 6), dpi=110)
    axes = fig.subplots(2, 1) if with_profile else [fig.add_subplot()]
    _strike_panel(axes[0], data)
    if with_profile:
        _profile_panel(axes[1], data)
    fig.tight_layout()
    return fig


def volatility_figure(data: VolChartData) -> Figure:
    fig = Figure(figsize=(12, 5), dpi=110)
    smile_ax, term_ax = fig.subplots(1, 2)
    for curve, color in zip(data.smiles, (CALL_COLOR, PUT_COLOR), strict=False):
        shown = np.ones(curve.strikes.shape, dtype=bool)
        if data.spot is not None:  # the wings far from spot would set the scale of what is not shown
            shown = np.abs(curve.strikes / data.spot - 1) <= SMILE_RANGE
        order = np.argsort(curve.strikes[shown])
        smile_ax.plot(curve.strikes[shown][order], curve.ivs[shown][order] * 100, marker="o", ms=3, color=color,
                      label=f"{curve.dte_days} days to expiry")  # fmt: skip
    if data.front_move is not None:
        lower, upper, label = data.front_move
        smile_ax.axvspan(lower, upper, color=SPOT_COLOR, alpha=0.12, label=label)
    if data.d30_move is not None:
        lower, upper, label = data.d30_move
        smile_ax.axvline(lower, color=SPOT_COLOR, lw=1, ls="--", label=label)
        smile_ax.axvline(upper, color=SPOT_COLOR, lw=1, ls="--")
    if data.spot is not None:
        smile_ax.axvline(data.spot, color=SPOT_COLOR, lw=1.5, label=f"spot {data.spot:,.2f}")
        smile_ax.set_xlim(data.spot * (1 - SMILE_RANGE), data.spot * (1 + SMILE_RANGE))
    smile_ax.set_xlabel("strike")
    smile_ax.set_ylabel("implied volatility, %")
    smile_ax.set_title(f"{data.symbol} {data.session} — IV smile (OTM puts below spot, OTM calls above)", fontsize=10)
    smile_ax.legend(fontsize=8)
    smile_ax.grid(alpha=0.25)
    if data.term_dte.size:
        term_ax.plot(data.term_dte, data.term_iv * 100, marker="o", ms=3, color=NET_COLOR, label="ATM IV by expiry")
    for days, value in sorted(data.constant_maturity.items()):
        term_ax.plot([days], [value * 100], marker="D", ms=8, color=FLIP_COLOR, ls="none")
        term_ax.annotate(
            f"IV{days} {value:.1%}", (days, value * 100), textcoords="offset points", xytext=(6, 6), fontsize=8
        )
    for days in (30, 90):
        term_ax.axvline(days, color="#a0aec0", lw=0.8, ls=":")
    term_ax.set_xlim(0, max(float(np.max(data.term_dte, initial=0.0)), 120) * 1.05)
    term_ax.set_xlabel("days to expiry")
    term_ax.set_ylabel("at-the-money IV, %")
    term_ax.set_title("ATM term structure (linear in strike at spot, per expiry)", fontsize=10)
    if term_ax.get_legend_handles_labels()[0]:
        term_ax.legend(fontsize=8)
    term_ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def _with_gaps(days: list[dt.date], *series: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert a break (NaN) where stored sessions are more than HISTORY_GAP_DAYS apart."""
    x = np.array(days, dtype="datetime64[D]")
    breaks = np.flatnonzero(np.diff(x).astype(int) > HISTORY_GAP_DAYS) + 1
    if breaks.size == 0:
        return (x, *series)
    midpoints = x[breaks - 1] + (x[breaks] - x[breaks - 1]) // 2
    return (np.insert(x, breaks, midpoints), *(np.insert(s.astype(float), breaks, np.nan) for s in series))


def history_figure(data: HistoryChartData) -> Figure:
    fig = Figure(figsize=(11, 5), dpi=110)
    iv_ax = fig.add_subplot()
    x, avg, rank, low, high = _with_gaps(data.sessions, data.average_iv, data.iv_rank, data.band_low, data.band_high)
    iv_ax.fill_between(
        x, low * 100, high * 100, color="#a0aec0", alpha=0.35, label="252-session min–max (prior sessions)"
    )
    iv_ax.plot(x, avg * 100, color=CALL_COLOR, marker=".", label="average IV")
    iv_ax.set_ylabel("average IV, %")
    rank_ax = iv_ax.twinx()
    rank_ax.plot(x, rank, color=PUT_COLOR, ls="--", marker=".", label="IV rank")
    rank_ax.set_ylim(-5, 105)
    rank_ax.set_ylabel("IV rank")
    locator = mdates.AutoDateLocator()
    iv_ax.xaxis.set_major_locator(locator)
    iv_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    iv_ax.set_title(f"{data.symbol} — average IV and IV rank by trading date", fontsize=10)
    handles = iv_ax.get_legend_handles_labels()
    rank_handles = rank_ax.get_legend_handles_labels()
    iv_ax.legend(handles[0] + rank_handles[0], handles[1] + rank_handles[1], fontsize=8, loc="upper left")
    iv_ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig
