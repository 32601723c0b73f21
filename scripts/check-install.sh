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
# An application built with checks (no NDEBUG) against the release library,
# and one built with NDEBUG: the library polls futures first (select
# losers, join children, timeout inners) and the application polls them
# afterwards, so inline code must agree whatever the flags on each side.
cat > "$tmp/mixed.c" <<'C'
#include <weft.h>
#include <stdio.h>
typedef struct app {
    WEFT_CORO_FIELDS;
    weft_select sel;
    weft_future *kids[2];
    weft_sleep fast, slow;
    weft_join join;
    weft_future *jkids[2];
    weft_sleep a, b;
    weft_timeout to;
    weft_sleep inner;
} app;
WEFT_ASYNC(app, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_KEEP_LOSERS,
                           weft_sleep_init(&self->fast, 1), weft_sleep_init(&self->slow, 5)));
    /* The loser, polled first by the library. (Usually `slow`; on a loaded
     * machine both may have expired and the rotation may pick `slow`.) */
    WEFT_AWAIT(self->sel.winner == 0 ? &self->slow.base : &self->fast.base);
    WEFT_AWAIT(WEFT_JOIN(&self->join, self->jkids, weft_sleep_init(&self->a, 1),
                         weft_sleep_init(&self->b, 2)));
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_sleep_init(&self->inner, 1), 1000));
    WEFT_END();
}
int main(void) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0) return 1;
    app a;
    app_start(&a);
    int rc = weft_block_on(rt, &a.base);
    weft_runtime_destroy(rt);
    printf("mixed build flags: %d\n", rc);
    return rc;
}
C
for flags in "-UNDEBUG -DWEFT_CHECKS=1" "-DNDEBUG"; do
  cc $flags -o "$tmp/mixed" "$tmp/mixed.c" $(pkg-config --cflags weft) \
    "$(pkg-config --variable=libdir weft)/libweft.a" -pthread
  "$tmp/mixed"
done
# libweft-http: pkg-config weft-http and find_package(weft COMPONENTS http)
# -> weft::http, with a server and a client talking over loopback.
if [ -f "$build/weft-http.pc" ]; then
cat > "$tmp/http.c" <<'C'
#include <weft.h>
#include <weft/http.h>
#include <stdio.h>
#include <string.h>
static void hello(weft_http_request *req, weft_http_response *res) {
    weft_http_response_send(res, 200, "text/plain", "installed", 9);
}
static weft_http_server *srv;
static void *get(void *arg) {
    weft_http_client *c;
    weft_http_client_create(&c, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", weft_http_server_port(srv));
    weft_http_client_request rq = {.url = url};
    weft_http_client_response r;
    char *body = NULL;
    int rc = weft_http_fiber_fetch(c, &rq, &r);
    if (rc == 0 && weft_http_fiber_read_body(r.body, &body, 100) == 9 && strcmp(body, "installed") == 0)
        *(int *)arg = 0;
    weft_http_client_response_destroy(&r);
    weft_http_client_destroy(c);
    weft_http_fiber_server_shutdown(srv, 1000);
    return body;
}
int main(void) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0) return 1;
    weft_http_server_options o = {.handler = {.fn = hello}};
    if (weft_http_server_create(&srv, rt, &o) || weft_http_server_listen(srv, "127.0.0.1:0", 0)) return 1;
    int ok = 1;
    weft_fiber f;
    weft_block_on(rt, weft_fiber_init(&f, get, &ok, NULL));
    weft_http_server_destroy(srv);
    weft_runtime_destroy(rt);
    printf("installed weft-http works: %d\n", ok);
    return ok;
}
C
cc -o "$tmp/http_pc" "$tmp/http.c" $(pkg-config --cflags --libs weft-http)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir weft-http)" "$tmp/http_pc"
mkdir -p "$tmp/http_consumer"
cp "$tmp/http.c" "$tmp/http_consumer/main.c"
cat > "$tmp/http_consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(http_consumer C)
find_package(weft REQUIRED COMPONENTS http)
add_executable(http_consumer main.c)
target_link_libraries(http_consumer PRIVATE weft::http)
CM
cmake -S "$tmp/http_consumer" -B "$tmp/http_consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/http_consumer/build" >/dev/null
"$tmp/http_consumer/build/http_consumer"
fi

# The optional libraries built in this tree (libs/): each through its
# pkg-config file (shared and static) and as a component of weft's CMake
# package, with a program that uses its header and library.
adapters=()
for name in redis pq curl; do
  [ -f "$build/weft-$name.pc" ] && adapters+=("$name")
