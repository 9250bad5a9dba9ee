#!/usr/bin/env bash
# check.sh BUILD_DIR -- installs the build into a scratch prefix with
# `meson install --destdir`, then compiles the examples/ consumers using only
# `pkg-config --cflags --libs libtextdiff` from that prefix and runs them -- without
# TDIFF_EXPERIMENTAL (as users copy them) and with it (tests/install/experimental.c
# uses the experimental API); checks that the `textdiff` alias gives the same flags,
# that the rpath recipe of docs/quickstart.md runs without LD_LIBRARY_PATH, and
# compiles and runs the quickstart's "complete program" blocks as written. Also
# checks the exported symbols (tdiff_* only) and the SONAME.
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

echo "pkg-config --modversion libtextdiff: $(pkg-config --modversion libtextdiff)"
[ "$(pkg-config --cflags --libs textdiff)" = "$(pkg-config --cflags --libs libtextdiff)" ] || \
  { echo "pkg-config textdiff (the alias) differs from libtextdiff"; exit 1; }
so=$(ls "$dest$libdir"/libtextdiff.so.*.*.* | head -n1)
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "SONAME: $soname"
[ "$soname" = "libtextdiff.so.$(pkg-config --modversion libtextdiff | cut -d. -f1)" ]
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^tdiff_' | grep -v '^TDIFF_' || true)
if [ -n "$bad" ]; then echo "exported symbols outside tdiff_*:"; echo "$bad"; exit 1; fi
if nm -D --defined-only "$so" | awk '{print $3}' | grep -q '^tdiff__'; then echo "internal tdiff__ symbols exported"; exit 1; fi
echo "exported symbols: $(nm -D --defined-only "$so" | grep -c ' T tdiff_') functions, all tdiff_*"
[ -f "$dest$libdir/libtextdiff.a" ] || { echo "static library not installed"; exit 1; }

work="$dest/work"
mkdir -p "$work"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/examples/hello.c" $(pkg-config --cflags --libs libtextdiff) -o "$work/hello"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror "$root/examples/hello.cpp" $(pkg-config --cflags --libs libtextdiff) -o "$work/hello_cpp"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/examples/hello.c" $(pkg-config --cflags libtextdiff) "$dest$libdir/libtextdiff.a" $(pkg-config --static --libs-only-l libtextdiff | sed "s/-ltextdiff//") -o "$work/hello_static"
# The model-using examples must build from the installed header alone (running them
# needs a model: meson test --suite examples does that).
for ex in generate infill_stream game_npc; do
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror "$root/examples/$ex.c" $(pkg-config --cflags --libs libtextdiff) -o "$work/$ex"
done
# The SDL2 game example, as docs/embedding.md builds it (when SDL2 is installed; its
# flags come from the system, outside the scratch prefix's sysroot).
if PKG_CONFIG_SYSROOT_DIR= pkg-config --exists sdl2; then
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror "$root/examples/game/npc_sdl.c" $(pkg-config --cflags --libs libtextdiff) \
        $(PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags --libs sdl2) -o "$work/npc_sdl"
fi
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror -I"$root/examples" "$root/examples/cpp_generate.cpp" $(pkg-config --cflags --libs libtextdiff) -o "$work/cpp_generate"
# The experimental API (TDIFF_EXPERIMENTAL): the installed header compiles with the
# macro defined, in C and C++, and declares the experimental functions only then.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/examples/hello.c" $(pkg-config --cflags --libs libtextdiff) -o "$work/hello_exp"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/examples/hello.cpp" $(pkg-config --cflags --libs libtextdiff) -o "$work/hello_cpp_exp"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -DTDIFF_EXPERIMENTAL "$root/tests/install/experimental.c" $(pkg-config --cflags --libs libtextdiff) -o "$work/experimental"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror "$root/tests/install/experimental.c" $(pkg-config --cflags --libs libtextdiff) -o "$work/experimental_off" 2>/dev/null; then
  echo "without TDIFF_EXPERIMENTAL the installed header still declares the experimental API"; exit 1
fi
# docs/quickstart.md's rpath recipe: the program runs with no LD_LIBRARY_PATH
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/examples/hello.c" $(pkg-config --cflags --libs libtextdiff) \
   -Wl,-rpath,"$(pkg-config --variable=libdir libtextdiff)" -o "$work/hello_rpath"
env -u LD_LIBRARY_PATH "$work/hello_rpath" >/dev/null
export LD_LIBRARY_PATH="$dest$libdir"
"$work/hello"
"$work/hello_cpp"
"$work/hello_static" >/dev/null
"$work/hello_exp" >/dev/null
"$work/hello_cpp_exp" >/dev/null
"$work/experimental"
/usr/bin/python3 "$root/tests/install/check_snippets.py" "$root/docs/quickstart.md" "$root/examples" \
  "$root/tests/fixtures/llada-tiny.gguf"
echo "install + pkg-config consumers: ok"
