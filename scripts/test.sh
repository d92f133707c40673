#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes .venv, installs fastzips3 with its test extra,
# then runs ruff, mypy --strict and pytest (unit, corpus, and integration against a local
# SeaweedFS server that the tests start and stop themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build_deps.sh
PY="${PYTHON:-python3}"
# A venv left half-made by an interrupted run (no pip in it) is made again.
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    rm -rf .venv
    "$PY" -m venv .venv
fi
# setuptools as pyproject's [build-system] wants it, so that setup.py also runs in the venv.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip "setuptools>=77"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".[test,all]"
echo "== ruff"
.venv/bin/ruff check src tests benchmarks scripts fuzz examples
.venv/bin/ruff format --check src tests benchmarks scripts fuzz examples
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
