#!/usr/bin/env bash
# Build a pinned ISA-L release from source into a prefix, as a static library compiled with
# -fPIC, so that setup.py links it into fastzips3._core (FASTZIPS3_ISAL_PREFIX=<prefix>).
#
# This is cibuildwheel's `before-all` on Linux (manylinux_2_28 and musllinux_1_2, x86_64 and
# aarch64) and macOS (x86_64, arm64); ci/build_isal.ps1 is the Windows variant. ci/wheel_check.sh
# runs it here, on Debian x86_64, which is the only place it has been run: the manylinux,
# musllinux and macOS branches below follow ISA-L's documented autotools build
# (./autogen.sh && ./configure && make && make install) but cannot be tried on this machine
# (no container registry, no macOS).
#
# Usage: ci/build_isal.sh [PREFIX]        PREFIX defaults to $FASTZIPS3_ISAL_PREFIX, else /tmp/isal
# Environment:
#   ISAL_TARBALL=path   use this local copy of the pinned tarball instead of downloading it
#                       (its sha256 is checked all the same)
#   ISAL_URL, ISAL_SHA256, ISAL_VERSION   override the pin (all three together)
#
# The pin: ISA-L 2.30.0, as Debian ships it (the upstream release, repacked as .tar.xz), whose
# sha256 was checked here against Debian's signed Sources index (`apt-get source libisal`).
# Moving to a newer release (2.31.x improves aarch64 and Apple silicon) means changing all three
# values below together, with a sha256 computed from a trusted download.
set -euo pipefail

ISAL_VERSION="${ISAL_VERSION:-2.30.0}"
ISAL_URL="${ISAL_URL:-https://deb.debian.org/debian/pool/main/libi/libisal/libisal_2.30.0.orig.tar.xz}"
ISAL_SHA256="${ISAL_SHA256:-f363f1be3d657d5676cef5253ee2233e60116e2fa9c9de86881185bf81e0e4b8}"
# nasm older than 2.13 builds a library without the AVX-512 code paths, or fails (isa-l #77).
NASM_MIN="2.13"

PREFIX="${1:-${FASTZIPS3_ISAL_PREFIX:-/tmp/isal}}"
OS="$(uname -s)"
CPU="$(uname -m)"
JOBS="$(getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)"

say() { echo "== build_isal: $*"; }
die() { echo "build_isal: $*" >&2; exit 1; }

if [ -f "$PREFIX/lib/libisal.a" ] && [ -f "$PREFIX/include/isa-l.h" ] \
    && [ -f "$PREFIX/.fastzips3-isal-$ISAL_SHA256" ]; then
    say "ISA-L $ISAL_VERSION already built in $PREFIX"
    exit 0
fi

# --- build tools ---------------------------------------------------------------------------
install_tools() {
    # Only what is missing; each branch is the package manager of one cibuildwheel image.
    local pkgs=("$@")
    [ ${#pkgs[@]} -eq 0 ] && return 0
    say "installing ${pkgs[*]}"
    if command -v dnf >/dev/null; then            # manylinux_2_28 (AlmaLinux 8): nasm 2.15
        dnf install -y "${pkgs[@]}"
    elif command -v yum >/dev/null; then          # manylinux2014 (CentOS 7): nasm 2.10, too old
        yum install -y "${pkgs[@]}"
    elif command -v apk >/dev/null; then          # musllinux_1_2 (Alpine)
        apk add --no-cache "${pkgs[@]}"
    elif command -v apt-get >/dev/null; then      # Debian/Ubuntu (here)
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
    elif command -v brew >/dev/null; then         # macOS runners
        brew install "${pkgs[@]}"
    else
        die "please install: ${pkgs[*]}"
    fi
}

need=()
command -v autoconf >/dev/null || need+=(autoconf)
command -v automake >/dev/null || need+=(automake)
if [ "$OS" = Darwin ]; then
    command -v glibtoolize >/dev/null || need+=(libtool)
else
    command -v libtoolize >/dev/null || need+=(libtool)
    command -v make >/dev/null || need+=(make)
fi
case "$CPU" in
    x86_64|amd64) command -v nasm >/dev/null || need+=(nasm) ;;
esac
install_tools "${need[@]+"${need[@]}"}"

case "$CPU" in
    x86_64|amd64)
        nasm_version="$(nasm -v | sed -n 's/^NASM version \([0-9][0-9.]*\).*/\1/p')"
        lowest="$(printf '%s\n%s\n' "$NASM_MIN" "$nasm_version" | sort -V | head -n1)"
        [ "$lowest" = "$NASM_MIN" ] \
            || die "nasm $nasm_version is older than $NASM_MIN; ISA-L needs a newer one (isa-l #77)"
        say "nasm $nasm_version"
        ;;
esac

# --- the source ------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/fastzips3-isal.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$work/isa-l.tar"
if [ -n "${ISAL_TARBALL:-}" ]; then
    cp "$ISAL_TARBALL" "$tarball"
else
    say "downloading $ISAL_URL"
    if command -v curl >/dev/null; then
        curl -fsSL --retry 3 -o "$tarball" "$ISAL_URL"
    elif command -v wget >/dev/null; then
        wget -q -O "$tarball" "$ISAL_URL"
    else
        python3 -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
            "$ISAL_URL" "$tarball"
    fi
fi
if command -v sha256sum >/dev/null; then
    actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
else
    actual="$(shasum -a 256 "$tarball" | cut -d' ' -f1)"             # macOS
fi
[ "$actual" = "$ISAL_SHA256" ] || die "sha256 mismatch: expected $ISAL_SHA256, got $actual"
say "sha256 ok ($ISAL_VERSION)"
mkdir "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1

# --- build -----------------------------------------------------------------------------------
cd "$work/src"
say "configure (static, -fPIC) into $PREFIX"
./autogen.sh >/dev/null 2>&1 || ./autogen.sh
./configure --prefix="$PREFIX" --libdir="$PREFIX/lib" --with-pic --enable-static \
    --disable-shared --quiet
make -j"$JOBS" >/dev/null
make install >/dev/null
rm -f "$PREFIX"/lib/libisal.la

# --- check that the optimised code paths are in the library --------------------------------
# A library built from ISA-L's plain-C "base" functions works but is ~5x slower (python-isal
# #254: a macOS arm64 wheel shipped exactly that). Look for one hand-written inflate kernel.
case "$CPU" in
    x86_64|amd64) kernel="decode_huffman_code_block_stateless_04" ;;
    aarch64|arm64) kernel="decode_huffman_code_block_stateless_aarch64" ;;
    *) kernel="" ;;
esac
if [ -n "$kernel" ]; then
    # (grep the whole listing: `nm | grep -q` fails under pipefail when grep exits first)
    symbols="$(nm "$PREFIX/lib/libisal.a" 2>/dev/null || true)"
    grep -q "$kernel" <<<"$symbols" \
        || die "$PREFIX/lib/libisal.a lacks $kernel: the optimised code paths were not built"
    say "optimised kernel present: $kernel"
fi
touch "$PREFIX/.fastzips3-isal-$ISAL_SHA256"
say "done: $PREFIX/lib/libisal.a"
