#!/bin/sh
# ci.sh -- the bounded fuzzing pass of CI (scripts/test-all.sh, stage "fuzz"):
# builds every target with clang's libFuzzer (run.sh build), then gives each
# target SECONDS (default 40) of mutation starting from its committed corpus --
# libFuzzer first runs every committed seed and reproducer under ASan + UBSan.
# One worker per target, one target at a time. Exit status non-zero when any
# target found something; its reproducer is in build-fuzz/findings-TARGET/.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-40}
"$root/tests/fuzz/run.sh" build || exit 1
bad=0
targets="gguf tokenizer infill sampler plan"
pkg-config --exists jansson libmicrohttpd 2>/dev/null && targets="$targets serve" # the server is built
for t in $targets; do
  work=$(mktemp -d)
  echo "--- fuzz_$t: ${secs} s"
  # a throw-away corpus: the committed one is only read
  if ! "$root/tests/fuzz/run.sh" "$t" "$secs" -close_fd_mask=1 "$work" >"$work.log" 2>&1; then
    bad=1
    tail -n 60 "$work.log"
  else
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|Done [0-9]+ runs)" "$work.log" | tail -n 2
  fi
  rm -rf "$work" "$work.log"
done
exit $bad
