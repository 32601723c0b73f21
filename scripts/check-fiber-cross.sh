#!/usr/bin/env bash
# Builds weft for another architecture with a cross compiler and runs the
# fiber check (tests/cross/fiber_cross_check.c) and the context-switch
# benchmark under qemu-user. On Debian 12:
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# Usage: scripts/check-fiber-cross.sh [aarch64]    (the default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${1:-aarch64}
TRIPLE=$ARCH-linux-gnu
CC=${CROSS_CC:-$TRIPLE-gcc}
QEMU=${QEMU:-qemu-$ARCH}
SYSROOT=${CROSS_SYSROOT:-/usr/$TRIPLE}
for tool in "$CC" "$QEMU"; do
  command -v "$tool" > /dev/null || { echo "check-fiber-cross: $tool not found"; exit 2; }
done
B=$ROOT/build/cross-$ARCH
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_SYSTEM_NAME=Linux \
  -DCMAKE_SYSTEM_PROCESSOR="$ARCH" -DCMAKE_C_COMPILER="$CC" \
  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=ON -DWEFT_BUILD_BENCH=ON > "$B.log" 2>&1 ||
  { cat "$B.log"; exit 1; }
cmake --build "$B" -j "$(nproc)" --target weft_static fiber_echo_server bench_fiber_switch >> "$B.log" 2>&1 ||
  { tail -30 "$B.log"; exit 1; }
"$CC" -O2 -g -I"$ROOT/include" -o "$B/fiber_cross_check" "$ROOT/tests/cross/fiber_cross_check.c" \
  "$B/libweft.a" -lpthread
file "$B/fiber_cross_check" | sed 's/^/check-fiber-cross: /'
"$QEMU" -L "$SYSROOT" "$B/fiber_cross_check"
"$QEMU" -L "$SYSROOT" "$B/bench/bench_fiber_switch" --n 200000 2>&1 | sed 's/^/check-fiber-cross (emulated, times mean nothing): /'
