#!/usr/bin/env bash
# Refresh constraints.txt: the newest versions the ranges in pyproject.toml allow, resolved in a
# throwaway virtual environment. Run it, run the tests, commit both files together.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet -e ".[test]"
{
  echo "# Exact versions for CI and scripts/setup.sh; refresh with: bash scripts/lock.sh"
  "$work/venv/bin/python" -m pip freeze --exclude-editable | grep -iv '^kapman-metrics'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
