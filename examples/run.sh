#!/bin/sh
# run.sh EXAMPLE [ARGS...] -- runs an example on the test model
# ($TDIFF_FIXTURES/llada-tiny.gguf); exit 77 (meson: skipped) when it is missing.
model="${TDIFF_FIXTURES:-tests/fixtures}/llada-tiny.gguf"
if [ ! -f "$model" ]; then
    echo "skip: no $model"
    exit 77
fi
exe=$1
shift
exec "$exe" "$model" "$@"
