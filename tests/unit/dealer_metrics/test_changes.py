"""SPEC §13.3: what changed since the previous dealer document, worked by hand."""

from __future__ import annotations

from app.domain.dealer import compute_dealer_metrics
from app.domain.models import DealerParams
from app.domain.previous import DealerSnapshot, PreviousDealer
from tests.unit.chains import chain, context

# S = 100: call GEX = −|γ| · OI · 10,000, put GEX = +|γ| · OI · 10,000 (kapman)
BOOK = chain(
    {"type": "C", "strike": 105, "gamma": 0.05, "oi": 1000},  # −500,000: the call wall
    {"type": "C", "strike": 110, "gamma": 0.02, "oi": 1000},
    {"type": "P", "strike": 95, "gamma": 0.03, "oi": 1000},  # +300,000: the put wall
)


def _document(previous: PreviousDealer | None, spot: float = 100.0):
    return compute_dealer_metrics(BOOK, spot, DealerParams(neutral_gex_threshold=0), context(), previous=previous)


def test_without_a_previous_document_every_change_is_null_and_says_why():
    doc = _document(None)
    assert all(value is None for key, value in doc.changes.model_dump().items() if key != "diagnostics")
    assert doc.changes.diagnostics == ["no_previous_document"]


def test_a_wall_that_moved_a_regime_that_changed_and_the_differences():
    today = _document(None)
    assert (today.levels.call_gex_wall, today.levels.put_gex_wall) == (105.0, 95.0)
    assert today.gex_net == -400_000.0
    assert today.position == "short_gamma"
    gamma_now = today.levels.gamma_at_spot
    assert gamma_now < 0  # puts far below, a large call near spot: dealers are short gamma at spot
    yesterday = DealerSnapshot(
        snapshot_date="2024-01-01",
        spot=98.0,
        gex_net=250_000.0,
        gamma_at_spot=1_000.0,
        zero_gamma=99.0,
        call_gex_wall=110.0,
        put_gex_wall=95.0,
        position="long_gamma",
    )
    doc = _document(PreviousDealer(yesterday, sessions_apart=1))
    changes = doc.changes
    assert (changes.previous_snapshot_date, changes.sessions_apart) == ("2024-01-01", 1)
    assert changes.spot_change_pct == round((100 - 98) / 98 * 100, 2) == 2.04
    assert changes.gex_net_change == -650_000.0
    assert changes.gamma_at_spot_change == round(gamma_now - 1_000.0, 2)
    assert (changes.call_gex_wall_previous, changes.put_gex_wall_previous) == (110.0, 95.0)
    assert (changes.call_gex_wall_moved, changes.put_gex_wall_moved) == (True, False)
    assert (changes.position_changed, changes.regime_changed) == (True, True)
    zero = doc.levels.zero_gamma
    expected = None if zero is None else round((zero - 99.0) / 100 * 100, 2)
    assert changes.zero_gamma_change_pct == expected
    assert doc.changes.diagnostics == []


def test_same_position_and_regime_are_false_and_unknown_or_zero_is_null():
    same = DealerSnapshot(snapshot_date="2024-01-01", spot=100.0, gamma_at_spot=-5.0, position="short_gamma")
    changes = _document(PreviousDealer(same, 3)).changes
    assert (changes.position_changed, changes.regime_changed, changes.sessions_apart) == (False, False, 3)
    assert changes.spot_change_pct == 0.0
    assert changes.gex_net_change is None  # no previous gex_net
    unknown = DealerSnapshot(snapshot_date="2024-01-01", gamma_at_spot=0.0, position="unknown")
    changes = _document(PreviousDealer(unknown, 1)).changes
    assert (changes.position_changed, changes.regime_changed, changes.spot_change_pct) == (None, None, None)


def test_a_document_of_an_older_version_without_the_new_keys_counts_them_as_null():
    older = {  # a seed-era document: no levels, no positioning, no changes
        "status": "FULL",
        "position": "long_gamma",
        "spot_price": 101.0,
        "gex_net": 1_000_000.0,
        "metadata": {"snapshot_date": "2023-12-29"},
    }
    snapshot = DealerSnapshot.from_document(older)
    assert snapshot == DealerSnapshot("2023-12-29", 101.0, 1_000_000.0, None, None, None, None, "long_gamma")
    changes = _document(PreviousDealer(snapshot, 2)).changes
    assert changes.gex_net_change == -1_400_000.0
    assert changes.position_changed is True
    assert changes.spot_change_pct == round(-1 / 101 * 100, 2)
    assert (changes.zero_gamma_change_pct, changes.gamma_at_spot_change, changes.regime_changed) == (None, None, None)
    assert (changes.call_gex_wall_previous, changes.call_gex_wall_moved) == (None, None)


def test_a_document_without_a_spot_still_reports_the_previous_date():
    previous = PreviousDealer(DealerSnapshot(snapshot_date="2024-01-01", spot=99.0, position="long_gamma"), 1)
    doc = compute_dealer_metrics(BOOK, None, DealerParams(), context(), previous=previous)
    assert doc.processing_status == "MISSING_SPOT"
    assert doc.changes.previous_snapshot_date == "2024-01-01"
    assert doc.changes.spot_change_pct is None
    assert doc.changes.position_changed is None  # this document's position is unknown
