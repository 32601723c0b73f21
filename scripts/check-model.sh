#!/usr/bin/env bash
# Model-checks every Promela model in tests/model/ with spin: an exhaustive
# search of every interleaving for assertion violations and invalid end
# states (deadlocks). A model lists its configurations in lines
# " * spin-config: FLAGS" (preprocessor flags); each is checked.
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
status=0
for m in "${models[@]}"; do
  mapfile -t configs < <(sed -n 's/^ \* spin-config:[ ]*//p' "$m")
  [ ${#configs[@]} -gt 0 ] || configs=("")
  for flags in "${configs[@]}"; do
    rm -f "$work"/pan* "$work"/*.trail
    cp "$m" "$work/"
    out="$work/out.txt"
    # shellcheck disable=SC2086
    (cd "$work" && spin -a $flags "$m" >/dev/null && gcc -O2 -w -o pan pan.c && ./pan -m100000 >"$out" 2>&1) || true
    if grep -q "errors: 0" "$out" && ! grep -q "max search depth too small" "$out"; then
      states=$(grep -Eo '[0-9.e+]+ states, stored' "$out" | head -1)
      echo "check-model: $m [${flags:-default}]: no errors ($states)"
    else
      cat "$out"
      (cd "$work" && ls ./*.trail >/dev/null 2>&1 && spin -t -p $flags "$m" | tail -40) || true
      echo "check-model: $m [${flags:-default}]: FAILED" >&2
      status=1
    fi
  done
done
exit $status
