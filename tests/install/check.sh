#!/usr/bin/env bash
# check.sh BUILD_DIR -- installs the build into a scratch prefix with
# `meson install --destdir`, then compiles the examples/ consumers using only
# `pkg-config --cflags --libs textdiff` from that prefix and runs them -- without
# TDIFF_EXPERIMENTAL (as users copy them) and with it (tests/install/experimental.c
# uses the experimental API). Also checks the exported symbols (tdiff_* only) and
# the SONAME.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
case "$libdir" in /*) ;; *) libdir="$prefix/$libdir" ;; esac
export PKG_CONFIG_SYSROOT_DIR="$dest"
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig"
export PKG_CONFIG_LIBDIR="$dest$libdir/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig"

echo "pkg-config --modversion textdiff: $(pkg-config --modversion textdiff)"
so=$(ls "$dest$libdir"/libtextdiff.so.*.*.* | head -n1)
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "SONAME: $soname"
[ "$soname" = "libtextdiff.so.$(pkg-config --modversion textdiff | cut -d. -f1)" ]
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^tdiff_' | grep -v '^TDIFF_' || true)
if [ -n "$bad" ]; then echo "exported symbols outside tdiff_*:"; echo "$bad"; exit 1; fi
if nm -D --defined-only "$so" | awk '{print $3}' | grep -q '^tdiff__'; then echo "internal tdiff__ symbols exported"; exit 1; fi
echo "exported symbols: $(nm -D --defined-only "$so" | grep -c ' T tdiff_') functions, all tdiff_*"
[ -f "$dest$libdir/libtextdiff.a" ] || { echo "static library not installed"; exit 1; }

work="$dest/work"
mkdir -p "$work"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/examples/hello.c" $(pkg-config --cflags --libs textdiff) -o "$work/hello"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror "$root/examples/hello.cpp" $(pkg-config --cflags --libs textdiff) -o "$work/hello_cpp"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/examples/hello.c" $(pkg-config --cflags textdiff) "$dest$libdir/libtextdiff.a" $(pkg-config --static --libs-only-l textdiff | sed "s/-ltextdiff//") -o "$work/hello_static"
# The model-using examples must build from the installed header alone (running them
# needs a model: meson test --suite examples does that).
for ex in generate infill_stream game_npc; do
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror "$root/examples/$ex.c" $(pkg-config --cflags --libs textdiff) -o "$work/$ex"
done
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror -I"$root/examples" "$root/examples/cpp_generate.cpp" $(pkg-config --cflags --libs textdiff) -o "$work/cpp_generate"
# The experimental API (TDIFF_EXPERIMENTAL): the installed header compiles with the
# macro defined, in C and C++, and declares the experimental functions only then.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/examples/hello.c" $(pkg-config --cflags --libs textdiff) -o "$work/hello_exp"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/examples/hello.cpp" $(pkg-config --cflags --libs textdiff) -o "$work/hello_cpp_exp"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/tests/install/experimental.c" $(pkg-config --cflags --libs textdiff) -o "$work/experimental"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror "$root/tests/install/experimental.c" $(pkg-config --cflags --libs textdiff) -o "$work/experimental_off" 2>/dev/null; then
  echo "without TDIFF_EXPERIMENTAL the installed header still declares the experimental API"; exit 1
fi
export LD_LIBRARY_PATH="$dest$libdir"
"$work/hello"
"$work/hello_cpp"
"$work/hello_static" >/dev/null
"$work/hello_exp" >/dev/null
"$work/hello_cpp_exp" >/dev/null
"$work/experimental"
echo "install + pkg-config consumers: ok"
