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
import gzip
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import redact
from app.importers.cboe_format import CboeFileError, ReadCounts, read_contracts
from app.importers.load_summary import LoadSummary
from app.importers.option_merge import merge_contracts
from app.repositories.bulk import bulk_insert_ignore
from app.repositories.faults import describe, is_database_error
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


@dataclass(kw_only=True)
class CboeImportSummary(LoadSummary):
    symbol: str | None = None
    session: str | None = None
    snapshot_time: str | None = None
    restamped: bool = False
    lines: int = 0
    contracts: int = 0  # contracts read (two per accepted line)
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


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open(newline="", encoding="utf-8-sig")


def _group(
    contracts: Iterator[tuple[int, dict[str, Any]]], symbol: str | None, summary: CboeImportSummary
) -> tuple[str, dict[tuple[dt.date, float, str], list[tuple[int, dict[str, Any]]]]]:
    """Contracts by KapMan key (expiration, strike, type), for the underlying of the file."""
    groups: dict[tuple[dt.date, float, str], list[tuple[int, dict[str, Any]]]] = {}
    roots: Counter[str] = Counter()
    for line, contract in contracts:
        summary.contracts += 1
        roots[underlying_of(contract["root"])] += 1
        key = (contract["expiration_date"], contract["strike_price"], contract["option_type"])
        groups.setdefault(key, []).append((line, contract))
    if symbol is None:
        if not roots:
            raise CboeFileError("no option lines could be read")
        symbol = roots.most_common(1)[0][0]
    foreign_lines = set()
    for key, members in list(groups.items()):
        mine = [(line, c) for line, c in members if underlying_of(c["root"]) == symbol]
        for line, c in members:
            if underlying_of(c["root"]) != symbol and line not in foreign_lines:
                foreign_lines.add(line)
                summary.reject(line, f"root {c['root']} is not an option on {symbol}")
        if mine:
            groups[key] = mine
        else:
            del groups[key]
    return symbol, groups


def _rows(groups, summary: CboeImportSummary) -> Iterator[tuple[int, dict[str, Any]]]:
    """One row per key: roots merged (§8.1); a repeated line of one root is a duplicate, not a merge."""
    for members in groups.values():
        by_root: dict[str, tuple[int, dict[str, Any]]] = {}
        for line, contract in members:
            if contract["root"] in by_root:
                _, first = by_root[contract["root"]]
                if first != contract:
                    summary.conflicting_duplicates += 1
                    summary.reject(line, f"{contract['root']} contract repeated with other values")
                else:
                    summary.already_present += 1
                continue
            by_root[contract["root"]] = (line, contract)
        kept = list(by_root.values())
        if len(kept) == 1:
            yield kept[0]
            continue
        summary.merged_keys += 1
        contracts = [c for _, c in kept]
        pm = [i for i, c in enumerate(contracts) if c["root"] in PM_ROOTS]
        quotes_from = pm[0] if pm else max(range(len(contracts)), key=lambda i: contracts[i].get("open_interest") or 0)
        yield kept[0][0], merge_contracts(contracts, quotes_from)


def _write(session: Session, rows: list[tuple[int, dict[str, Any]]], summary: CboeImportSummary) -> None:
    outcome = insert_option_rows(session, [row for _, row in rows])
    summary.count_options(outcome, [line for line, _ in rows], "already stored with other values ({columns})")


def import_cboe_file(
    session_factory: sessionmaker[Session], path: Path, symbol: str | None = None, watchlist: str | None = None
) -> CboeImportSummary:
    summary = CboeImportSummary(path=str(path))
    counts = ReadCounts()
    try:
        if not path.is_file():
            raise CboeFileError(f"{path}: no such file")
        with _open(path) as handle:
            header, contracts = read_contracts(handle, counts)
            if header.downloaded is None:
                raise CboeFileError("no download time ('Date: …') in the header; the snapshot cannot be stamped")
            underlying, groups = _group(contracts, symbol.upper() if symbol else None, summary)
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
        rows = list(_rows(groups, summary))
        summary.rows = len(rows)
        with session_factory.begin() as session:
            ids, ambiguous = ensure_tickers(session, {underlying})
            if underlying in ambiguous:
                raise CboeFileError(
                    f"symbol {underlying} matches several tickers rows ({', '.join(ambiguous[underlying])})"
                )
            ticker_id = ids[underlying]
            if header.last is not None and header.last > 0:
                created = bulk_insert_ignore(
                    session, "ohlcv", {"ticker_id": [ticker_id], "date": [day], "close": [header.last]}
                )
                summary.ohlcv = "created" if created else "kept"
            else:
                log.warning("cboe_no_price", file=str(path), reason="no 'Last:' price in the header: no ohlcv bar")
            if watchlist:
                # insert-or-keep: an existing entry (even an inactive one) is the user's, not ours to change
                bulk_insert_ignore(
                    session,
                    "watchlists",
                    {
                        "watchlist_id": [watchlist],
                        "symbol": [underlying],
                        "active": [True],
                        "source": [WATCHLIST_SOURCE],
                        "effective_date": [day],
                    },
                )
                summary.watchlist = watchlist
            stamped = [(line, {**row, "time": stamp, "ticker_id": ticker_id}) for line, row in rows]
            for start in range(0, len(stamped), WRITE_BATCH):
                _write(session, stamped[start : start + WRITE_BATCH], summary)
    except (CboeFileError, OSError, UnicodeDecodeError) as error:
        summary.exit_code, summary.failure = 1, str(error)
    except Exception as error:
        if not is_database_error(error):
            raise
        summary.exit_code, summary.failure = 1, f"database error: {redact(describe(error))}"
    finally:
        summary.lines = counts.lines
        summary.nulled_ask, summary.nulled_iv = counts.nulled_ask, counts.nulled_iv
        for line, reason in counts.rejects:
            summary.reject(line, reason)
    if summary.failure:
        log.error("import_failed", kind="cboe", file=str(path), reason=summary.failure)
    log.info("cboe_import_finished", **{k: v for k, v in asdict(summary).items() if k != "rejects"})
    return summary


def run_cboe_import(
    session_factory: sessionmaker[Session], paths: list[Path], symbol: str | None = None, watchlist: str | None = None
) -> list[CboeImportSummary]:
    """Each file on its own (one snapshot each); a failed file does not stop the others."""
    return [import_cboe_file(session_factory, path, symbol, watchlist) for path in paths]
