#!/usr/bin/env bash
# test-all.sh -- the full test suite, exactly as CI runs it (README's test command).
#
# Stages: dependencies; normal build (with textdiff serve: -Dserver=enabled) + every suite; the suites once per forced
# SIMD variant this machine runs; ASan+UBSan build (-fno-sanitize-recover=all);
# valgrind on every C test (tool-driving scripts, suite "script", are left out);
# NEON kernels cross-built and run under qemu-aarch64;
# install + pkg-config consumers (C and C++); the libabigail ABI gate; Python tests;
# the whole project built with clang (-Werror) and its C suites run; a bounded
# libFuzzer pass over every fuzz target (tests/fuzz/ci.sh); the C suites under
# the thread sanitizer; the WebAssembly page in headless Chromium (.ci/wasm.sh);
# the Windows build (mingw-w64) with its unit suites and the CLI under Wine
# (.ci/windows.sh). The last five stages each run under a time bound.
# Every stage runs even when an earlier one failed; the exit status is non-zero
# when any stage failed, and the last line counts them.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${TDIFF_JOBS:-2}

./scripts/setup-deps.sh test || { echo "setup-deps failed"; echo "stages: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
failed_names=()
stage() {
  local name=$1; shift
  echo
  echo "=== stage: $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== stage $name: PASS ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "=== stage $name: FAIL ($((SECONDS - t0)) s)"
  fi
}

configure() { # dir, extra meson args...
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

build_and_test() {
  configure build -Dserver=enabled && meson compile -C build -j "$jobs" && \
    meson test -C build --print-errorlogs --num-processes "$jobs"
}

forced_isa_suites() {
  local ok=0
  for isa in scalar avx2 avx512 neon; do
    # A value the machine cannot run is ignored by the library: ask which variant it chose.
    if TDIFF_FORCE_ISA=$isa ./build/src/textdiff version 2>/dev/null | grep -qx "simd: $isa"; then
      echo "--- TDIFF_FORCE_ISA=$isa"
      TDIFF_FORCE_ISA=$isa meson test -C build --no-rebuild --print-errorlogs --num-processes "$jobs" \
        --no-suite parity --no-suite fuzz || ok=1
    else
      echo "--- TDIFF_FORCE_ISA=$isa: not available on this machine, skipped"
    fi
  done
  return $ok
}

sanitizers() {
  configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all -Dbuildtype=debug && \
    meson compile -C build-asan -j "$jobs" && \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --print-errorlogs --num-processes "$jobs" --no-suite bench --timeout-multiplier 4
}

# sampler-kvcache keeps one exactness test (every cache mode and block strategy on a
# block-causal model) under valgrind, and its scalar twin is left out: the whole
# program is ~40 s of CPU natively and hours under valgrind; ASan runs all of it.
valgrind_suites() {
  local names
  names=$(meson test -C build --list --no-suite script --no-suite bench 2>/dev/null | grep ' / ' |
    sed 's/.* \/ //' | grep -vx -e sampler-kvcache-scalar | sort -u)
  TDIFF_TEST_FILTER='test_block_causal_cache_is_exact_for_every_mode*' meson test -C build --no-rebuild \
    --print-errorlogs --num-processes "$jobs" \
    --wrapper 'valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q' \
    --timeout-multiplier 20 $names
}

neon() { ./.ci/neon.sh; }
# libtextdiff.dll + textdiff.exe cross-built with mingw-w64 (-Dblas=none), the DLL's
# export table, the unit suites and the CLI under Wine (tokens equal to build/'s).
windows() { ./.ci/windows.sh; }
install_consumers() { ./tests/install/check.sh build; }
abi_gate() { ./lib/abi/check.sh build; }
python_tests() {
  if [ -d bindings/python/tests ]; then
    TEXTDIFF_LIB="$root/build/lib/libtextdiff.so" /usr/bin/python3 -m pytest -q bindings/python/tests
  else
    echo "no Python binding yet"; return 0
  fi
}

# Runs a function of this script in a child shell killed after $1 seconds, so a
# hang fails its stage instead of the CI job.
bounded() {
  local secs=$1 fn=$2
  timeout --kill-after=30 "$secs" bash -c "set -uo pipefail; $(declare -f configure "$fn"); jobs=$jobs; root=$root; $fn"
}

# The whole project (library, tool, tests, examples, benchmarks) with clang,
# warnings as errors, and its C suites (the scripts and parity ran above). Built
# with -Dblas=none: no OpenBLAS at all (the library makes no cblas call; the
# build-and-test stage links it), so the configuration without it is built and
# its C suites run here at no extra cost.
clang_build() {
  CC=clang CXX=clang++ configure build-clang -Dwerror=true -Dblas=none && meson compile -C build-clang -j "$jobs" && \
    meson test -C build-clang --no-rebuild --print-errorlogs --num-processes "$jobs" \
      --no-suite script --no-suite bench --no-suite parity
}

# .ci/wasm.sh: the wasm build and examples/web in headless Chromium (meson suite
# 'web', left out of the plain runs above). ~4 min on 2 loaded cores.
wasm_page() { ./.ci/wasm.sh; }

# tests/fuzz/ci.sh: every target built with clang's libFuzzer + ASan + UBSan,
# its committed corpus replayed, then 30 s of mutation per target.
fuzz_pass() { ./tests/fuzz/ci.sh 30; }

# The C suites under the thread sanitizer (gcc: clang's TSan runtime cannot link
# into our -Wl,--no-undefined shared library). OpenBLAS runs one thread: its own
# workers synchronise through spin-waits in uninstrumented code that TSan cannot
# see, so their writes would be reported as races. Left out: sampler-core, whose
# interrupt test is timing-dependent under TSan's slowdown (the interrupt can land
# before the generation begins; reported to the sampler's owner).
tsan_suites() {
  configure build-tsan -Db_sanitize=thread -Db_lundef=false && meson compile -C build-tsan -j "$jobs" || return 1
  local names
  names=$(meson test -C build-tsan --list --no-suite script --no-suite bench 2>/dev/null | grep ' / ' |
    sed 's/.* \/ //' | grep -vx -e sampler-core | sort -u)
  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes "$jobs" --timeout-multiplier 4 $names
}

stage build-and-test build_and_test
stage forced-isa forced_isa_suites
stage asan-ubsan sanitizers
stage valgrind valgrind_suites
stage neon-qemu neon
stage install-consumers install_consumers
stage abi-gate abi_gate
stage python python_tests
stage clang bounded 1200 clang_build
stage fuzz bounded 900 fuzz_pass
stage tsan bounded 1200 tsan_suites
stage wasm bounded 600 wasm_page
stage windows-wine bounded 600 windows

echo
if [ "$failed" -ne 0 ]; then echo "failed stages: ${failed_names[*]}"; fi
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
