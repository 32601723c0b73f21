#!/usr/bin/env bash
# run-tests.sh BUILD_DIR [LABEL]: runs the CTest suite of BUILD_DIR (every
# test, or only those labelled LABEL) on the current_thread runtime, again
# on the multi_thread runtime (WEFT_TEST_RUNTIME), and the `io` tests again
# on the poll(2) backend on both.
set -euo pipefail
dir=$1; label=${2:-all}
args=(--test-dir "$dir" --output-on-failure -j 2)
[ "$label" = all ] || args+=(-L "$label")
has_io=0
ctest --test-dir "$dir" -N -L io 2>/dev/null | grep -q 'Total Tests: [1-9]' && has_io=1

for runtime in current_thread multi_thread; do
  echo "== $dir: ${label} tests on the $runtime runtime =="
  WEFT_TEST_RUNTIME=$runtime ctest "${args[@]}"
  if [ "$has_io" = 1 ] && [ "$label" = all ]; then
    echo "== $dir: io tests on the poll(2) backend, $runtime runtime =="
    WEFT_TEST_RUNTIME=$runtime WEFT_IO_BACKEND=poll ctest "${args[@]}" -L io
  fi
done
