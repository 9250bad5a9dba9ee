#!/usr/bin/env bash
# check.sh BUILD_DIR -- the ABI gate: compares the committed libabigail baseline
# (lib/abi/libtextdiff.abi) with the freshly built libtextdiff.so. Only exit 0
# passes: abidiff's bit 4 (ABI_INCOMPATIBLE_CHANGE) and bit 8 (ABI_CHANGE) both
# mean the public ABI moved, and added symbols are reported only as information
# (--no-added-syms), since adding functions is compatible. The experimental API
# (#ifdef TDIFF_EXPERIMENTAL in the header) is not covered: the suppression
# specification experimental_suppressions.py writes from the header drops it from
# both sides, exactly as update.sh left it out of the baseline.
# Refresh the baseline at a release with lib/abi/update.sh (see docs/building.md).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
so=$(ls "$build"/lib/libtextdiff.so.*.*.* | head -n1)
supp=$(mktemp)
trap 'rm -f "$supp"' EXIT
python3 "$here/experimental_suppressions.py" "$root/include/libtextdiff.h" "$supp"
set +e
abidiff --no-added-syms --headers-dir2 "$root/include" --drop-private-types --suppressions "$supp" \
  "$here/libtextdiff.abi" "$so"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "abidiff exit $rc: the ABI differs from lib/abi/libtextdiff.abi."
  echo "If the change is intended (a release), refresh it with lib/abi/update.sh and record it in CHANGELOG.md."
  exit 1
fi
echo "ABI gate: $(basename "$so") matches the baseline ($(grep -c '^\[suppress_function\]' "$supp") experimental functions left out)"
