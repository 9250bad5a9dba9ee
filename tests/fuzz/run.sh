#!/bin/sh
# run.sh -- builds the libFuzzer harness with clang-14 (ASan + UBSan) and runs it.
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     (default 60 s)
# The library is built in build-fuzz/ (tests off, so only the library is needed);
# new corpus entries go to build-fuzz/corpus (the committed seeds stay untouched);
# crash reproducers land in build-fuzz/ -- add them to tests/fuzz/corpus/ once fixed.
set -eu
secs=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
bd="$root/build-fuzz"
CC=${CC:-clang-14}
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [ ! -f "$bd/build.ninja" ]; then
  CC=$CC meson setup "$bd" "$root" -Dtests=false -Db_lundef=false -Ddefault_library=static \
    -Dc_args="$san -fsanitize=fuzzer-no-link -g" -Dc_link_args="$san" >/dev/null
fi
meson compile -C "$bd" textdiff:static_library >/dev/null
$CC $san -fsanitize=fuzzer -g -O1 -I"$root/include" -I"$root/lib" "$root/tests/fuzz/fuzz_gguf.c" \
  "$bd/lib/libtextdiff.a" $(pkg-config --libs openblas) -lm -lpthread -o "$bd/fuzz_gguf"
mkdir -p "$bd/corpus"
cd "$bd"
exec ./fuzz_gguf -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$@" corpus "$root/tests/fuzz/corpus"
