#!/usr/bin/env bash
# Fresh machine → the tests on SQLite and PostgreSQL (an embedded server unless
# KAPMAN_TEST_DATABASE_URL is set).
#   bash scripts/test.sh [pytest args]        everything, with coverage of app/ (>= 80%), as CI runs it
#   bash scripts/test.sh unit|integration|realdata|browser [pytest args]
#                                             one lane (pytest marker), without the coverage gate
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
case "${1:-}" in
  unit|integration|realdata|browser)
    lane="$1"; shift
    exec .venv/bin/python -m pytest -m "$lane" "$@" ;;
esac
exec .venv/bin/python -m pytest --cov=app --cov-report=term "$@"
