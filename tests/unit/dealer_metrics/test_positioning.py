"""SPEC §12.1 over all open interest, §13.1 positioning and §13.2 vanna/charm exposures.

Hand-sized chains worked in the comments, the SPEC's own worked check, and random chains
against an oracle written from the SPEC's formulas in plain Python loops (nothing here
reuses the project's vectorized code).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from app.domain.dealer import compute_dealer, compute_dealer_metrics
from app.domain.dealer.positioning import flip_status, position_vs
from app.domain.models import DealerParams
from tests.unit.chains import chain, context

INDUSTRY = DealerParams(sign_convention="industry")  # calls +1: the SPEC's worked check has sign +1


def close(written, exact, digits):
    if exact is None:
        return written is None
    return abs(written - exact) <= 0.5 * 10**-digits + 1e-9 * abs(exact)


def test_the_specs_worked_vanna_and_charm_check():
    # S = 100, σ = 0.2, T = 30/365 (no clock: DTE 30 is 30/365 years), OI 1, sign +1 (industry calls)
    call = chain({"type": "C", "strike": 100, "dte": 30, "iv": 0.2, "oi": 1})
    doc = compute_dealer_metrics(call, 100.0, INDUSTRY, context())
    assert (doc.levels.vanna_exposure, doc.levels.charm_exposure) == (5.72, -1.91)
    # vanna 0.057163 · 1 · 100 · 100 · 0.01 and charm −0.069548 / 365 · 100 · 100, unrounded
    levels = compute_dealer(call, 100.0, INDUSTRY).levels
    assert levels.vanna_exposure == pytest.approx(0.057163 * 100, abs=1e-4)
    assert levels.charm_exposure == pytest.approx(-0.069548 / 365 * 1e4, abs=1e-4)
    # a put at K = 90 counts −1 under industry: the SPEC's sign +1 figures, negated
    put = chain({"type": "P", "strike": 90, "dte": 30, "iv": 0.2, "oi": 1})
    doc = compute_dealer_metrics(put, 100.0, DealerParams(), context())  # kapman: puts +1
    assert (doc.levels.vanna_exposure, doc.levels.charm_exposure) == (-63.25, 21.08)
    # the 8–30 bucket holds it all; the others are zeros
    assert [(b.vanna_exposure, b.charm_exposure) for b in doc.levels.gex_by_dte] == [
        (0, 0), (0, 0), (-63.25, 21.08), (0, 0), (0, 0), (0, 0)
    ]  # fmt: skip


def test_levels_count_every_open_contract_whatever_the_seed_thresholds():
    # the seed keeps only the first (OI ≥ 100, volume ≥ 1, DTE ≤ 90); §12.1 keeps all but the
    # zero-OI and the expired contract (DTE −1) and a malformed one (bid > ask)
    book = chain(
        {"type": "C", "strike": 100, "gamma": 0.05, "oi": 1000},
        {"type": "C", "strike": 110, "gamma": 0.04, "oi": 50, "volume": 0},  # thin: levels only
        {"type": "P", "strike": 90, "gamma": 0.03, "oi": 2000, "dte": 200},  # beyond 90 DTE: levels only
        {"type": "P", "strike": 95, "gamma": math.nan, "oi": 500},  # no gamma: out of walls and buckets
        {"type": "P", "strike": 80, "gamma": 0.02, "oi": 0},  # no open interest
        {"type": "C", "strike": 120, "gamma": 0.02, "dte": -1},  # expired
        {"type": "C", "strike": 130, "gamma": 0.02, "bid": 2.0, "ask": 1.0},  # malformed
    )
    doc = compute_dealer_metrics(book, 100.0, DealerParams(), context())
    assert doc.eligible_options_count == 1
    counts = doc.levels.levels_counts
    assert (counts.universe_contracts, counts.contracts_used, counts.left_out_no_iv) == (4, 4, 0)
    assert (counts.left_out_no_gamma, counts.left_out_no_delta) == (1, 4)
    # GEX at S = 100 is sign · |γ| · OI · 10,000: calls 100 → −500,000, 110 → −20,000; put 90 → +600,000
    assert (doc.levels.call_gex_wall, doc.levels.put_gex_wall) == (100.0, 90.0)
    assert [(b.gex_net, b.gex_total) for b in doc.levels.gex_by_dte] == [
        (0, 0), (0, 0), (-520_000.0, 520_000.0), (0, 0), (0, 0), (600_000.0, 600_000.0)
    ]  # fmt: skip
    assert doc.levels.zero_dte_share == 0.0


def test_levels_exist_even_when_nothing_passes_the_seed_filters():
    thin = chain({"type": "C", "strike": 100, "oi": 10}, {"type": "P", "strike": 95, "oi": 20, "gamma": 0.06})
    doc = compute_dealer_metrics(thin, 100.0, DealerParams(), context())
    assert doc.processing_status == "NO_ELIGIBLE_OPTIONS"
    assert doc.gex_net is None
    assert doc.levels.levels_counts.universe_contracts == 2
    assert doc.levels.gamma_at_spot is not None
    assert doc.levels.call_gex_wall == 100.0
    assert doc.positioning.call_resistance[0].strike == 100.0
    # without the seed's flip the flip-relative keys say so
    assert (doc.positioning.flip_status, doc.positioning.position_vs_flip) == ("none", "unknown")


def test_position_against_a_level_and_the_flip_band():
    # |S / level − 1| ≤ 0.005 is `at`: 100 / 100.5 − 1 = −0.004975; 100 / 99.4 − 1 = +0.006036
    assert position_vs(100.0, 100.5) == "at"
    assert position_vs(100.0, 99.4) == "above"
    assert position_vs(100.0, 100.7) == "below"
    assert position_vs(100.0, None) == "unknown"
    # |flip / S − 1| ≤ 0.15 is ok: 114 → 0.14, 86 → 0.14, 116 → 0.16
    assert (flip_status(100.0, 114.0), flip_status(100.0, 86.0), flip_status(100.0, 116.0)) == (
        "ok", "ok", "out_of_band"
    )  # fmt: skip
    assert flip_status(100.0, None) == "none"


def test_call_resistance_and_put_support_rank_by_gex_with_ties_to_spot_then_lower():
    # S = 100; |call GEX| = γ · OI · 10,000 with OI 1000: 100 → 300k, 102 → 500k, 98 (below S: not resistance)
    # → 900k, 104 → 500k (ties 102: 102 is nearer), 106 → 500k (ties, farther), 108 → gamma 0 (left out).
    # Puts: 100 → 200k, 96 → 400k, 99 → 200k (ties 100: 100 is nearer), 104 (above S: not support).
    book = chain(
        {"type": "C", "strike": 100, "gamma": 0.03},
        {"type": "C", "strike": 102, "gamma": 0.05},
        {"type": "C", "strike": 98, "gamma": 0.09},
        {"type": "C", "strike": 104, "gamma": 0.05},
        {"type": "C", "strike": 106, "gamma": 0.05},
        {"type": "C", "strike": 108, "gamma": 0.0},
        {"type": "P", "strike": 100, "gamma": 0.02},
        {"type": "P", "strike": 96, "gamma": 0.04},
        {"type": "P", "strike": 104, "gamma": 0.08},
        {"type": "P", "strike": 99, "gamma": 0.02},
    )
    positioning = compute_dealer_metrics(book, 100.0, DealerParams(), context()).positioning
    assert [(r.strike, r.gex, r.distance_pct) for r in positioning.call_resistance] == [
        (102.0, -500_000.0, 2.0), (104.0, -500_000.0, 4.0), (106.0, -500_000.0, 6.0)
    ]  # fmt: skip
    assert [(r.strike, r.gex, r.distance_pct) for r in positioning.put_support] == [
        (96.0, 400_000.0, -4.0), (100.0, 200_000.0, 0.0), (99.0, 200_000.0, -1.0)
    ]  # fmt: skip
    # a side without a strike is an empty list
    only_below = chain({"type": "C", "strike": 95, "gamma": 0.05})
    assert compute_dealer_metrics(only_below, 100.0, DealerParams(), context()).positioning.call_resistance == []


# ------------------------------------------------------------------ an oracle from the SPEC, plain loops


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def oracle(rows, spot, sign_name="kapman"):
    """§12.1 universe, §13.2 exposures per bucket and total, §13.1 positioning (without the flip)."""
    universe = [r for r in rows if r["oi"] > 0 and r["dte"] >= 0 and not r["bid"] > r["ask"]]
    vanna = charm = 0.0
    buckets_vanna, buckets_charm = defaultdict(float), defaultdict(float)
    bucket_gex = defaultdict(lambda: defaultdict(float))
    per_type = {"C": defaultdict(float), "P": defaultdict(float)}
    modelled = 0
    for r in universe:
        s = (1.0 if r["type"] == "C" else -1.0) * (1.0 if sign_name == "industry" else -1.0)
        dte = r["dte"]
        bucket = 0 if dte == 0 else 1 if dte <= 7 else 2 if dte <= 30 else 3 if dte <= 60 else 4 if dte <= 90 else 5
        if not math.isnan(r["gamma"]):
            g = s * abs(r["gamma"]) * r["oi"] * spot * spot * 0.01 * 100
            per_type[r["type"]][r["strike"]] += g
            bucket_gex[bucket][r["strike"]] += g
        iv = r["iv"]
        if not math.isnan(iv) and 0 < iv <= 5:
            modelled += 1
            t = max(dte / 365, 15 * 60 / (365 * 86400))
            d1 = (math.log(spot / r["strike"]) + iv * iv * t / 2) / (iv * math.sqrt(t))
            d2 = d1 - iv * math.sqrt(t)
            v = s * (-_phi(d1) * d2 / iv) * r["oi"] * 100 * spot * 0.01
            c = s * (_phi(d1) * d2 / (2 * t)) / 365 * r["oi"] * 100 * spot
            vanna += v
            charm += c
            buckets_vanna[bucket] += v
            buckets_charm[bucket] += c

    def ranked(kind, above):
        side = [(k, g) for k, g in per_type[kind].items() if (k >= spot if above else k <= spot) and g != 0]
        side.sort(key=lambda kg: (-abs(kg[1]), abs(kg[0] - spot), kg[0]))
        return [(k, g, (k - spot) / spot * 100) for k, g in side[:3]]

    gross = [sum(abs(g) for g in bucket_gex[b].values()) for b in range(6)]
    return {
        "vanna": vanna if modelled else None,
        "charm": charm if modelled else None,
        "buckets": [(sum(bucket_gex[b].values()), gross[b], buckets_vanna[b], buckets_charm[b]) for b in range(6)],
        "zero_dte_share": gross[0] / sum(gross) if sum(gross) else None,
        "resistance": ranked("C", True),
        "support": ranked("P", False),
        "universe": len(universe),
    }


def _random_rows(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(300):
        rows.append(
            {
                "type": str(rng.choice(["C", "P"])),
                "strike": float(rng.choice(np.arange(70, 131, 2.5))),
                "dte": int(rng.choice([-1, 0, 3, 10, 45, 75, 120, 400])),
                "iv": float(rng.choice([rng.uniform(0.1, 0.9), math.nan, 7.0], p=[0.85, 0.1, 0.05])),
                "oi": float(rng.choice([0, rng.integers(1, 50), rng.integers(100, 9000)])),
                "volume": float(rng.integers(0, 5)),
                "gamma": float(rng.choice([rng.uniform(-0.01, 0.09), math.nan], p=[0.9, 0.1])),
                "delta": math.nan,
                "bid": 1.0,
                "ask": float(rng.choice([1.05, 0.5], p=[0.95, 0.05])),
            }
        )
    return rows


@pytest.mark.parametrize(("seed", "sign"), [(11, "kapman"), (12, "industry"), (13, "kapman"), (14, "industry")])
def test_every_13_1_and_13_2_key_matches_the_oracle_on_random_chains(seed, sign):
    rows = _random_rows(seed)
    spot = 100.0 + seed / 7
    doc = compute_dealer_metrics(chain(*rows), spot, DealerParams(sign_convention=sign), context())
    expected = oracle(rows, spot, sign)
    levels, positioning = doc.levels, doc.positioning
    assert levels.levels_counts.universe_contracts == expected["universe"]
    assert close(levels.vanna_exposure, expected["vanna"], 2)
    assert close(levels.charm_exposure, expected["charm"], 2)
    for bucket, (net, gross, vanna, charm) in zip(levels.gex_by_dte, expected["buckets"], strict=True):
        assert close(bucket.gex_net, net, 2)
        assert close(bucket.gex_total, gross, 2)
        assert close(bucket.vanna_exposure, vanna, 2)
        assert close(bucket.charm_exposure, charm, 2)
    assert close(levels.zero_dte_share, expected["zero_dte_share"], 4)
    for written, (strike, gex, distance) in zip(positioning.call_resistance, expected["resistance"], strict=True):
        assert written.strike == strike
        assert close(written.gex, gex, 2)
        assert close(written.distance_pct, distance, 2)
    for written, (strike, gex, distance) in zip(positioning.put_support, expected["support"], strict=True):
        assert written.strike == strike
        assert close(written.gex, gex, 2)
        assert close(written.distance_pct, distance, 2)
    assert len(positioning.call_resistance) == len(expected["resistance"])
    assert len(positioning.put_support) == len(expected["support"])
    # §13.1 percentages from the unrounded levels (zero gamma and the flip have their own oracles)
    result = compute_dealer(chain(*rows), spot, DealerParams(sign_convention=sign))
    flip, z = result.gamma_flip, result.levels.zero_gamma
    assert z is not None
    assert len(expected["resistance"]) == len(expected["support"]) == 3  # not vacuous
    assert close(positioning.spot_vs_zero_gamma_pct, None if z is None else (spot - z) / z * 100, 2)
    assert close(positioning.spot_vs_flip_pct, None if flip is None else (spot - flip) / flip * 100, 2)
