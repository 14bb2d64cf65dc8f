"""`kapman import cboe FILE...`: load Cboe option-chain downloads (SPEC §8.1).

Per file: the underlying (from --symbol, or from the option symbols' roots), a
tickers row if it has none, an ohlcv bar for the quote's session with close =
the "Last:" price (an existing bar is kept), and the options snapshot stamped at
the download time in New York — or, for a download made on a day without a
session or before the 9:30 open, at 16:15 New York of the last session, whose
closing quotes it holds. Roots that share the KapMan key (SPX and SPXW on a third
Friday, NDX and NDXP) are merged by the §8.1 rule. Nothing is dropped silently:
malformed lines, foreign roots and conflicting duplicates are rejected with
their line numbers, and every count is reported.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.batch.interrupts import StopRequest
from app.importers.cboe_format import CboeFileError, CboeHeader, ReadCounts, read_contracts
from app.importers.file_load import check_stop, load_file
from app.importers.load_summary import LoadSummary
from app.importers.option_merge import merge_contracts
from app.importers.source import DamagedFile, LineSource
from app.repositories.bulk import bulk_insert_ignore
from app.repositories.options import insert_option_rows
from app.repositories.tickers import ensure_tickers
from app.time import NEW_YORK, is_session, previous_sessions

log = structlog.get_logger()

# Roots of PM-settled (weekly, end-of-month, quarterly) series listed beside an index's own root.
PM_ROOTS = {
    "SPXW": "SPX", "SPXPM": "SPX", "SPXQ": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT", "RUTQ": "RUT",
    "VIXW": "VIX",
    "DJXW": "DJX",
}  # fmt: skip
MARKET_OPEN = dt.time(9, 30)
RESTAMP_TIME = dt.time(16, 15)
WRITE_BATCH = 5000
WATCHLIST_SOURCE = "cboe-import"
Key = tuple[dt.date, float, str]
Groups = dict[Key, dict[str, tuple[int, dict[str, Any]]]]  # per key, per root: (line, contract)


@dataclass(kw_only=True)
class CboeImportSummary(LoadSummary):
    symbol: str | None = None
    session: str | None = None
    snapshot_time: str | None = None
    restamped: bool = False
    lines: int = 0
    contracts: int = 0  # contracts read (two per line, rejected lines included)
    nulled_ask: int = 0
    nulled_iv: int = 0
    rows: int = 0  # option rows after merging
    ohlcv: str | None = None  # "created", "kept" or None (no price in the header)
    watchlist: str | None = None  # the watchlist the underlying was put on (--watchlist)


def snapshot_stamp(downloaded: dt.datetime) -> tuple[dt.date, dt.datetime, bool]:
    """(session, snapshot time in UTC, whether it was re-stamped) of a download.

    A download during or after a session's trading hours is that session's snapshot, at its
    own time. One made on a day without a session, or before the open, holds the last
    session's closing quotes: it is stamped 16:15 New York on that session."""
    local = downloaded.astimezone(NEW_YORK)
    day = local.date()
    if is_session(day) and local.time() >= MARKET_OPEN:
        return day, downloaded.astimezone(dt.UTC), False
    (last,) = previous_sessions(day - dt.timedelta(days=1), 1)
    stamp = dt.datetime.combine(last, RESTAMP_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)
    return last, stamp, True


def underlying_of(root: str) -> str:
    return PM_ROOTS.get(root, root)


def _group(
    contracts: Iterator[tuple[int, dict[str, Any]]],
    symbol: str | None,
    summary: CboeImportSummary,
    stop: StopRequest | None,
) -> tuple[str, dict[Key, dict[str, tuple[int, dict[str, Any]]]]]:
    """Contracts by KapMan key (expiration, strike, type) and root, for the underlying of the file.
    A repeated line of one root is counted at once (already present, or conflicting), never kept:
    memory holds each contract once, however often a file repeats it."""
    groups: dict[Key, dict[str, tuple[int, dict[str, Any]]]] = {}
    roots: Counter[str] = Counter()
    for line, contract in contracts:
        if line % 10_000 == 0:
            check_stop(stop)
        roots[underlying_of(contract["root"])] += 1
        key = (contract["expiration_date"], contract["strike_price"], contract["option_type"])
        members = groups.setdefault(key, {})
        first = members.setdefault(contract["root"], (line, contract))
        if first[0] == line:
            continue
        if first[1] != contract:
            summary.reject(line, f"{contract['root']} contract repeated with other values", "conflicting_duplicate")
        else:
            summary.already_present += 1
    if symbol is None:
        symbol = _most_common_underlying(roots)
    _drop_foreign_roots(groups, symbol, summary)
    return symbol, groups


def _most_common_underlying(roots: Counter[str]) -> str:
    if not roots:
        raise CboeFileError("no option lines could be read")
    return roots.most_common(1)[0][0]


def _drop_foreign_roots(
    groups: dict[Key, dict[str, tuple[int, dict[str, Any]]]], symbol: str, summary: CboeImportSummary
) -> None:
    """Rejects (and removes) the contracts whose root is not an option on `symbol`."""
    for key, members in list(groups.items()):
        for root, (line, _) in list(members.items()):
            if underlying_of(root) != symbol:
                summary.reject(line, f"root {root} is not an option on {symbol}", "foreign_root")
                del members[root]
        if not members:
            del groups[key]


