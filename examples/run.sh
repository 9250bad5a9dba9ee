#!/bin/sh
# run.sh EXAMPLE [ARGS...] -- runs an example on the test model
# ($TDIFF_FIXTURES/llada-tiny.gguf, in the repository); a missing model fails.
model="${TDIFF_FIXTURES:-tests/fixtures}/llada-tiny.gguf"
if [ ! -f "$model" ]; then
    echo "error: no $model" >&2
    exit 1
fi
exe=$1
shift
exec "$exe" "$model" "$@"
