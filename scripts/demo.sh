#!/usr/bin/env bash
# demo.sh -- README's main command: installs dependencies, builds, and generates
# text with the bundled model (models/austen-llada.gguf, see models/README.md),
# animating the canvas as masks resolve when stdout is a terminal.
# Extra arguments go to `textdiff generate` (e.g. -p "Emma Woodhouse," --seed 3).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh demo   # the compiler, meson, OpenBLAS, cmocka: nothing the tests alone need
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
./build/src/textdiff version
prompt="It is a truth universally acknowledged"
echo
echo "prompt: $prompt"
./build/src/textdiff generate -p "$prompt" -n 48 --steps 48 --block 8 --temperature 0.7 --seed 1 --show "$@"
echo
