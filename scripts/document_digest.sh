#!/usr/bin/env bash
# Every stored document of a reference dataset (a 12 x 30 sample market and the bundled real Cboe
# files, at default thresholds and with the liquidity filters opened), one per line in a canonical
# order. Diff the output of two commits to show a change left every document byte-identical.
#   usage: scripts/document_digest.sh OUT.jsonl [KAPMAN_EXECUTABLE]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "$1")"; kapman="${2:-.venv/bin/kapman}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
first_session() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT min(date) FROM ohlcv').fetchone()[0])" "$1"; }
build() {  # $1 = database file, remaining = dealer threshold flags
  local file="$1"; shift
  local q=(--db-url "sqlite:///$file" --log-level warning --log-format json)
  "$kapman" db upgrade "${q[@]}" || return 1
  "$kapman" sample-data --tickers 12 --days 30 "${q[@]}" || return 1
  "$kapman" run-daily --start-date "$(first_session "$file")" --end-date 2026-11-20 --watchlist sample "$@" "${q[@]}" || return 1
  "$kapman" import cboe tests/data/cboe/*.csv.gz --watchlist real "${q[@]}" || return 1
  for d in 2023-09-14 2024-03-22 2025-01-06; do
    "$kapman" run-daily --date "$d" --watchlist real "$@" "${q[@]}" || return 1
  done
}
# Every command ends in `|| return 1`: errexit does not apply inside a function called as `build || …`.
build "$work/default.db" >"$work/default.log" 2>&1 || { tail -20 "$work/default.log"; exit 1; }
build "$work/open.db" --min-open-interest 0 --min-volume 0 --max-spread-pct 1000 --max-dte-days 3650 \
  >"$work/open.log" 2>&1 || { tail -20 "$work/open.log"; exit 1; }
python3 - "$out" "$work/default.db" "$work/open.db" <<'PY'
import json, sqlite3, sys
count = 0
with open(sys.argv[1], "w") as fh:
    for path in sys.argv[2:]:
        for row in sqlite3.connect(path).execute(
            "SELECT t.symbol, s.time, s.dealer_metrics_json, s.volatility_metrics_json FROM daily_snapshots s "
            "JOIN tickers t ON t.id = s.ticker_id ORDER BY t.symbol, s.time"
        ):
            fh.write(json.dumps([path.rsplit("/", 1)[1], *row]) + "\n")
            count += 1
print(count, "documents rows written to", sys.argv[1])
PY
