#!/bin/sh
# .ci/windows.sh -- the Windows build, tested under Wine: cross-builds
# libtextdiff.dll (+ import library libtextdiff.dll.a), textdiff.exe and the unit
# tests with Debian's mingw-w64 (cross/x86_64-w64-mingw32.ini, -Dblas=none; cmocka
# from subprojects/cmocka, as Debian has no mingw cmocka), then
#   1. checks the DLL's export table: exactly the header's TDIFF_API functions, all
#      tdiff_*, and that it needs only KERNEL32 and msvcrt (.ci/dll_exports.py);
#   2. runs the C unit suites under Wine (meson test; the cross file's exe_wrapper);
#   3. checks textdiff.exe picks the native build's SIMD variant (cpuid + xgetbv under
#      mingw), runs textdiff.exe generate on the bundled model and checks its tokens equal
#      the native build's ($NATIVE_TEXTDIFF, default build/src/textdiff, when
#      present) for the same seed, greedy and sampled;
#   4. builds examples/generate.c against the DLL with TDIFF_DLL_IMPORT (the
#      header's dllimport branch) and runs it and the meson-built example (no
#      macro: the import library's thunks) under Wine.
# Left out under Wine: the scalar twins of the sampler suites (sampler-*-scalar;
# the scalar kernels are checked against every vector variant in the simd suite,
# which runs), and every Python or shell-driven suite (script, parity, docs, cli,
# tool). Installs what it needs with apt-get (only missing packages). Wine gets a
# private prefix under the build dir. Exits non-zero on any failure.
#
#   .ci/windows.sh              # build dir: build-win (override with BUILD_DIR=...)
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-build-win}
jobs=${TDIFF_JOBS:-2}
native=${NATIVE_TEXTDIFF:-build/src/textdiff}
t_start=$(date +%s)

