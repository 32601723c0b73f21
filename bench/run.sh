#!/usr/bin/env bash
# make bench: builds weft's benchmark programs (Release) and the Tokio peer
# (offline, from Debian's crates), runs every benchmark on both sides,
# alternating, for several rounds, and writes docs/benchmarks.md.
#
# Environment:
#   BENCH_ROUNDS=5        rounds per benchmark and side
#   BENCH_ONLY=a,b*       only these benchmarks (names or fnmatch patterns)
#   BENCH_ROUNDS_MT=...   rounds for one suite (BENCH_ROUNDS_<SUITE>)
#   BENCH_SUITES=ct,mt,sync,fiber,process,fs suites to run: ct (current_thread), mt
#                         (multi_thread, BENCH_MT workers, default nproc), sync,
#                         fiber (fibers against weft's futures), process (child
#                         processes), fs (files, against tokio::fs and blocking calls); only the sections
#                         of the suites that ran are rewritten in BENCH_OUT
#   BENCH_SCALE=1         the mt rows also run with this many workers, for the
#                         "1 -> N workers" table (0: not)
#   BENCH_TIMEOUT=180     seconds before one run is killed
#   BENCH_WARMUP=0        uncounted rounds run first
#   BENCH_QUIET=0.15      before each run, wait (up to BENCH_QUIET_WAIT=30 s)
#                         until other programs use less than this fraction of
#                         the CPU (0: don't wait); the report counts the runs
#                         that started on a busy machine
#   BENCH_STRACE=1        count system calls per task of the scheduler rows
#                         (one untimed run per side under strace -f -c; 0: no)
#   BENCH_BUILD_DIR=build/release   weft's CMake build (configured if absent)
#   BENCH_OUT=docs/benchmarks.md
#   CARGO=...             the cargo to use (default: found by scripts/bench-deps.sh)
#   RUSTC=...             the rustc (default: the one next to that cargo)
# Raw per-run results go to bench/out/latest.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BENCH_BUILD_DIR:-build/release}
PEER_TARGET=${BENCH_PEER_TARGET:-build/peers/tokio}
OUT=${BENCH_OUT:-docs/benchmarks.md}
JOBS=${JOBS:-$(nproc)}

# 1. Toolchains for the peers (cargo, Debian's Tokio crates, python3).
CARGO=$(bash scripts/bench-deps.sh --quiet --print-cargo | tail -n1)
# Use the rustc that comes with that cargo (Debian's cargo with Debian's
# rustc, rustup's proxy with rustup's), unless RUSTC says otherwise.
if [ -z "${RUSTC:-}" ] && [ -x "$(dirname "$CARGO")/rustc" ]; then
  export RUSTC="$(dirname "$CARGO")/rustc"
fi

# 2. weft's benchmark programs. A target that fails to build is reported by
#    the runner as a failed row, not fatal here.
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if grep -q '^WEFT_BUILD_BENCH:BOOL=OFF$' "$BUILD/CMakeCache.txt"; then
  echo "bench: $BUILD was configured with WEFT_BUILD_BENCH=OFF; turning it on"
  cmake -S . -B "$BUILD" -DWEFT_BUILD_BENCH=ON >/dev/null
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt"; then
  echo "bench: warning: $BUILD is not a Release build" >&2
fi
targets=(echo_server fiber_echo_server http_hello https_hello)
for src in bench/weft/*.c; do
  n=$(basename "$src" .c)
  targets+=("bench_$n")
done
keep_going=(-k)   # build the other programs when one fails
grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$BUILD/CMakeCache.txt" && keep_going=(-k 0)
echo "bench: building weft's ${#targets[@]} benchmark programs in $BUILD"
if ! cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" -- "${keep_going[@]}" \
     >"$BUILD/bench-build.log" 2>&1; then
  echo "bench: warning: some weft benchmarks did not build (see $BUILD/bench-build.log)" >&2
  grep -E 'error|undefined reference|No rule' "$BUILD/bench-build.log" | head -n 5 >&2 || true
fi

# 3. The Tokio peer. Cargo.lock is regenerated each time: resolution is
#    offline and deterministic, and a lock written by a newer cargo would
#    stop Debian's older cargo.
echo "bench: building the Tokio peer with $CARGO (${RUSTC:-rustc})"
rm -f bench/peers/tokio/Cargo.lock
(cd bench/peers/tokio && CARGO_TARGET_DIR="$ROOT/$PEER_TARGET" "$CARGO" build --release --offline --quiet)

# 4. Run and write the table.
echo "bench: building the tokio::sync peer"
rm -f bench/peers/tokio_sync/Cargo.lock
(cd bench/peers/tokio_sync && CARGO_TARGET_DIR="$ROOT/build/peers/tokio_sync" "$CARGO" build --release --offline --quiet)

echo "bench: building the tokio::fs peer"
rm -f bench/peers/tokio_fs/Cargo.lock
(cd bench/peers/tokio_fs && CARGO_TARGET_DIR="$ROOT/build/peers/tokio_fs" "$CARGO" build --release --offline --quiet)

mkdir -p bench/out
python3 bench/tools/bench.py \
  --var tokio_sync_bin="build/peers/tokio_sync/release/tokio_sync_bench" \
  --var tokio_fs_bin="build/peers/tokio_fs/release/tokio_fs_bench" \
  --root "$ROOT" \
  --weft-bin "$BUILD/bench" --weft-build "$BUILD" \
  --tokio-bin "$PEER_TARGET/release/tokio_bench" --tokio-target "$PEER_TARGET" \
  --tokio-lock bench/peers/tokio/Cargo.lock --cargo "$CARGO" \
  --out "$OUT" --json bench/out/latest.json

# The echo servers against Tokio, libuv, Go and the epoll floor: its own
# report, docs/benchmarks-echo.md (BENCH_ECHO=0 skips it).
if [ "${BENCH_ECHO:-1}" != 0 ]; then
  WEFT_ECHO_SERVER="$BUILD/examples/echo_server" bash bench/echo/run.sh
fi

# The HTTP server against hyper, nginx and h2o (TechEmpower plaintext and
# JSON), and over TLS against nginx: its own report, docs/benchmarks-http.md
# (BENCH_HTTP=0 skips it).
if [ "${BENCH_HTTP:-1}" != 0 ]; then
  WEFT_HTTP_SERVER="$BUILD/examples/http_hello" WEFT_HTTPS_SERVER="$BUILD/examples/https_hello" \
    bash bench/http/run.sh
fi
