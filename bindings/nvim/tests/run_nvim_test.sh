#!/bin/sh
# run_nvim_test.sh LIB CLI MODEL -- runs tests/test_infill.lua in a headless Neovim
# with the plugin on the runtime path (meson suite `embed`). Skips (77) when nvim
# is not installed; scripts/setup-deps.sh test installs it, so CI runs it.
# Under a sanitizer build the library needs its runtime first in the process:
# TDIFF_SANITIZE (set by meson) preloads libasan into nvim (leak checks off:
# nvim itself is not built for them; the library's leaks are found by the C suites).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v nvim >/dev/null 2>&1; then
  echo "nvim not installed: skipped (scripts/setup-deps.sh test installs it)"
  exit 77
fi
export TEXTDIFF_LIB=$1 TEXTDIFF_CLI=$2 TEXTDIFF_MODEL=$3
case "${TDIFF_SANITIZE:-none}" in
  *address*)
    LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
    export LD_PRELOAD
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" ;;
esac
# meson's timeout bounds the run. Do not let nvim read the user's config, shada or swap files; no terminal needed.
exec nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$here" -c "luafile $here/tests/test_infill.lua"
