#!/bin/sh
# compare_llamacpp.sh -- time per step of llama.cpp's llama-diffusion-cli and of
# bench_generate's cache modes on the same GGUF file and settings, interleaved
# round by round so that the machine's load hits both alike.
#
# Usage: bench/generate/compare_llamacpp.sh LLAMA_DIFFUSION_CLI MODEL.gguf [ROUNDS]
#   (build this project first: meson compile -C build bench_generate)
# Settings: 256-token canvas (16-token prompt), blocks of 32, 64 steps, greedy,
# 2 threads. llama.cpp runs twice a round: with its default polling (its threads
# spin while waiting) and with --poll 0 and OMP_WAIT_POLICY=passive (ggml's
# OpenMP threads sleep, so its CPU time counts work as ours does); wall time per
# step is the better of the two. CPU time per step
# (user + system, /usr/bin/time) of the --poll 0 run, less that of a 2-step run
# (loading, warm-up), over 62 steps; ours comes from bench_generate (getrusage).
# Prints every run's lines, the load average before each round, and a summary.
# We never build or ship llama.cpp: bring your own binary (bench/README.md says
# which commit was measured).
set -eu
cli=$1
model=$2
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_GENERATE:-$here/../../build/bench/generate/bench_generate}
libdir=$(dirname "$cli")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# llama STEPS [options]: prints "time per step: X ms ... cpu U S"
llama() {
    steps=$1
    shift
    LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} nice -n 10 /usr/bin/time -f "cpu %U %S" "$cli" \
        -m "$model" -p "abcdefghijklmno" -ub 256 --diffusion-steps "$steps" --diffusion-block-length 32 -t 2 \
        --temp 0 "$@" 2>&1 | tr '\r' '\n' | grep -E 'time per step|^cpu ' | tr '\n' ' ' || echo "llama-diffusion-cli failed"
    echo
}
r=1
while [ "$r" -le "$rounds" ]; do
    echo "== round $r, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "llama.cpp (default polling): $(llama 64)" | tee -a "$out"
    echo "llama.cpp (--poll 0):        $(OMP_WAIT_POLICY=passive llama 64 --poll 0)" | tee -a "$out"
    echo "llama.cpp (--poll 0, 2 steps): $(OMP_WAIT_POLICY=passive llama 2 --poll 0)" | tee -a "$out"
    nice -n 10 "$bench" "$model" --gen 240 --prompt 16 --block 32 --steps 64 --threads 2 \
        --cache none,prefix,dual,delayed | tee -a "$out"
    r=$((r + 1))
done
echo "== after the last round, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== summary, ms per step (wall: theirs = the better llama.cpp run of the round; cpu: user + system)"
awk '
function field(after,   i) { for (i = 1; i <= NF; i++) if ($i == after) return $(i + 1) + 0; return -1 }
/default polling/   { a = field("step:") }
/--poll 0\): /       { b = field("step:"); wall[++n] = (a < b ? a : b); c64 = field("cpu") + $NF }
/--poll 0, 2 steps/ { c2 = field("cpu") + $NF; cpu[n] = 1000 * (c64 - c2) / 62 }
/^ *64 (none|prefix|dual|delayed) / { w[n, $2] = $6; c[n, $2] = $9 }
END {
    printf "%-5s | %9s %7s %7s %7s %7s | %9s %7s %7s %7s %7s | %9s %9s %9s %9s\n", "round", "wall llama", "none",
           "prefix", "dual", "delayed", "cpu llama", "none", "prefix", "dual", "delayed", "wall l/n", "wall l/d",
           "cpu l/n", "cpu l/d"
    for (k = 1; k <= n; k++)
        printf "%-5d | %9.1f %7.1f %7.1f %7.1f %7.1f | %9.1f %7.1f %7.1f %7.1f %7.1f | %8.2fx %8.2fx %8.2fx %8.2fx\n",
               k, wall[k], w[k, "none"], w[k, "prefix"], w[k, "dual"], w[k, "delayed"], cpu[k], c[k, "none"],
               c[k, "prefix"], c[k, "dual"], c[k, "delayed"], wall[k] / w[k, "none"], wall[k] / w[k, "dual"],
               cpu[k] / c[k, "none"], cpu[k] / c[k, "dual"]
}' "$out"
