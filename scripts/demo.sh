#!/usr/bin/env bash
# Fresh machine → sample market in kapman.db → both jobs → summary table and charts in kapman-report/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kapman demo "$@"
