#!/bin/sh
# run.sh -- builds the libFuzzer targets with clang (ASan + UBSan) and runs one.
#   tests/fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags...]   (default 60 s)
#   tests/fuzz/run.sh build                                         (build every target)
# TARGET: gguf | tokenizer | infill | sampler | plan | serve (fuzz_TARGET.c; serve only where
# jansson and libmicrohttpd are installed, as for the server itself). The library is built
# in build-fuzz/ (tests off: only the library); new corpus entries go to
# build-fuzz/corpus-TARGET (the committed seeds in corpus/TARGET stay untouched),
# crash reproducers to build-fuzz/findings-TARGET/ -- commit one into
# corpus/TARGET once it is fixed, and every build replays it (suite 'fuzz').
# Long runs belong under `nice -n 10` with one worker (the default).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bd="$root/build-fuzz"
CC=${CC:-clang}
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
targets="gguf tokenizer infill sampler plan"
# the server's request parser: src/serve_json.c and what it links (jansson)
serve_src="src/serve_json.c src/serve_work.c src/serve_batch.c src/progress.c src/infill.c"
if pkg-config --exists jansson libmicrohttpd 2>/dev/null; then
  targets="$targets serve"
fi

build() {
  if [ ! -f "$bd/build.ninja" ]; then
    CC=$CC meson setup "$bd" "$root" -Dtests=false -Db_lundef=false -Ddefault_library=static \
      -Dc_args="$san -fsanitize=fuzzer-no-link -g" -Dc_link_args="$san" >/dev/null
  fi
  meson compile -C "$bd" textdiff:static_library >/dev/null
  for t in $targets; do
    extra=""
    [ "$t" = infill ] && extra="$root/src/infill.c"
    [ "$t" = serve ] && extra="$(for f in $serve_src; do printf '%s ' "$root/$f"; done)$(pkg-config --libs jansson)"
    $CC $san -fsanitize=fuzzer -g -O1 -DTDIFF_EXPERIMENTAL -I"$root/include" -I"$root/lib" -I"$root/src" \
      -DFUZZ_FIXTURES_DIR="\"$root/tests/fixtures\"" "$root/tests/fuzz/fuzz_$t.c" $extra \
      "$bd/lib/libtextdiff.a" $(pkg-config --libs openblas) -lm -lpthread -o "$bd/fuzz_$t"
  done
}

target=${1:-}
case " $targets build " in
  *" $target "*) ;;
  *) echo "usage: $0 $(echo $targets | tr ' ' '|') [SECONDS] [libFuzzer flags] | $0 build" >&2; exit 2 ;;
esac
build
[ "$target" = build ] && exit 0
shift
secs=${1:-60}
[ $# -gt 0 ] && shift
dict="$root/tests/fuzz/dict/$target.dict"
dictflag=""
[ -f "$dict" ] && dictflag="-dict=$dict"
mkdir -p "$bd/corpus-$target" "$bd/findings-$target"
cd "$bd"
exec ./fuzz_$target -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$bd/findings-$target/" -print_final_stats=1 $dictflag "$@" \
  "corpus-$target" "$root/tests/fuzz/corpus/$target"
