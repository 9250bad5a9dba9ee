#!/bin/bash
# soak.sh -- a bounded soak of `textdiff serve` (docs/server.md, "Batching, measured"): streaming
# clients of which a share leave after the first step event (bench/serve/load.py --disconnect), the
# server's RSS and open file descriptors sampled every 10 s, then /health and the /metrics counters.
#
#   bench/serve/soak.sh [SECONDS] [CLIENTS] [serve options...]     (defaults: 180, 8, --parallel 16 --batch)
set -eu
case "${1:-}" in -h|--help) echo "usage: bench/serve/soak.sh [SECONDS] [CLIENTS] [serve options...] (see the comment at the top)"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXE=${TEXTDIFF:-$ROOT/build/src/textdiff}
SECS=${1:-180}
CLIENTS=${2:-8}
OPTS=("${@:3}")
[ ${#OPTS[@]} -gt 0 ] || OPTS=(--parallel 16 --batch)
LOG=$(mktemp)
"$EXE" serve "${MODEL:-$ROOT/models/austen-llada.gguf}" --port 0 --max-queue 64 "${OPTS[@]}" >/dev/null 2>"$LOG" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 300); do
    PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$LOG")
    [ -n "$PORT" ] && break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    echo "soak.sh: the server did not start:" >&2
    cat "$LOG" >&2
    exit 1
fi
sample() { echo "t=$1 s  rss $(awk '/VmRSS/ {print $2, $3}' /proc/$PID/status)  fds $(ls /proc/$PID/fd | wc -l)"; }
sample 0
(for t in $(seq 10 10 "$SECS"); do sleep 10; sample "$t"; done) &
SAMPLER=$!
/usr/bin/python3 "$ROOT/bench/serve/load.py" --port "$PORT" --clients "$CLIENTS" --seconds "$SECS" --stream \
    --disconnect 0.3 --body '{"prompt": "Emma Woodhouse,", "max_tokens": 32, "steps": 32, "temperature": 0.7}'
kill "$SAMPLER" 2>/dev/null || true
sleep 2
sample end
curl -s "http://127.0.0.1:$PORT/health"; echo
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^textdiff_(requests_total\{endpoint="/v1/completions"|cancelled|rejected|timeouts|completion_tokens|batch)'
kill -TERM $PID
wait $PID && echo "SIGTERM: exit 0" || echo "SIGTERM: exit $?"
