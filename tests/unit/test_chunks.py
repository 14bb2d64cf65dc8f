"""Chunks close at a number of tickers or of contracts, whichever comes first (SPEC §11)."""

import uuid

from app.batch.chunks import pack_chunks
from app.repositories.universe import TickerRef

REFS = [TickerRef(f"T{i}", uuid.UUID(int=i)) for i in range(6)]


def sizes(chunks):
    return [[r.symbol for r in chunk] for chunk in chunks]


def test_a_chunk_closes_at_the_contract_budget():
    contracts = {r.ticker_id: 400 for r in REFS}
    # 400 + 400 fits 1,000, a third would make 1,200
    assert sizes(pack_chunks(REFS, contracts, max_tickers=100, max_contracts=1000)) == [
        ["T0", "T1"],
        ["T2", "T3"],
        ["T4", "T5"],
    ]


def test_a_chunk_closes_at_the_ticker_limit_and_tickers_without_options_cost_nothing():
    assert sizes(pack_chunks(REFS, {}, max_tickers=4, max_contracts=10)) == [["T0", "T1", "T2", "T3"], ["T4", "T5"]]


def test_a_chain_larger_than_the_budget_gets_a_chunk_of_its_own():
    contracts = {REFS[0].ticker_id: 5, REFS[1].ticker_id: 20_000, REFS[2].ticker_id: 5}
    assert sizes(pack_chunks(REFS[:3], contracts, max_tickers=100, max_contracts=1000)) == [["T0"], ["T1"], ["T2"]]


def test_the_first_chunk_may_close_earlier_and_the_rest_at_the_budget():
    contracts = {r.ticker_id: 400 for r in REFS}
    packed = pack_chunks(REFS, contracts, max_tickers=100, max_contracts=1000, first_contracts=500)
    assert sizes(packed) == [["T0"], ["T1", "T2"], ["T3", "T4"], ["T5"]]  # 400 fits 500, 800 would not
