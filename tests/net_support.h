/* Helpers for the I/O and network tests: descriptor counting, the backend
 * in use, runtime creation, and a small echo server task. */
#ifndef WEFT_TEST_NET_SUPPORT_H
#define WEFT_TEST_NET_SUPPORT_H

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#include "fd_support.h"
#include "support.h"
#include "io/driver.h"
#include "runtime/rt.h"

/* The backend the environment selects ("epoll" or "poll"). */
static inline __attribute__((unused)) const char *backend_name(weft_runtime *rt) {
    return weft__runtime_driver(rt)->backend->name;
}

static inline __attribute__((unused)) size_t registrations(weft_runtime *rt) {
    return atomic_load(&weft__runtime_driver(rt)->registrations);
}

/* Raises the soft descriptor limit to at least `want` (or the hard limit). */
static inline __attribute__((unused)) rlim_t raise_nofile(rlim_t want) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

static inline __attribute__((unused)) uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The byte at offset i of stream `id`: every byte checkable. */
static inline __attribute__((unused)) unsigned char pattern(uint32_t id, uint64_t i) {
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)id << 32 | id);
    return (unsigned char)(x >> 29);
}

/* ---- an echo connection task and an accept loop ---------------------------- */

typedef struct echo_conn {
    WEFT_CORO_FIELDS;
    weft_tcp_stream s;
    union {
        weft_read rd;
        weft_write_all wa;
    } op;
    size_t n;
    _Atomic uint64_t *echoed; /* bytes echoed, summed over connections */
    unsigned char buf[4096];
} echo_conn;

static void echo_conn_cleanup(echo_conn *self) { weft_tcp_stream_close(&self->s); }

WEFT_ASYNC(echo_conn, echo_conn_cleanup) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_read_init(&self->op.rd, &self->s.stream, self->buf, sizeof self->buf));
        if (self->op.rd.result <= 0) break;
        self->n = (size_t)self->op.rd.result;
        WEFT_AWAIT(weft_write_all_init(&self->op.wa, &self->s.stream, self->buf, self->n));
        if (self->op.wa.result < 0) break;
        if (self->echoed) atomic_fetch_add(self->echoed, self->n);
    }
    WEFT_END();
}

/* What an echo server saw (shared with the test through a pointer). */
typedef struct echo_stats {
    _Atomic uint64_t echoed;
    atomic_uint accepted, errors, emfile;
    atomic_int last_error;
} echo_stats;

/* Accepts until an accept fails 1000 times; spawns an echo_conn per
 * connection. Counts errors by kind in *st (or its own copy). */
typedef struct echo_server {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    echo_stats *st;
    echo_stats own;
    weft_tcp_accept acc;
    echo_conn conn;
    unsigned accepted; /* also here, as a spawn output */
} echo_server;

WEFT_ASYNC(echo_server, NULL) {
    WEFT_BEGIN();
    if (!self->st) self->st = &self->own;
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
        if (self->acc.result < 0) {
            self->st->errors++;
            self->st->last_error = self->acc.result;
            if (self->acc.result == -EMFILE || self->acc.result == -ENFILE) self->st->emfile++;
            if (self->st->errors > 1000) break;
            continue;
        }
        self->accepted++;
        self->st->accepted++;
        weft_tcp_stream_set_nodelay(&self->acc.stream, true);
        echo_conn_start(&self->conn);
        self->conn.s = self->acc.stream;
        /* Connection tasks may outlive this one: count into shared stats only. */
        self->conn.echoed = self->st == &self->own ? NULL : &self->st->echoed;
        WEFT_SPAWN_DETACHED(cx->runtime, &self->conn);
    }
    WEFT_END();
}

#endif
