#!/usr/bin/env bash
# check-symbols.sh BUILD_DIR: every global symbol that libweft defines is
# in weft's namespace, so a program linked against it (statically too) can
# never clash with it: public symbols start with weft_, and those the shared
# library does not export (internal ones) with weft__.
set -euo pipefail
dir=$1
# AddressSanitizer gives every global variable an ODR indicator named
# __odr_asan.<variable> (GCC has no switch to turn it off): it is checked
# as the variable it stands for.
defined() { nm "$@" --defined-only | awk '$2 ~ /^[A-Z]$/ && $2 != "U" && $2 != "W" && $2 != "V" {print $3}' | sed 's/^__odr_asan\.//' | sort -u; }
bad=0
outside=$(defined -g "$dir/libweft.a" | grep -v '^weft_' || true)
if [ -n "$outside" ]; then
  echo "check-symbols: global symbols outside the weft_ namespace in libweft.a:" >&2
  echo "$outside" | sed 's/^/  /' >&2
  bad=1
fi
exported=$(defined -D "$dir/libweft.so")
internal=$(comm -23 <(defined -g "$dir/libweft.a") <(echo "$exported") | grep -v '^weft__' || true)
if [ -n "$internal" ]; then
  echo "check-symbols: internal symbols (not exported) must start with weft__:" >&2
  echo "$internal" | sed 's/^/  /' >&2
  bad=1
fi
leaked=$(echo "$exported" | grep -v '^weft_' || true)
if [ -n "$leaked" ]; then
  echo "check-symbols: the shared library exports symbols outside weft_:" >&2
  echo "$leaked" | sed 's/^/  /' >&2
  bad=1
fi
# The optional libraries (libs/<name>: libweft-<name>.a and .so) follow the same rules.
for a in "$dir"/libs/libweft-*.a "$dir"/libs/*/libweft-*.a; do
  [ -f "$a" ] || continue
  so=${a%.a}.so
  name=$(basename "$a")
  out=$(defined -g "$a" | grep -v '^weft_' || true)
  if [ -n "$out" ]; then
    echo "check-symbols: global symbols outside the weft_ namespace in $name:" >&2
    echo "$out" | sed 's/^/  /' >&2
    bad=1
  fi
  if [ -f "$so" ]; then
    exp=$(defined -D "$so")
    int=$(comm -23 <(defined -g "$a") <(echo "$exp") | grep -v '^weft__' || true)
    if [ -n "$int" ]; then
      echo "check-symbols: internal symbols of $name (not exported) must start with weft__:" >&2
      echo "$int" | sed 's/^/  /' >&2
      bad=1
    fi
    leak=$(echo "$exp" | grep -v '^weft_' || true)
    if [ -n "$leak" ]; then
      echo "check-symbols: $(basename "$so") exports symbols outside weft_:" >&2
      echo "$leak" | sed 's/^/  /' >&2
      bad=1
    fi
  fi
done
[ "$bad" = 0 ] && echo "check-symbols: $(echo "$exported" | wc -l) exported and $(defined -g "$dir/libweft.a" | wc -l) global symbols, all in weft's namespace"
exit $bad
