"""Figures for `kapman report`: GEX by strike and the gamma profile, volatility smile and term structure."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from app.reporting.scales import label_rows, money_scale, money_text

CALL_COLOR = "#2b6cb0"
PUT_COLOR = "#c05621"
NET_COLOR = "#1a202c"
SPOT_COLOR = "#2f855a"
FLIP_COLOR = "#805ad5"
ZERO_GAMMA_COLOR = "#d53f8c"
SMILE_RANGE = 0.30  # strikes within ±30% of spot
LABEL_GAP = 0.045  # wall labels closer than this (axes fraction) are stacked
BAR_Z, LINE_Z = 3, 2
NOTE_BOX = {"facecolor": "white", "alpha": 0.85, "edgecolor": "#cbd5e0"}


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
    gex_net: float | None = None
    gamma_at_spot: float | None = None  # §12.1 Γ(S)


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


def _limits(values: np.ndarray, pad: float = 0.12) -> tuple[float, float]:
    """Symmetric limits around zero from the values actually drawn."""
    top = float(np.max(np.abs(values), initial=0.0)) or 1.0
    return -top * (1 + pad), top * (1 + pad)


def _label_outside(ax: Axes, x: float, low: float, high: float, text: str, color: str, row: int = 0) -> None:
    side = "left" if x < low else "right"
    ax.annotate(
        f"{'◀' if side == 'left' else '▶'} {text}",
        xy=(0.01 if side == "left" else 0.99, 0.02 + 0.06 * row),
        xycoords="axes fraction",
        ha=side,
        fontsize=8,
        color=color,
    )


def _zero_gamma_note(data: GexChartData) -> str:
    if data.zero_gamma is None:
        return "no zero gamma within ±20% of spot"
    return f"zero gamma {data.zero_gamma:,.2f} ({(data.zero_gamma / data.spot - 1):+.1%} from spot)"


def _walls_outside(data: GexChartData, low: float, high: float) -> list[str]:
    outside = [f"{prefix}{rank} {strike:,g}" for walls, prefix in ((data.call_walls, "C"), (data.put_walls, "P"))
               for rank, strike in enumerate(walls, start=1) if not low <= strike <= high]  # fmt: skip
    return [f"outside the window: {', '.join(outside)}"] if outside else []


def _wall_markers(ax: Axes, data: GexChartData, low: float, high: float) -> None:
    """C1–C3 / P1–P3 at the top and bottom; labels of nearby strikes are stacked, not overlapped."""
    bottom, top = ax.get_ylim()
    for walls, color, edge, marker, prefix, step in (
        (data.call_walls, CALL_COLOR, top, "v", "C", -1),
        (data.put_walls, PUT_COLOR, bottom, "^", "P", 1),
    ):
        shown = [(rank, k) for rank, k in enumerate(walls, start=1) if low <= k <= high]
        rows = label_rows([(k - low) / (high - low) for _, k in shown], LABEL_GAP)
        for (rank, strike), row in zip(shown, rows, strict=True):
            y = edge * 0.93 + step * row * 0.08 * (top - bottom)
            ax.plot([strike], [y], marker=marker, ms=9 if rank == 1 else 6, color=color, ls="none", zorder=5)
            ax.annotate(f"{prefix}{rank}", (strike, y), textcoords="offset points", xytext=(6, -3), fontsize=8,
                        color=color, zorder=5)  # fmt: skip


def _strike_panel(ax: Axes, data: GexChartData) -> None:
    low, high = data.spot * (1 - data.strike_range), data.spot * (1 + data.strike_range)
    shown = (data.strikes >= low) & (data.strikes <= high)
    strikes = data.strikes[shown]
    spacing = np.diff(strikes)
    width = float(np.min(spacing[spacing > 0])) * 0.8 if np.any(spacing > 0) else data.spot * 0.004
    divisor, unit = money_scale(float(np.max(np.abs(np.concatenate([data.call_gex, data.put_gex])), initial=0.0)))
    calls, puts = data.call_gex[shown] / divisor, data.put_gex[shown] / divisor
    # Bars above every marker line: the largest bar often sits at spot or at a GEX wall.
    ax.bar(strikes, calls, width=width, color=CALL_COLOR, alpha=0.9, label="calls", zorder=BAR_Z)
    ax.bar(strikes, puts, width=width, color=PUT_COLOR, alpha=0.9, label="puts", zorder=BAR_Z)
    ax.set_ylim(*_limits(np.concatenate([calls, puts, calls + puts]), pad=0.35))
    ax.axhline(0, color="#718096", lw=0.8, zorder=LINE_Z)
    # Running GEX from the lowest strike, on its own scale: the SPEC gamma flip is its zero crossing.
    running = np.cumsum(data.call_gex + data.put_gex)[shown]
    run_divisor, run_unit = money_scale(float(np.max(np.abs(running), initial=0.0)))
    cumulative = ax.twinx()
    cumulative.plot(strikes, running / run_divisor, color=NET_COLOR, lw=1.2, alpha=0.8,
                    label=f"cumulative GEX from the lowest strike ({run_unit}, right)")  # fmt: skip
    cumulative.set_ylim(*_limits(running / run_divisor, pad=0.35))
    cumulative.set_ylabel(f"cumulative GEX, {run_unit}", fontsize=8)
    ax.set_zorder(cumulative.get_zorder() + 1)  # the bars' axes in front, its background see-through
    ax.patch.set_visible(False)
    ax.axvline(data.spot, color=SPOT_COLOR, lw=1.5, alpha=0.8, label=f"spot {data.spot:,.2f}", zorder=LINE_Z)
    beyond = []
    for level, color, style, name in (
        (data.zero_gamma, ZERO_GAMMA_COLOR, "-", "zero gamma"),
        (data.gamma_flip, FLIP_COLOR, "--", "gamma flip"),
    ):
        if level is not None and low <= level <= high:
            ax.axvline(level, color=color, lw=1.4, ls=style, alpha=0.8, label=f"{name} {level:,.2f}", zorder=LINE_Z)
        elif level is not None and level is not data.zero_gamma:  # zero gamma has its own note
            beyond.append(f"{name} {level:,.2f} ({'below' if level < low else 'above'} the window)")
    for wall, color, kind in ((data.call_gex_wall, CALL_COLOR, "call"), (data.put_gex_wall, PUT_COLOR, "put")):
        if wall is not None and low <= wall <= high:
            ax.axvline(wall, color=color, lw=1.2, ls=":", label=f"{kind} GEX wall {wall:,.2f}", zorder=LINE_Z)
    _wall_markers(ax, data, low, high)
    summary = f"net GEX {money_text(data.gex_net)} · gamma at spot {money_text(data.gamma_at_spot)}"
    notes = [summary, _zero_gamma_note(data), *beyond, *_walls_outside(data, low, high)]
    # Below the axes, beside the legend: inside, the box would cover the walls' markers.
    ax.text(0.0, -0.12, "\n".join(notes), transform=ax.transAxes, ha="left", va="top", fontsize=9, parse_math=False,
            bbox=NOTE_BOX)  # fmt: skip
    ax.set_xlim(low, high)
    ax.set_xlabel("strike")
    ax.set_ylabel(f"GEX by strike, {unit} per 1% move")
    ax.set_title(
        f"{data.symbol} {data.session} — gamma exposure by strike, ±{data.strike_range:.1%} of spot "
        f"(status {data.status}, {data.sign_convention} sign; C1–C3 / P1–P3: walls by open interest)",
        fontsize=10,
    )
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = cumulative.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="upper right", bbox_to_anchor=(1.0, -0.1),
              ncol=3, fontsize=8, frameon=False)  # fmt: skip
    ax.grid(alpha=0.25, zorder=0)


def _profile_panel(ax: Axes, data: GexChartData) -> None:
    assert data.profile_spots is not None
    assert data.profile_gex is not None
    divisor, unit = money_scale(float(np.max(np.abs(data.profile_gex), initial=0.0)))
    gamma = data.profile_gex / divisor
    ax.plot(data.profile_spots, gamma, color=NET_COLOR, lw=1.8, label="Γ(s): total dealer gamma at spot s")
    ax.fill_between(data.profile_spots, gamma, 0, where=gamma >= 0, color=CALL_COLOR, alpha=0.12)
    ax.fill_between(data.profile_spots, gamma, 0, where=gamma < 0, color=PUT_COLOR, alpha=0.12)
    ax.axhline(0, color="#718096", lw=0.8)
    ax.axvline(data.spot, color=SPOT_COLOR, lw=2, label=f"spot {data.spot:,.2f}")
    if data.zero_gamma is not None:
        ax.axvline(data.zero_gamma, color=ZERO_GAMMA_COLOR, lw=1.8, label=f"zero gamma {data.zero_gamma:,.2f}")
    else:
        ax.text(0.99, 0.97, _zero_gamma_note(data), transform=ax.transAxes, ha="right", va="top", fontsize=9,
                color=ZERO_GAMMA_COLOR, parse_math=False, bbox=NOTE_BOX)  # fmt: skip
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
    ax.set_ylabel(f"Γ(s), {unit} per 1% move")
    ax.set_title("gamma profile (Black–Scholes at each contract's IV, spot swept ±20%)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.25)


def gex_profile_figure(data: GexChartData) -> Figure:
    with_profile = data.profile_spots is not None and data.profile_gex is not None
    fig = Figure(figsize=(12, 10 if with_profile else 6), dpi=110)
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
