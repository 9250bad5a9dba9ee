#!/usr/bin/env bash
# setup-deps.sh -- installs what building and testing libtextdiff needs on Debian 12.
# Idempotent: installs only the packages that are missing. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkgconf
  libopenblas-dev libcmocka-dev
  abigail-tools valgrind
  python3 python3-numpy python3-pytest python3-pip python3-setuptools python3-venv
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  g++
)
# Extra packages a stage may ask for: setup-deps.sh pkg1 pkg2 ...
packages+=("$@")

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