fail() {
    echo "windows.sh: $*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

elapsed() {
    echo "$(( $(date +%s) - t_start )) s"
}

# ---- packages ----
missing=""
for p in meson ninja-build python3 mingw-w64 wine wine64; do
    installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "windows.sh: installing$missing"
    as_root apt-get update || fail "apt-get update failed"
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
        fail "apt-get install failed for:$missing"
fi
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "x86_64-w64-mingw32-gcc not found"
command -v wine >/dev/null || fail "wine not found"

# ---- Wine: a private prefix, created in the background while we compile ----
mkdir -p "$build"
WINEPREFIX="$root/$build/wineprefix"
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG
(t0=$(date +%s); wineboot -i >"$build/wineboot.log" 2>&1; echo "wineboot: $(( $(date +%s) - t0 )) s" >>"$build/wineboot.log") &
boot_pid=$!

# ---- build: only what the checks run (the library, the tool, the unit tests, one example) ----
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" --cross-file cross/x86_64-w64-mingw32.ini -Dblas=none -Dserver=disabled >/dev/null
else
    meson setup "$build" --cross-file cross/x86_64-w64-mingw32.ini -Dblas=none -Dserver=disabled >/dev/null
fi
unit_suites="core simd model tokenizer denoiser schedule noise transition softmask objective sampler"
skip_tests="sampler-scalar sampler-model-scalar sampler-embedding-scalar sampler-kvcache-scalar sampler-trace"
# "project:suite / name" lines -> the names in the unit suites, less the skipped ones
tests=$(meson test -C "$build" --list --no-rebuild 2>/dev/null | python3 -c '
import sys
suites, skip = set(sys.argv[1].split()), set(sys.argv[2].split())
names = []
for line in sys.stdin:
    if " / " not in line: continue
    suite, name = line.strip().split(" / ", 1)
    if suite.split(":", 1)[-1] in suites and name not in skip and name not in names: names.append(name)
print(" ".join(names))' "$unit_suites" "$skip_tests")
[ -n "$tests" ] || fail "no unit tests found in $build"
targets=$(meson introspect "$build" --tests | python3 -c '
import json, os, sys
want = set(sys.argv[1].split())
root = sys.argv[2]
print(" ".join(sorted({os.path.relpath(t["cmd"][0], root) for t in json.load(sys.stdin)
                      if t["name"] in want and t["cmd"][0].endswith(".exe")})))' "$tests" "$build")
t0=$(date +%s)
# shellcheck disable=SC2086
ninja -C "$build" -j "$jobs" lib/libtextdiff-0.dll src/textdiff.exe examples/example_generate.exe $targets ||
    fail "the cross build failed"
echo "windows.sh: built in $(( $(date +%s) - t0 )) s ($(elapsed) so far)"

# ---- 1. the DLL's exports and imports ----
dll="$build/lib/libtextdiff-0.dll"
[ -f "$build/lib/libtextdiff.dll.a" ] || fail "no import library"
python3 .ci/dll_exports.py x86_64-w64-mingw32-objdump "$dll" include/libtextdiff.h || fail "DLL exports"
for f in "$dll" "$build/src/textdiff.exe"; do
    deps=$(x86_64-w64-mingw32-objdump -p "$f" | sed -n 's/^\s*DLL Name: //p' | sort | tr '\n' ' ')
    [ "$deps" = "KERNEL32.dll msvcrt.dll " ] || fail "$f imports $deps(want only KERNEL32.dll msvcrt.dll)"
done

# ---- 2. the unit suites under Wine ----
wait "$boot_pid" || fail "wineboot failed: $(cat "$build/wineboot.log")"
tail -n 1 "$build/wineboot.log"
wineserver -p 120 || true # one server for every test process (each start costs ~1 s otherwise); one may run already
trap 'wineserver -k 2>/dev/null || true' EXIT
# The first program of a session starts Wine's services (services.exe, winedevice,
# ...), which inherit its stdout and live as long as the server: started by a test,
# they would hold meson's pipe open and the test would "time out" after passing.
wine cmd /c exit >/dev/null 2>&1 </dev/null || fail "wine cannot run cmd.exe"
t0=$(date +%s)
# shellcheck disable=SC2086
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes "$jobs" --timeout-multiplier 4 $tests ||
    fail "unit tests failed under Wine"
echo "windows.sh: unit suites under Wine in $(( $(date +%s) - t0 )) s"

# ---- 3. the CLI: the same SIMD variant (cpuid under mingw) and tokens as the native build ----
isa=$(wine "$build/src/textdiff.exe" version | tr -d '\r' | sed -n 's/^simd: //p')
echo "windows.sh: textdiff.exe runs the $isa kernels"
if [ -x "$native" ]; then
    want=$("$native" version | sed -n 's/^simd: //p')
    [ "$isa" = "$want" ] || fail "textdiff.exe chose simd '$isa', the native build '$want'"
fi
tokens() { # program args... -> the "tokens" array of --json
    "$@" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"])'
}
prompt="It is a truth universally acknowledged"
for sampling in "--temp 0" "--temp 0.8 --top-k 40"; do
    # shellcheck disable=SC2086
    win=$(tokens wine "$build/src/textdiff.exe" generate models/austen-llada.gguf -p "$prompt" -n 16 --seed 1 $sampling) ||
        fail "textdiff.exe generate failed"
    echo "windows.sh: textdiff.exe generate $sampling --seed 1: $win"
    if [ -x "$native" ]; then
        # shellcheck disable=SC2086
        want=$(tokens "$native" generate models/austen-llada.gguf -p "$prompt" -n 16 --seed 1 $sampling)
        [ "$win" = "$want" ] || fail "tokens differ from the native build's ($native): $want"
        echo "windows.sh: same tokens as $native"
    else
        echo "windows.sh: no native $native to compare with"
    fi
done

# ---- 4. a program linking the DLL, without and with dllimport ----
x86_64-w64-mingw32-gcc -std=c11 -O2 -DTDIFF_DLL_IMPORT -Iinclude -o "$build/generate_dllimport.exe" \
    examples/generate.c "$build/lib/libtextdiff.dll.a" || fail "cannot build against the DLL with TDIFF_DLL_IMPORT"
for exe in "$build/examples/example_generate.exe" "$build/generate_dllimport.exe"; do
    WINEPATH="$root/$build/lib" wine "$exe" tests/fixtures/llada-tiny.gguf >"$build/example.out" 2>&1 ||
        fail "$exe failed: $(cat "$build/example.out")"
done
echo "windows.sh: the DLL works from programs built with and without TDIFF_DLL_IMPORT"
echo "windows.sh: all Windows checks pass under Wine ($(elapsed))"
