#!/usr/bin/env bash
# Fresh machine → every test on SQLite and PostgreSQL (an embedded server unless
# KAPMAN_TEST_DATABASE_URL is set), with coverage of app/ (at least 80%).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest --cov=app --cov-report=term "$@"
