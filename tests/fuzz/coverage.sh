#!/bin/sh
# coverage.sh -- what a fuzz target's corpus reaches: the library and the target
# built with clang's source-based coverage (build-cov/), the target linked with
# replay.c and run over the given corpus directories (default: the committed
# corpus and build-fuzz/corpus-TARGET). Needs llvm-14 (llvm-profdata, llvm-cov).
#   tests/fuzz/coverage.sh TARGET [DIR...]     prints llvm-cov's per-file report
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bd="$root/build-cov"
t=${1:?usage: coverage.sh gguf|tokenizer|infill|sampler|serve [DIR...]}
shift
[ $# -gt 0 ] || set -- "$root/tests/fuzz/corpus/$t" "$root/build-fuzz/corpus-$t"
cov="-fprofile-instr-generate -fcoverage-mapping"
if [ ! -f "$bd/build.ninja" ]; then
  CC=clang meson setup "$bd" "$root" -Dtests=false -Ddefault_library=static -Dc_args="$cov" \
    -Dc_link_args="$cov" >/dev/null
fi
meson compile -C "$bd" textdiff:static_library >/dev/null
extra=""
[ "$t" = infill ] && extra="$root/src/infill.c"
[ "$t" = serve ] && extra="$root/src/serve_json.c $root/src/serve_work.c $root/src/serve_batch.c $root/src/progress.c $root/src/infill.c \
  $(pkg-config --libs jansson)"
clang $cov -O1 -DTDIFF_EXPERIMENTAL -I"$root/include" -I"$root/lib" -I"$root/src" \
  -DFUZZ_FIXTURES_DIR="\"$root/tests/fixtures\"" "$root/tests/fuzz/fuzz_$t.c" "$root/tests/fuzz/replay.c" $extra \
  "$bd/lib/libtextdiff.a" $(pkg-config --libs openblas) -lm -lpthread -o "$bd/cov_$t"
rm -f "$bd/$t.profraw"
for d in "$@"; do
  [ -d "$d" ] && LLVM_PROFILE_FILE="$bd/$t-%p.profraw" "$bd/cov_$t" "$d" >/dev/null
done
llvm-profdata-14 merge -sparse "$bd"/$t-*.profraw -o "$bd/$t.profdata"
rm -f "$bd"/$t-*.profraw
llvm-cov-14 report "$bd/cov_$t" -instr-profile="$bd/$t.profdata"
