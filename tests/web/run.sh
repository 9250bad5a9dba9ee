#!/bin/sh
# tests/web/run.sh BUILD_ROOT SOURCE_ROOT TEXTDIFF -- suite 'web': builds the
# WebAssembly module and the page (cross/wasm32-emscripten.ini) into
# BUILD_ROOT/wasm, then tests/web/check_page.py loads the page in headless
# Chromium, runs an infill and checks it against TEXTDIFF (the native tool).
# Artifacts (screenshot, frame times): BUILD_ROOT/web-artifacts/.
# Skips (77) only when emcc or chromium is missing; .ci/wasm.sh installs both.
set -eu
build=$1 src=$2 cli=$3
command -v emcc >/dev/null 2>&1 || { echo "run.sh: emcc is not installed: skipped"; exit 77; }
command -v chromium >/dev/null 2>&1 || { echo "run.sh: chromium is not installed: skipped"; exit 77; }
wasm=$build/wasm
t0=$(date +%s)
if [ -f "$wasm/build.ninja" ]; then
    meson setup --reconfigure "$wasm" "$src" --cross-file "$src/cross/wasm32-emscripten.ini" -Dblas=none -Dtests=false >/dev/null
else
    meson setup "$wasm" "$src" --cross-file "$src/cross/wasm32-emscripten.ini" -Dblas=none -Dtests=false >/dev/null
fi
meson compile -C "$wasm" -j "${TDIFF_WEB_JOBS:-2}" web
echo "run.sh: wasm build $(( $(date +%s) - t0 )) s"
ls -l "$wasm/examples/web/textdiff-web.wasm"
exec /usr/bin/python3 "$src/tests/web/check_page.py" "$wasm/examples/web" "$build/web-artifacts" --cli "$cli"
