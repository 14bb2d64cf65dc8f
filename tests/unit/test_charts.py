"""What the charts draw: the strike window, units, bars above lines, zero gamma, labels that do not collide."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from app.reporting.charts import GexChartData, gex_profile_figure
from app.reporting.scales import adaptive_strike_range, label_rows, money_scale, money_text


def test_the_window_is_the_narrowest_holding_95_percent_of_the_gex():
    # |GEX| 70 at spot, 10 + 15 at ±5%, 1 at -20%, 4 at +50%: 70 + 25 = 95 of 100 within 5%, then 8% room
    strikes = np.array([80.0, 95.0, 100.0, 105.0, 150.0])
    gex = np.array([1.0, 10.0, 70.0, 15.0, 4.0])
    assert adaptive_strike_range(strikes, gex, 100.0) == pytest.approx(0.054)
    # a zero gamma 12% away widens it (2% beyond the level); one beyond ±20% does not
    assert adaptive_strike_range(strikes, gex, 100.0, must_show=(112.0,)) == pytest.approx(0.1224)
    assert adaptive_strike_range(strikes, gex, 100.0, must_show=(130.0, None)) == pytest.approx(0.054)
    # everything at spot: the ±2% floor; nothing at all: the ±20% cap
    assert adaptive_strike_range(strikes, np.array([0, 0, 5.0, 0, 0]), 100.0) == 0.02
    assert adaptive_strike_range(strikes, np.zeros(5), 100.0) == 0.20


def test_money_units_follow_the_size():
    assert money_scale(30e9) == (1e9, "$B")
    assert money_scale(-2.5e6) == (1e6, "$M")
    assert money_scale(900.0)[1] == "$K"
    assert money_text(-11_167_504_988.77) == "−$11.17 B"
    assert money_text(7_100_000.0) == "$7.10 M"
    assert money_text(None) == "n/a"
    assert money_text(float("nan")) == "n/a"


def test_labels_closer_than_the_gap_take_the_next_free_row():
    # sorted: 0.10 → row 0; 0.12 is 0.02 from it → row 1; 0.13 is within the gap of both → row 2; 0.50 → row 0
    assert label_rows([0.10, 0.12, 0.50, 0.13], 0.045) == [0, 1, 0, 2]


def _spx_like(zero_gamma: float | None = 4491.43) -> GexChartData:
    """5-point strikes from 1,000 to 7,000 with |GEX| concentrated around 4,500 (σ 1.5% of spot), the largest
    bar (put +$30 B, call −$33 B) at 4,500, right under the GEX walls and 5 points from spot."""
    strikes = np.arange(1000.0, 7000.1, 5.0)
    shape = np.exp(-0.5 * ((strikes / 4505.10 - 1) / 0.015) ** 2)
    puts, calls = 3e9 * shape, -3.3e9 * shape
    at = int(np.flatnonzero(strikes == 4500.0)[0])
    puts[at], calls[at] = 30e9, -33e9
    gex_abs = np.abs(puts) + np.abs(calls)
    return GexChartData(
        symbol="SPX", session="2023-09-14", status="FULL", sign_convention="kapman",
        strikes=strikes, call_gex=calls, put_gex=puts, spot=4505.10, gamma_flip=4596.89,
        call_walls=[4000.0, 4500.0, 4505.0], put_walls=[5000.0, 4495.0, 4450.0],
        strike_range=adaptive_strike_range(strikes, gex_abs, 4505.10, must_show=(zero_gamma,)),
        profile_spots=4505.10 * (0.80 + 0.0025 * np.arange(161)),
        profile_gex=-1e10 * np.sin(np.arange(161) / 20.0),
        zero_gamma=zero_gamma, call_gex_wall=4500.0, put_gex_wall=4500.0, gex_net=-11.17e9, gamma_at_spot=-10.07e9,
    )  # fmt: skip


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_the_spx_chart_shows_where_the_gex_is_with_the_largest_bar_in_front():
    data = _spx_like()
    figure = gex_profile_figure(data)
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    total = np.sum(np.abs(data.call_gex) + np.abs(data.put_gex))
    inside = (data.strikes >= low) & (data.strikes <= high)
    assert np.sum(np.abs(data.call_gex[inside]) + np.abs(data.put_gex[inside])) >= 0.90 * total
    assert high - low < 0.2 * data.spot  # not the old ±20% (1,800 points for 5-point strikes)
    assert "$B" in ax.get_ylabel()  # 33,000 $M reads as $33 B
    bars = [p for p in ax.patches if p.get_height() != 0]
    largest = max(bars, key=lambda p: abs(p.get_height()))
    assert largest.get_x() < 4500.0 < largest.get_x() + largest.get_width()
    assert largest.get_height() == -33.0
    over = [
        line for line in ax.lines if largest.get_x() <= line.get_xdata()[0] <= largest.get_x() + largest.get_width()
    ]
    crossing = [line for line in over if len(line.get_xdata()) == 2]  # vertical marker lines through the bar
    assert {line.get_label() for line in crossing} == {"call GEX wall 4,500.00", "put GEX wall 4,500.00"}
    assert all(largest.get_zorder() > line.get_zorder() for line in crossing)  # the bar is drawn over them
    markers = [line for line in over if len(line.get_xdata()) == 1]  # the C2 wall marker sits beyond the bar's end
    assert markers
    assert all(abs(line.get_ydata()[0]) > abs(largest.get_height()) for line in markers)
    cumulative = next(other for other in figure.axes if other is not ax and other.bbox.bounds == ax.bbox.bounds)
    assert ax.get_zorder() > cumulative.get_zorder()  # and over the running-sum axes
    notes = "\n".join(_texts(ax))
    assert "net GEX −$11.17 B" in notes
    assert "gamma at spot −$10.07 B" in notes
    assert "zero gamma 4,491.43 (-0.3% from spot)" in notes
    assert "C1 4,000" in notes
    assert "P1 5,000" in notes  # walls outside the window are named, not dropped
    assert "zero gamma 4,491.43" in {line.get_label() for line in ax.lines}


def test_no_zero_gamma_is_written_on_both_panels():
    figure = gex_profile_figure(_spx_like(zero_gamma=None))
    strike_ax, profile_ax = figure.axes[0], figure.axes[1]
    for ax in (strike_ax, profile_ax):
        assert any("no zero gamma within ±20% of spot" in text for text in _texts(ax))
        assert not any(line.get_label().startswith("zero gamma") for line in ax.lines)


def test_wall_labels_five_points_apart_do_not_overlap():
    figure = gex_profile_figure(_spx_like())
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = figure.axes[0]
    labels = [t for t in ax.texts if t.get_text() in {"C2", "C3", "P2", "P3"}]
    assert len(labels) == 4  # 4,500 / 4,505 and 4,495 / 4,450 are inside the window
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
