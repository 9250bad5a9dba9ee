#!/bin/sh
# .ci/neon.sh -- the NEON kernels, tested: cross-compiles core + simd for aarch64
# (-Dkernels_only=true) with Debian's gcc-aarch64-linux-gnu and runs the 'core'
# and 'simd' suites under qemu-aarch64, once with automatic dispatch and once per
# forced variant. Installs what it needs with apt-get (idempotent: only missing
# packages), arm64 cmocka through Debian multiarch. Exits non-zero on any failure.
#
#   .ci/neon.sh              # build dir: build-neon (override with BUILD_DIR=...)
set -eu

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-neon}

fail() {
    echo "neon.sh: $*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ---- packages ----
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64 || fail "cannot enable the arm64 architecture"
    need_update=1
fi
missing=""
for p in meson ninja-build pkgconf gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libcmocka-dev:arm64; do
    installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    need_update=1
fi
if [ "$need_update" -eq 1 ]; then
    as_root apt-get update || fail "apt-get update failed"
fi
if [ -n "$missing" ]; then
    echo "neon.sh: installing$missing"
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
        fail "apt-get install failed for:$missing"
fi
command -v aarch64-linux-gnu-gcc >/dev/null || fail "aarch64-linux-gnu-gcc not found"
command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 not found"

# ---- build ----
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" --cross-file .ci/aarch64-linux.ini -Dkernels_only=true
else
    meson setup "$build" --cross-file .ci/aarch64-linux.ini -Dkernels_only=true
fi
meson compile -C "$build"

# The NEON table must really be in the binaries we test.
if ! aarch64-linux-gnu-nm "$build/lib/libtextdiff.a" "$build"/lib/simd/*.a 2>/dev/null | grep -q ' [DR] tdiff__kernels_neon$'; then
    fail "no NEON kernel table in the aarch64 build"
fi

# ---- tests under qemu (the cross file's exe_wrapper) ----
for force in "" scalar neon; do
    echo "neon.sh: core + simd suites, TDIFF_FORCE_ISA='$force'"
    TDIFF_FORCE_ISA="$force" meson test -C "$build" --suite core --suite simd --print-errorlogs ||
        fail "tests failed with TDIFF_FORCE_ISA='$force'"
    # a skipped NEON group would pass silently: insist that it ran
    grep -q 'variant neon against the scalar reference' "$build/meson-logs/testlog.txt" ||
        fail "the NEON kernels were not tested (variant group skipped?)"
done
echo "neon.sh: NEON kernels pass under qemu-aarch64"
