#!/usr/bin/env bash
# build-docs.sh [OUT_DIR]: generates the reference manual (HTML) from the
# public headers and the guides in docs/, and fails if Doxygen reports
# anything: an undocumented public symbol, a broken reference, a bad
# command. Output: OUT_DIR/html/index.html (default build/docs).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build/docs}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if ! command -v doxygen >/dev/null; then
  echo "build-docs: doxygen is missing (apt-get install doxygen, or run scripts/deps.sh as root)" >&2
  exit 1
fi
sed -e "s|@SRC@|$src|g" -e "s|@OUT@|$out|g" "$src/docs/manual/Doxyfile.in" > "$out/Doxyfile"
rm -rf "$out/html"
doxygen "$out/Doxyfile"
if [ -s "$out/warnings.log" ]; then
  undocumented=$(grep -c "is not documented" "$out/warnings.log" || true)
  echo "build-docs: $(wc -l < "$out/warnings.log") warnings ($undocumented undocumented symbols):" >&2
  sed "s|$src/||" "$out/warnings.log" | head -60 >&2
  exit 1
fi
echo "build-docs: manual at ${out#$src/}/html/index.html, every public symbol documented"