done
for name in "${adapters[@]}"; do
  case "$name" in
  redis) body='redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", 1);
    weft_redis *c = NULL;
    int rc = ac ? weft_redis_attach(&c, NULL, ac) : -1; /* -EINVAL: no runtime */
    if (ac) redisAsyncFree(ac);
    ok = rc == -EINVAL;' ;;
  pq) body='weft_pq_results_free(NULL, 0);
    ok = PQlibVersion() > 0 && weft_pq_errmsg(NULL, NULL, 0) == -EINVAL;' ;;
  curl) body='weft_curl *m = NULL;
    ok = weft_curl_create(&m, rt) == 0 && curl_version() != NULL;
    weft_curl_destroy(m);' ;;
  esac
  cat > "$tmp/use_$name.c" <<C
#include <errno.h>
#include <stdio.h>
#include <weft.h>
#include <weft/$name.h>
int main(void) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0) return 1;
    int ok = 0;
    $body
    weft_runtime_destroy(rt);
    printf("installed weft-$name works: %d\n", ok);
    return ok ? 0 : 1;
}
C
  cc -o "$tmp/use_$name" "$tmp/use_$name.c" $(pkg-config --cflags --libs "weft-$name")
  LD_LIBRARY_PATH="$(pkg-config --variable=libdir weft)" "$tmp/use_$name"
  cc -o "$tmp/use_${name}_static" "$tmp/use_$name.c" $(pkg-config --cflags "weft-$name") \
    "$(pkg-config --variable=libdir weft)/libweft-$name.a" "$(pkg-config --variable=libdir weft)/libweft.a" \
    $(pkg-config --libs-only-l $(pkg-config --print-requires "weft-$name" | grep -v '^weft' )) -pthread
  "$tmp/use_${name}_static"
  mkdir -p "$tmp/consumer_$name"
  cp "$tmp/use_$name.c" "$tmp/consumer_$name/main.c"
  cat > "$tmp/consumer_$name/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer_$name C)
find_package(weft REQUIRED COMPONENTS $name)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE weft::$name)
CM
  cmake -S "$tmp/consumer_$name" -B "$tmp/consumer_$name/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
  cmake --build "$tmp/consumer_$name/build" >/dev/null
  "$tmp/consumer_$name/build/consumer"
done
[ ${#adapters[@]} -gt 0 ] && echo "check-install: weft-${adapters[*]}: pkg-config (shared, static) and find_package(weft COMPONENTS ...) build and run"
echo "check-install: pkg-config (shared, static), find_package(weft) and mixed build flags all build and run"

# weft-tls (libs/tls): weft-tls.pc and the weft::tls component.
if [ ! -e "$build/libs/tls/libweft-tls.so" ]; then
  echo "check-install: weft-tls was not built (OpenSSL 3's headers are missing: run scripts/deps.sh as root)" >&2
  exit 1
fi
cat > "$tmp/tls.c" <<'C'
#include <weft.h>
#include <weft/tls.h>
#include <stdio.h>
int main(void) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0) return 1;
    weft_tls_context *ctx;
    int rc = weft_tls_context_create(&ctx, WEFT_TLS_CLIENT, NULL);
    if (rc) return 2;
    weft_unix_stream a, b;
    if (weft_unix_stream_pair(&a, &b, rt) != 0) return 3;
    weft_tls_stream s;
    if (weft_tls_stream_client(&s, ctx, &a.stream, "localhost") != 0) return 4;
    char buf[4];
    weft_read r;
    weft_block_on(rt, weft_read_init(&r, &s.stream, buf, sizeof buf));
    weft_tls_stream_destroy(&s);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    weft_tls_context_destroy(ctx);
    weft_runtime_destroy(rt);
    printf("installed weft-tls works: %s\n", weft_strerror((int)r.result));
    return r.result == -ENOTCONN ? 0 : 5;
}
C
cc -o "$tmp/tls_pc" "$tmp/tls.c" $(pkg-config --cflags --libs weft-tls)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir weft)" "$tmp/tls_pc"
cc -o "$tmp/tls_pc_static" "$tmp/tls.c" $(pkg-config --cflags weft-tls) \
  "$(pkg-config --variable=libdir weft)/libweft-tls.a" "$(pkg-config --variable=libdir weft)/libweft.a" \
  $(pkg-config --libs libssl libcrypto) -pthread
"$tmp/tls_pc_static"
mkdir -p "$tmp/tls_consumer"
cp "$tmp/tls.c" "$tmp/tls_consumer/main.c"
cat > "$tmp/tls_consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(tls_consumer C)
find_package(weft REQUIRED COMPONENTS tls)
add_executable(tls_consumer main.c)
target_link_libraries(tls_consumer PRIVATE weft::tls)
CM
cmake -S "$tmp/tls_consumer" -B "$tmp/tls_consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/tls_consumer/build" >/dev/null
"$tmp/tls_consumer/build/tls_consumer"
echo "check-install: weft-tls through pkg-config (shared, static) and find_package(weft COMPONENTS tls)"
