#!/usr/bin/env bash
# Fresh machine → sample market in kapman.db → both jobs → summary table, charts in kapman-report/
# and a dashboard in kapman-dashboard/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
status=0
.venv/bin/kapman demo "$@" || status=$?
cat >&2 <<'HINT'

kapman is installed in .venv. To run it, either activate the environment:
    source .venv/bin/activate      # then: kapman show, kapman dashboard --out site, kapman --help
or call it by its path:
    .venv/bin/kapman show
HINT
exit "$status"
