"""Stored documents read back through the document models: older versions and unreadable ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from app.reporting.dashboard import _cells
from app.reporting.show import _row
from app.reporting.stored import read_dealer, read_volatility

STORED = json.loads((Path(__file__).parents[1] / "data" / "stored_documents.json").read_text())
NEW_METRICS = ("atm_iv_30d", "atm_iv_90d", "atm_term_structure", "rr25_30d", "iv30_rank", "iv30_percentile")


def _old() -> tuple[dict, dict]:
    """The same documents as a version before SPEC §12.1/§12.2/§13 wrote them: those keys absent."""
    dealer, vol = copy.deepcopy(STORED["dealer"]), copy.deepcopy(STORED["volatility"])
    del dealer["levels"], dealer["positioning"], dealer["changes"]
    del vol["realized"], vol["expected_move"]
    for key in NEW_METRICS:
        del vol["metrics"][key]
    return dealer, vol


def test_a_current_document_reads_every_key():
    dealer, vol = read_dealer(STORED["dealer"]), read_volatility(STORED["volatility"])
    assert dealer is not None
    assert vol is not None
    assert dealer.model_dump(mode="json") == STORED["dealer"]
    assert vol.model_dump(mode="json") == STORED["volatility"]


def test_an_older_document_reads_with_the_newer_keys_null():
    dealer_json, vol_json = _old()
    dealer, vol = read_dealer(dealer_json), read_volatility(vol_json)
    assert dealer is not None
    assert vol is not None
    assert (dealer.levels, dealer.positioning, dealer.changes) == (None, None, None)
    assert (vol.realized, vol.expected_move) == (None, None)
    assert all(getattr(vol.metrics, key) is None for key in NEW_METRICS)
    assert dealer.gex_net == STORED["dealer"]["gex_net"]  # the seed keys are read as they are
    assert vol.metrics.iv_rank == STORED["volatility"]["metrics"]["iv_rank"]


def test_show_reads_an_older_document_with_empty_newer_columns():
    row = _row("GAPPY", *_old())
    assert row.gex_net == STORED["dealer"]["gex_net"]
    assert row.average_iv == STORED["volatility"]["metrics"]["average_iv"]
    newer = ("zero_gamma", "vs_zero_gamma", "call_resistance", "changed", "atm_iv_30d", "iv_hv_ratio", "move_pct")
    assert all(getattr(row, column) is None for column in newer)
    assert row.note is None


def test_show_reads_a_current_document_through_the_models():
    row = _row("GAPPY", STORED["dealer"], STORED["volatility"])
    assert row.zero_gamma == STORED["dealer"]["levels"]["zero_gamma"]
    assert row.call_resistance == STORED["dealer"]["positioning"]["call_resistance"][0]["strike"]
    assert row.move_pct == STORED["volatility"]["expected_move"]["front"]["straddle_pct"]
    assert row.iv30_rank == STORED["volatility"]["metrics"]["iv30_rank"]


def test_an_unreadable_document_is_absent_with_a_note():
    dealer_json = {**STORED["dealer"], "gex_net": "a lot"}
    vol_json = {**STORED["volatility"], "metrics": ["not", "an", "object"]}
    assert read_dealer(dealer_json) is None
    assert read_volatility(vol_json) is None
    assert read_dealer({"status": "OK"}) is None  # a seed key missing is not an older version: unreadable
    row = _row("GAPPY", dealer_json, vol_json)
    assert row.gex_net is None
    assert row.average_iv is None
    assert row.note == "dealer document unreadable; volatility document unreadable"
    assert _row("GAPPY", None, None).note == "no dealer document; no volatility document"


def test_dashboard_cells_say_n_a_for_what_an_older_or_unreadable_document_lacks():
    dealer_json, vol_json = _old()
    old = _cells(read_dealer(dealer_json), read_volatility(vol_json))
    assert old["zero_gamma"][0] == "n/a"
    assert old["iv30"][0] == "n/a"
    assert old["changes"][0] == "n/a"
    assert old["status"][0] == STORED["dealer"]["status"]
    garbage = _cells(read_dealer({**STORED["dealer"], "status": 7}), None)
    assert garbage["status"][0] == "n/a"
    assert garbage["spot"][0] == "n/a"
