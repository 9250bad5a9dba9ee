#!/bin/bash
# batch.sh -- `textdiff serve` with and without --batch under wrk (docs/server.md, "Batching, measured").
#
#   bench/serve/batch.sh [MODEL] [SECONDS] [CLIENTS...]      (defaults: the bundled model, 20, 1 4 8 16)
#
# Starts three servers on loopback, all over the same model:
#   one     --parallel 1 --threads T            one request at a time (the baseline)
#   workers --parallel 8 --threads 1            concurrent requests, each its own forward
#   batch   --parallel 16 --threads T --batch   concurrent requests, one batched forward per step
# (T = $THREADS, default 2)
# and drives each in turn with wrk (bench/serve/completions.lua; WRK_TOKENS / WRK_STEPS /
# WRK_PROMPT / WRK_TEMPERATURE pass through) for SECONDS per client count, interleaved per
# client count so that the three see the same machine load. Prints one line per run, the load
# average before each client count, the CPU time each server used per answered request (robust
# on a shared machine, where wall-clock throughput depends on the share of the cores the other jobs
# leave) and the batch server's /metrics batch counters at the end.
set -eu
case "${1:-}" in -h|--help) echo "usage: bench/serve/batch.sh [MODEL] [SECONDS] [CLIENTS...] (see the comment at the top)"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXE=${TEXTDIFF:-$ROOT/build/src/textdiff}
MODEL=${1:-$ROOT/models/austen-llada.gguf}
SECS=${2:-20}
CLIENTS=${*:3}
CLIENTS=${CLIENTS:-1 4 8 16}
LUA=$ROOT/bench/serve/completions.lua
TMP=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

start() { # name, then serve options (in this shell, so cleanup knows the pid)
    local name=$1
    shift
    "$EXE" serve "$MODEL" --port 0 --max-queue 64 --timeout 600 "$@" >/dev/null 2>"$TMP/$name.log" &
    PIDS="$PIDS $!"
    echo $! >"$TMP/$name.pid"
}
cpu_ticks() { # pid: user + system time in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}
port_of() { # name: waits for the server's first line and prints its port
    for _ in $(seq 600); do
        port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$TMP/$1.log")
        [ -n "$port" ] && { echo "$port"; return; }
        sleep 0.1
    done
    echo "server $1 did not start" >&2; cat "$TMP/$1.log" >&2; exit 1
}
THREADS=${THREADS:-2}
start one --parallel 1 --threads "$THREADS"
start workers --parallel 8 --threads 1
start batch --parallel 16 --threads "$THREADS" --batch
P_ONE=$(port_of one); P_WORKERS=$(port_of workers); P_BATCH=$(port_of batch)
echo "model $(basename "$MODEL"), $SECS s per run, tokens ${WRK_TOKENS:-32}, steps ${WRK_STEPS:-32}, threads $THREADS, $(nproc) CPUs"
for c in $CLIENTS; do
    echo "clients $c: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for srv in one:$P_ONE workers:$P_WORKERS batch:$P_BATCH; do
        name=${srv%%:*}; port=${srv#*:}
        pid=$(cat "$TMP/$name.pid")
        t0=$(cpu_ticks "$pid")
        line=$(wrk -t1 -c"$c" -d"${SECS}s" --timeout 300s -s "$LUA" "http://127.0.0.1:$port/v1/completions" | tail -n 1)
        t1=$(cpu_ticks "$pid")
        # CPU time the server used per request answered (requests still running at the end add to it)
        n=$(echo "$line" | sed -n 's/^wrk: \([0-9]*\) requests.*/\1/p')
        cpu=$(awk -v a="$t0" -v b="$t1" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { if (n > 0) printf "%.0f ms CPU/request", (b - a) * 1000 / hz / n; else print "-" }')
        printf '  %-8s c=%-3s %s, server %s\n' "$name" "$c" "$line" "$cpu"
    done
done
curl -s "http://127.0.0.1:$P_BATCH/metrics" | grep '^textdiff_batch' || true