def _rows(groups: Groups, summary: CboeImportSummary) -> Iterator[tuple[int, dict[str, Any]]]:
    """One row per key: the roots of one key merged (§8.1)."""
    for members in groups.values():
        kept = list(members.values())
        if len(kept) == 1:
            yield kept[0]
            continue
        summary.merged_keys += 1
        summary.merged += len(kept) - 1
        contracts = [c for _, c in kept]
        pm = [i for i, c in enumerate(contracts) if c["root"] in PM_ROOTS]
        quotes_from = pm[0] if pm else max(range(len(contracts)), key=lambda i: contracts[i].get("open_interest") or 0)
        yield kept[0][0], merge_contracts(contracts, quotes_from)


def _write(session: Session, rows: list[tuple[int, dict[str, Any]]], summary: CboeImportSummary) -> None:
    outcome = insert_option_rows(session, [row for _, row in rows])
    summary.count_insert(outcome, [line for line, _ in rows], "already stored with other values ({columns})")


def _read(
    path: Path, symbol: str | None, summary: CboeImportSummary, counts: ReadCounts, stop: StopRequest | None
) -> tuple[CboeHeader, str, Groups]:
    """The header and the grouped contracts of a whole, undamaged download."""
    source = LineSource(path)
    try:
        header, contracts = read_contracts(iter(source), counts)
        underlying, groups = _group(contracts, symbol, summary, stop)
    finally:
        summary.lines = counts.lines
        summary.rows_read = 2 * counts.lines  # a line holds a call and a put
        for line, reason, code in counts.rejects:
            summary.reject(line, reason, code, rows=2)
    if counts.short_line is not None or not source.ended_cleanly:
        where = counts.short_line or source.line
        raise DamagedFile(
            f"{path}: the last line ({where}) is cut short (a download always ends its last line): "
            "the file ends early; nothing of this file was loaded"
        )
    if header.downloaded is None:
        raise CboeFileError("no download time ('Date: …') in the header; the snapshot cannot be stamped")
    return header, underlying, groups


def _stamp(path: Path, header: CboeHeader, summary: CboeImportSummary, underlying: str) -> tuple[dt.date, dt.datetime]:
    assert header.downloaded is not None
    day, stamp, restamped = snapshot_stamp(header.downloaded)
    summary.symbol, summary.session, summary.snapshot_time = underlying, day.isoformat(), stamp.isoformat()
    summary.restamped = restamped
    if restamped:
        log.info(
            "cboe_restamped",
            file=str(path),
            downloaded=header.downloaded.isoformat(),
            session=day.isoformat(),
            snapshot_time=stamp.isoformat(),
            reason="downloaded outside a session's trading hours: it holds the last session's closing quotes",
        )
    return day, stamp


def _bar_and_watchlist(
    session: Session, path: Path, header: CboeHeader, ticker_id: Any, day: dt.date, summary: CboeImportSummary
) -> None:
    if header.last is not None and header.last > 0:
        created = bulk_insert_ignore(
            session, "ohlcv", {"ticker_id": [ticker_id], "date": [day], "close": [header.last]}
        )
        summary.ohlcv = "created" if created else "kept"
    else:
        log.warning("cboe_no_price", file=str(path), reason="no 'Last:' price in the header: no ohlcv bar")
    if summary.watchlist:
        # insert-or-keep: an existing entry (even an inactive one) is the user's, not ours to change
        bulk_insert_ignore(
            session,
            "watchlists",
            {
                "watchlist_id": [summary.watchlist],
                "symbol": [summary.symbol],
                "active": [True],
                "source": [WATCHLIST_SOURCE],
                "effective_date": [day],
            },
        )


def import_cboe_file(
    session_factory: sessionmaker[Session],
    path: Path,
    symbol: str | None = None,
    watchlist: str | None = None,
    stop: StopRequest | None = None,
) -> CboeImportSummary:
    summary = CboeImportSummary(path=str(path), watchlist=watchlist)
    counts = ReadCounts()

    def load(session: Session) -> None:
        if not path.is_file():
            raise CboeFileError(f"{path}: no such file")
        header, underlying, groups = _read(path, symbol.upper() if symbol else None, summary, counts, stop)
        day, stamp = _stamp(path, header, summary, underlying)
        ids, ambiguous = ensure_tickers(session, {underlying})
        if underlying in ambiguous:
            raise CboeFileError(
                f"symbol {underlying} matches several tickers rows ({', '.join(ambiguous[underlying])})"
            )
        _bar_and_watchlist(session, path, header, ids[underlying], day, summary)
        batch: list[tuple[int, dict[str, Any]]] = []
        for line, row in _rows(groups, summary):
            summary.rows += 1
            batch.append((line, {**row, "time": stamp, "ticker_id": ids[underlying]}))
            if len(batch) >= WRITE_BATCH:
                check_stop(stop)
                _write(session, batch, summary)
                batch = []
        _write(session, batch, summary)

    load_file(session_factory, summary, load, kind="cboe", stop=stop)
    summary.nulled_ask, summary.nulled_iv = counts.nulled_ask, counts.nulled_iv
    summary.contracts = summary.rows_read
    details = {k: v for k, v in asdict(summary).items() if k not in ("rejects", "reasons", "path", *summary.counts())}
    summary.log_end("cboe_import_finished", kind="cboe", **details)
    return summary


def run_cboe_import(
    session_factory: sessionmaker[Session],
    paths: list[Path],
    symbol: str | None = None,
    watchlist: str | None = None,
    stop: StopRequest | None = None,
) -> list[CboeImportSummary]:
    """Each file on its own (one snapshot, one transaction); a failed file does not stop the others,
    an interrupt stops at the file in flight (rolled back)."""
    summaries = []
    for path in paths:
        summaries.append(import_cboe_file(session_factory, path, symbol, watchlist, stop))
        if stop is not None and stop.requested:
            break
    return summaries
