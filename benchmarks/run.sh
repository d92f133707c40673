#!/usr/bin/env bash
# The benchmark harness from a fresh clone: makes .venv if there is none, installs fastzips3 with
# its test and bench extras (SeaweedFS, boto3, and the peers: s3fs, smart_open, remotezip), then runs
# `python -m benchmarks.run` with the arguments given (e.g. --quick, --runs 5, --only wan).
# Results: benchmarks/results/latest.{md,json,png} (quick.* with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# The peers come from the "bench" extra; scripts/constraints.txt pins what was measured.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -c scripts/constraints.txt -e ".[test,all,bench]"
exec .venv/bin/python -m benchmarks.run "$@"
