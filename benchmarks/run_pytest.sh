#!/usr/bin/env bash
# The pytest-benchmark suite against stdlib zipfile, then its markdown tables.
#
#   benchmarks/run_pytest.sh            local files, full scale (1 GiB members, 100,000 entries):
#                                       benchmarks/results/pytest-local.{json,md} and README.md
#   benchmarks/run_pytest.sh s3         the S3 cases on a local SeaweedFS, small scale:
#                                       benchmarks/results/pytest-s3.{json,md} (not the README)
#   benchmarks/run_pytest.sh all        both
#
# FASTZIPS3_BENCH_SCALE (full/small) and FASTZIPS3_BENCH_ROUNDS override the defaults; extra
# arguments after the first go to pytest (e.g. -k deflate).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-local}"
shift || true
PY=.venv/bin/python
mkdir -p benchmarks/results

run() {  # run <name> <scale> <test file> [pytest args...]
    local name="$1" scale="$2" file="$3"
    shift 3
    FASTZIPS3_BENCH_SCALE="${FASTZIPS3_BENCH_SCALE:-$scale}" "$PY" -m pytest "$file" \
        -p no:cacheprovider -q --benchmark-disable-gc \
        --benchmark-columns=median,min,max,rounds --benchmark-sort=min \
        --benchmark-json="benchmarks/results/pytest-$name.json" "$@"
}

case "$what" in
    local | all)
        run local full benchmarks/test_local.py "$@"
        "$PY" -m benchmarks.render benchmarks/results/pytest-local.json \
            --out benchmarks/results/pytest-local.md --readme README.md \
            --title "pytest-benchmark: fastzips3 vs zipfile, local files"
        ;;&
    s3 | all)
        run s3 small benchmarks/test_s3.py "$@"
        "$PY" -m benchmarks.render benchmarks/results/pytest-s3.json \
            --out benchmarks/results/pytest-s3.md \
            --title "pytest-benchmark: fastzips3 vs zipfile over S3 (local SeaweedFS)"
        ;;
    local) ;;
    *)
        echo "usage: $0 [local|s3|all] [pytest args...]" >&2
        exit 2
        ;;
esac
