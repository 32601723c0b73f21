#!/usr/bin/env bash
# http-fuzz.sh [SECONDS]: builds libweft-http's fuzz targets with clang's
# libFuzzer (and ASan+UBSan) and runs each for SECONDS (default
# $HTTP_FUZZ_SECS, else 30) from the corpus in libs/http/fuzz/corpus/.
# New inputs that widen coverage go to build/fuzz/new/<target>/ (add the
# interesting ones to the corpus by hand); a crash fails the run and leaves
# the input in build/fuzz/. `make check` runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-${HTTP_FUZZ_SECS:-30}}
out=$root/build/fuzz
mkdir -p "$out"
if ! command -v clang >/dev/null; then
  echo "http-fuzz: clang is missing (apt-get install clang, or run scripts/deps.sh as root)" >&2
  exit 1
fi
src=$root/libs/http
for t in request response chunked; do
  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
    -I"$root/include" -I"$src/src" -o "$out/fuzz_$t" \
    "$src/fuzz/fuzz_$t.c" "$src/src/parse.c" "$src/src/chunked.c"
done
for t in request response chunked; do
  mkdir -p "$out/new/$t"
  echo "http-fuzz: $t for ${secs}s"
  (cd "$out" && ./fuzz_$t -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
      "$out/new/$t" "$src/fuzz/corpus/$t" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true)
  # libFuzzer exits non-zero and leaves crash-*/leak-*/timeout-* files on a finding.
  if compgen -G "$out/crash-*" > /dev/null || compgen -G "$out/leak-*" > /dev/null ||
     compgen -G "$out/timeout-*" > /dev/null; then
    echo "http-fuzz: $t found a failing input:" $out/crash-* $out/leak-* $out/timeout-* >&2
    exit 1
  fi
done
echo "http-fuzz: every target ran ${secs}s without a finding"
