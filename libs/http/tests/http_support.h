/* Helpers for libweft-http's tests: a server running on its own runtime in
 * a background thread (the test's main thread plays the client with plain
 * blocking sockets, curl, wrk or weft's own client), and raw-socket
 * exchanges. */
#ifndef WEFT_HTTP_TEST_SUPPORT_H
#define WEFT_HTTP_TEST_SUPPORT_H

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "support.h"
#include "weft/http.h"

/* ---- a server in a thread ------------------------------------------------------- */

typedef struct stop_wait {
    WEFT_CORO_FIELDS;
    gate g;
    gate_state *st;
    weft_http_server *srv;
    uint64_t grace_ms;
    bool graceful;
    weft_http_server_shutdown sd;
    int shutdown_result;
} stop_wait;

WEFT_ASYNC(stop_wait, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, self->st));
    if (self->graceful) {
        WEFT_AWAIT(weft_http_server_shutdown_init(&self->sd, self->srv, self->grace_ms));
        self->shutdown_result = self->sd.result;
    }
    WEFT_END();
}

typedef struct test_server {
    weft_runtime *rt;
    weft_http_server *srv;
    uint16_t port;
    pthread_t thread;
    gate_state stop;
    stop_wait root;
    int block_rc;
} test_server;

static void *test_server_thread(void *arg) {
    test_server *ts = arg;
    ts->block_rc = weft_block_on(ts->rt, &ts->root.base);
    return NULL;
}

/* Starts a server with `opts` on 127.0.0.1 (any port). */
static inline __attribute__((unused)) void test_server_start(test_server *ts,
                                                             const weft_http_server_options *opts) {
    memset(ts, 0, sizeof *ts);
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&ts->rt, &ro), 0);
    assert_int_equal(weft_http_server_create(&ts->srv, ts->rt, opts), 0);
    assert_int_equal(weft_http_server_listen(ts->srv, "127.0.0.1:0", 0), 0);
    ts->port = weft_http_server_port(ts->srv);
    assert_true(ts->port > 0);
    gate_state_init(&ts->stop);
    stop_wait_start(&ts->root);
    ts->root.st = &ts->stop;
    ts->root.srv = ts->srv;
    assert_int_equal(pthread_create(&ts->thread, NULL, test_server_thread, ts), 0);
}

/* Graceful shutdown with `grace_ms`; returns the shutdown future's result. */
static inline __attribute__((unused)) int test_server_shutdown(test_server *ts, uint64_t grace_ms) {
    ts->root.graceful = true;
    ts->root.grace_ms = grace_ms;
    gate_open(&ts->stop);
    pthread_join(ts->thread, NULL);
    return ts->root.shutdown_result;
}

/* Stops the server (gracefully, 2 s, unless already shut down) and frees everything. */
static inline __attribute__((unused)) void test_server_stop(test_server *ts) {
    if (!ts->root.graceful) test_server_shutdown(ts, 2000);
    weft_http_server_destroy(ts->srv);
    weft_runtime_destroy(ts->rt);
    gate_state_destroy(&ts->stop);
}

static inline __attribute__((unused)) weft_http_server_stats test_server_stats(test_server *ts) {
    weft_http_server_stats st;
    weft_http_server_stats_get(ts->srv, &st);
    return st;
}

/* ---- raw sockets ------------------------------------------------------------------- */

static inline __attribute__((unused)) int raw_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline __attribute__((unused)) void raw_send(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        /* the system call itself: the fault tests wrap send() */
        ssize_t w = syscall(SYS_sendto, fd, c, n, MSG_NOSIGNAL, NULL, 0);
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

static inline __attribute__((unused)) void raw_sends(int fd, const char *s) { raw_send(fd, s, strlen(s)); }

/* Reads until the peer closes, `want` bytes came, or `ms` pass without a
 * byte. Returns the bytes read (NUL-terminated in buf); *eof says whether
 * the peer closed. */
static inline __attribute__((unused)) size_t raw_recv(int fd, char *buf, size_t cap, size_t want,
                                                      int ms, bool *eof) {
    size_t n = 0;
    if (eof) *eof = false;
    while (n + 1 < cap && n < want) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms);
        if (r <= 0) break;
        ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
        if (got <= 0) {
            if (eof) *eof = true;
            break;
        }
        n += (size_t)got;
    }
    buf[n] = 0;
    return n;
}

/* Counts non-overlapping occurrences of `needle` in `hay`. */
static inline __attribute__((unused)) int count_of(const char *hay, const char *needle) {
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += l) n++;
    return n;
}

/* Runs a shell command, returns its exit status and its output (static). */
static inline __attribute__((unused)) int run_cmd(const char *cmd, char *out, size_t cap) {
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = 0;
    size_t r;
    while (n + 1 < cap && (r = fread(out + n, 1, cap - 1 - n, f)) > 0) n += r;
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline __attribute__((unused)) bool have_cmd(const char *name) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* A test that needs a program it cannot find fails, saying why. */
#define REQUIRE_CMD(name)                                                                   \
    do {                                                                                    \
        if (!have_cmd(name)) fail_msg("%s is not installed (run scripts/deps.sh as root)", name); \
    } while (0)

#endif
