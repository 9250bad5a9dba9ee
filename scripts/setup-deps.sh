#!/usr/bin/env bash
# setup-deps.sh [SET...] [PACKAGE...] -- installs Debian 12 packages libtextdiff needs.
# Idempotent: installs only the packages that are missing. Uses sudo when not root.
#
# Sets (no argument = test):
#   demo     build the library and the tool, run scripts/demo.sh
#   test     demo + everything scripts/test-all.sh runs: C++, valgrind, libabigail,
#            libmicrohttpd and jansson (textdiff serve; -Dserver=auto builds it when present),
#            nginx-light (tests/serve/check_balancer.py: replicas behind a balancer),
#            the aarch64 cross compiler and qemu, Python with numpy/pytest/pip/venv,
#            clang with its sanitizer and libFuzzer runtimes (stages clang, fuzz),
#            mingw-w64 and Wine (stage windows-wine: .ci/windows.sh)
#   convert  tools/convert_hf.py (numpy)
#   plot     tools/plot_trace.py (matplotlib)
# Any other word is taken as a package name.
set -euo pipefail

demo=(build-essential meson ninja-build pkgconf libopenblas-dev libcmocka-dev)
test=("${demo[@]}" g++ abigail-tools valgrind
      python3 python3-numpy python3-pytest python3-pip python3-setuptools python3-venv
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
      clang libclang-rt-14-dev libmicrohttpd-dev libjansson-dev nginx-light neovim libsdl2-dev xvfb xauth
      emscripten chromium python3-websocket
      mingw-w64 wine wine64)
convert=(python3 python3-numpy)
plot=(python3 python3-matplotlib)

[ "$#" -eq 0 ] && set -- test
packages=()
for word in "$@"; do
  case "$word" in
    demo) packages+=("${demo[@]}") ;;
    test) packages+=("${test[@]}") ;;
    convert) packages+=("${convert[@]}") ;;
    plot) packages+=("${plot[@]}") ;;
    *) packages+=("$word") ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
