"""History series from stored documents, read tolerantly, and what the history chart draws from them."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np

from app.reporting.history import history_from_rows, read_number
from app.reporting.history_chart import history_figure
from app.time import snapshot_time

STORED = json.loads((Path(__file__).parents[1] / "data" / "stored_documents.json").read_text())
WEEK = [dt.date(2024, 1, 8), dt.date(2024, 1, 9), dt.date(2024, 1, 10), dt.date(2024, 1, 11), dt.date(2024, 1, 12)]
FRIDAY, NEXT_FRIDAY = dt.date(2024, 1, 12), dt.date(2024, 1, 19)
CLOSES = [100.0, 101.0, 102.0, 103.0, 104.0]
# Front expected-move bands quoted Monday to Friday; the four first expire on Friday (close 104).
BANDS = [(98.0, 103.0), (99.0, 105.0), (101.0, 106.0), (103.5, 104.5), (101.0, 107.0)]


def _complete(values: dict, stored: dict) -> dict:
    """`values` over a real stored document, so the result is a whole document (lists replaced whole)."""
    return {
        k: _complete(values[k], v) if isinstance(v, dict) and k in values else values.get(k, v)
        for k, v in stored.items()
    }


def _documents(i: int, day: dt.date) -> tuple[dict, dict]:
    """Whole documents, with the keys the history reads (SPEC §12, §13) set to values worked per day."""
    dealer = {
        "spot_price": CLOSES[i],
        "gamma_flip": 90.0 + i,
        "gex_net": (-1) ** i * 2.5e6,
        "levels": {
            "zero_gamma": 99.0 + i,
            "gamma_at_spot": 1e6 * (i - 2),
            "call_gex_wall": 110.0,
            "put_gex_wall": 95.0,
        },
        "positioning": {
            "call_resistance": [{"strike": 105.0 + i, "gex": -1e6, "distance_pct": 5.0}],
            "put_support": [{"strike": 97.0 + i, "gex": 1e6, "distance_pct": -3.0}],
        },
        "metadata": {"snapshot_date": day.isoformat()},
    }
    lower, upper = BANDS[i]
    vol = {
        "metrics": {"atm_iv_30d": 0.20 + i / 100, "iv30_rank": 10.0 * i},
        "realized": {"hv_20": 0.18},
        "expected_move": {"front": {"expiry": (FRIDAY if i < 4 else NEXT_FRIDAY).isoformat(), "lower": lower,
                                    "upper": upper}},
        "metadata": {"snapshot_date": day.isoformat()},
    }  # fmt: skip
    return _complete(dealer, STORED["dealer"]), _complete(vol, STORED["volatility"])


def _full_history():
    rows = [(snapshot_time(day), *_documents(i, day)) for i, day in enumerate(WEEK)]
    return history_from_rows("AAA", rows, list(zip(WEEK, CLOSES, strict=True)))


def test_read_number_is_nan_for_whatever_is_absent():
    document = {"levels": {"zero_gamma": 4491.43, "flag": True}, "positioning": {"call_resistance": []}}
    assert read_number(document, ("levels", "zero_gamma")) == 4491.43
    for path in (("levels", "missing"), ("positioning", "call_resistance", 0, "strike"), ("levels", "flag"), ("x",)):
        assert math.isnan(read_number(document, path))
    assert math.isnan(read_number(None, ("gex_net",)))


def test_series_come_from_the_documents_and_expected_moves_are_judged_on_their_expiry():
    history = _full_history()
    assert history.sessions == WEEK
    np.testing.assert_array_equal(history["call_resistance"], [105, 106, 107, 108, 109])
    np.testing.assert_array_equal(history["hv20"], [0.18] * 5)
    # Monday to Thursday expire on Friday (close 104); Friday's expiry is a week ahead of the stored bars
    np.testing.assert_array_equal(history.close_at_expiry()[:4], [104.0] * 4)
    assert math.isnan(history.close_at_expiry()[4])


def test_the_history_figure_draws_every_panel_and_counts_the_closes_inside_the_band():
    figure = history_figure(_full_history())
    levels, gamma, iv, rank, move = figure.axes[:5]
    labels = {line.get_label(): line for line in levels.lines}
    np.testing.assert_array_equal(labels["spot (close)"].get_ydata(), CLOSES)
    np.testing.assert_array_equal(labels["zero gamma"].get_ydata(), [99, 100, 101, 102, 103])
    assert "call resistance (largest call GEX above spot)" in labels
    assert not levels.texts  # nothing n/a
    # gamma at spot −2, −1, 0, 1, 2 M: $M units, net GEX ±2.5 M as bars
    assert "$M" in gamma.get_ylabel()
    np.testing.assert_array_equal([p.get_height() for p in gamma.patches], [2.5, -2.5, 2.5, -2.5, 2.5])
    np.testing.assert_allclose(iv.lines[0].get_ydata(), [20, 21, 22, 23, 24])  # IV30 in percent
    np.testing.assert_allclose(iv.lines[1].get_ydata(), [18] * 5)  # HV20
    assert rank.get_ylim() == (-5, 105)  # the rank on its own scale, not over the IVs
    # Monday's band 98–103 misses Friday's 104; Tuesday to Thursday hold it; Friday's is not reached yet
    assert [t.get_text() for t in move.texts] == ["closes inside the band: 3 of 4 expiries reached"]


def test_documents_without_the_newer_keys_are_drawn_with_what_they_hold_and_say_n_a():
    rows = []
    for i, day in enumerate(WEEK):
        dealer, vol = _documents(i, day)
        del dealer["positioning"], vol["realized"], vol["expected_move"]
        rows.append((snapshot_time(day), dealer, vol))
    history = history_from_rows("AAA", rows, list(zip(WEEK, CLOSES, strict=True)))
    levels, _, iv, _, move = history_figure(history).axes[:5]
    labels = {line.get_label() for line in levels.lines}
    assert {"call GEX wall", "put GEX wall"} <= labels  # the §12 walls stand in for resistance and support
    assert any("HV20" in t.get_text() and t.get_text().startswith("n/a") for t in iv.texts)
    assert any("no expected_move.front" in t.get_text() for t in move.texts)
    # a far-wing flip (here 10% of spot or less, so drawn) versus one 40% away: the latter is noted, not drawn
    far = [(snapshot_time(d), {**_documents(i, d)[0], "gamma_flip": 60.0}, None) for i, d in enumerate(WEEK)]
    far_levels = history_figure(history_from_rows("AAA", far, [])).axes[0]
    assert any(
        "gamma flip (strike-cumulative) beyond ±15% of spot on 5 sessions" in t.get_text() for t in far_levels.texts
    )
