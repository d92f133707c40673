#!/usr/bin/env bash
# The system packages fastzips3's build and tests need, installed when missing:
# ISA-L's headers and library (the compiled core links it), pkg-config to find it, a C compiler,
# and the archive tools the tests check written archives with (unzip, 7z, bsdtar).
# Debian/Ubuntu (apt-get, as root or through sudo) and macOS (Homebrew); elsewhere it says what
# to install. Pass --build-only to skip the archive tools, or --wheel for what ci/wheel_check.sh
# also needs to build ISA-L from source (nasm, autoconf, automake, libtool).
set -euo pipefail
want_tools=1
want_wheel=0
[ "${1:-}" = "--build-only" ] && want_tools=0
[ "${1:-}" = "--wheel" ] && want_wheel=1

have_isal() {
    [ -f /usr/include/isa-l.h ] || [ -f /usr/local/include/isa-l.h ] \
        || [ -f /opt/homebrew/include/isa-l.h ] || [ -n "${FASTZIPS3_ISAL_PREFIX:-}" ] \
        || { command -v pkg-config >/dev/null && pkg-config --exists libisal; }
}

missing=()
have_isal || missing+=(libisal-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v cc >/dev/null || missing+=(gcc)
[ -f /usr/include/zlib.h ] || [ "$(uname)" = Darwin ] || missing+=(zlib1g-dev)
if [ "$want_tools" = 1 ]; then
    command -v unzip >/dev/null || missing+=(unzip)
    command -v 7z >/dev/null || missing+=(p7zip-full)
    command -v bsdtar >/dev/null || missing+=(libarchive-tools)
fi
if [ "$want_wheel" = 1 ]; then
    command -v nasm >/dev/null || [ "$(uname -m)" != x86_64 ] || missing+=(nasm)
    command -v autoconf >/dev/null || missing+=(autoconf)
    command -v automake >/dev/null || missing+=(automake)
    command -v libtoolize >/dev/null || command -v glibtoolize >/dev/null || missing+=(libtool)
    command -v make >/dev/null || missing+=(make)
    python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "== installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v brew >/dev/null; then
    brew install isa-l pkg-config p7zip libarchive
    [ "$want_wheel" = 0 ] || brew install nasm autoconf automake libtool
else
    echo "fastzips3: please install ISA-L's development files (isa-l / libisal-dev), pkg-config," >&2
    echo "zlib's headers, and unzip, 7z and bsdtar; missing here: ${missing[*]}" >&2
    exit 1
fi
