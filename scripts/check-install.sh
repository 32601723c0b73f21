#!/usr/bin/env bash
# check-install.sh BUILD_DIR: installs weft into a temporary prefix and builds
# a small program against it twice, with pkg-config and with find_package.
set -euo pipefail
build=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

cat > "$tmp/main.c" <<'C'
#include <weft.h>
#include <stdio.h>
int main(void) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0) return 1;
    weft_sleep s;
    int rc = weft_block_on(rt, weft_sleep_init(&s, 1));
    weft_runtime_destroy(rt);
    printf("installed weft works: %d\n", rc);
    return rc;
}
C

# pkg-config, shared library
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -o "$tmp/with_pc" "$tmp/main.c" $(pkg-config --cflags --libs weft)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir weft)" "$tmp/with_pc"
# pkg-config, static library
cc -o "$tmp/with_pc_static" "$tmp/main.c" $(pkg-config --cflags weft) \
  "$(pkg-config --variable=libdir weft)/libweft.a" -pthread
"$tmp/with_pc_static"

# CMake package
mkdir -p "$tmp/consumer"
cp "$tmp/main.c" "$tmp/consumer/main.c"
cat > "$tmp/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(weft REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE weft::weft)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
"$tmp/consumer/build/consumer"
echo "check-install: pkg-config (shared, static) and find_package(weft) all build and run"
