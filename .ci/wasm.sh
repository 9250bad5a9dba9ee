#!/bin/sh
# .ci/wasm.sh -- the WebAssembly build and its page, tested: installs Debian's
# emscripten, chromium and python3-websocket when missing, makes sure the native
# tool is built (the token comparison runs it), then runs the meson suite 'web'
# (tests/web/run.sh: the wasm cross build into BUILD_DIR/wasm, the page in
# headless Chromium, screenshot and frame times in BUILD_DIR/web-artifacts/).
# scripts/test-all.sh runs it as the stage 'wasm', bounded in time.
#
#   .ci/wasm.sh              # native build dir: build (override with BUILD_DIR=...)
set -eu

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

fail() {
    echo "wasm.sh: $*" >&2
    exit 1
}

./scripts/setup-deps.sh demo emscripten chromium python3-websocket || fail "cannot install the packages"
command -v emcc >/dev/null || fail "emcc not found"
command -v chromium >/dev/null || fail "chromium not found"

t0=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" >/dev/null || fail "meson setup $build failed"
fi
meson compile -C "$build" -j "${TDIFF_WEB_JOBS:-2}" src/textdiff:executable || fail "the native tool did not build"
echo "wasm.sh: native tool ready ($(( $(date +%s) - t0 )) s)"
# a skip (77) would pass silently: the suite must really run here
meson test -C "$build" --suite web --print-errorlogs --no-rebuild || fail "suite web failed"
grep -q 'check_page: PASS' "$build/meson-logs/testlog.txt" || fail "the page test did not run (skipped?)"
echo "wasm.sh: the web page passes in headless Chromium ($(( $(date +%s) - t0 )) s)"
