#!/usr/bin/env bash
# update.sh BUILD_DIR -- rewrites the ABI baseline from a fresh build. Run at a
# release (or when a public addition is deliberate), review `git diff lib/abi`,
# and record the change in CHANGELOG.md. The experimental API (#ifdef
# TDIFF_EXPERIMENTAL) is left out through the same generated suppression
# specification check.sh uses.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
so=$(ls "$build"/lib/libtextdiff.so.*.*.* | head -n1)
supp=$(mktemp)
trap 'rm -f "$supp"' EXIT
python3 "$here/experimental_suppressions.py" "$root/include/libtextdiff.h" "$supp"
abidw --headers-dir "$root/include" --drop-private-types --no-corpus-path --no-comp-dir-path \
  --suppressions "$supp" --out-file "$here/libtextdiff.abi" "$so"
echo "wrote $here/libtextdiff.abi from $so"
