#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its test tools, at the versions of
# constraints.txt (refresh them with scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/kapman ]; then
  echo "Installing kapman and its dependencies into .venv (the first time takes a couple of minutes)..." >&2
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
