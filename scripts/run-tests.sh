#!/usr/bin/env bash
# run-tests.sh BUILD_DIR LABEL: runs the CTest suite of BUILD_DIR (all
# tests, or only those labelled LABEL), then the `io` tests again on the
# poll(2) backend.
set -euo pipefail
dir=$1; label=${2:-all}
args=(--test-dir "$dir" --output-on-failure -j 2)
[ "$label" = all ] || args+=(-L "$label")
ctest "${args[@]}"
if [ "$label" = all ] && ctest --test-dir "$dir" -N -L io | grep -q 'Total Tests: [1-9]'; then
  echo "== io tests on the poll(2) backend =="
  WEFT_IO_BACKEND=poll ctest "${args[@]}" -L io
fi
