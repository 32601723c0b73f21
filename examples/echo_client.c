/*
 * echo_client: N concurrent connections, each sending M messages of S bytes
 * to an echo server and checking every byte that comes back; prints the
 * throughput and the round-trip latency percentiles.
 *
 *   echo_client [--host H] [--port P] [--conns N] [--msgs M] [--size S]
 *               [--backend epoll|poll] [--grace MS]
 *
 * Each connection keeps one message in flight: write S bytes, read S bytes,
 * compare, record the round trip. Bytes carry a pattern derived from the
 * connection and the offset, so a byte from the wrong place is caught.
 * H may be a host name (looked up once, before connecting).
 *
 * SIGINT or SIGTERM stops it gracefully: each connection finishes the
 * round trip it is in (at most --grace milliseconds, default 5000; a
 * second signal stops at once), starts no other, and the figures for what
 * was done are printed.
 *
 * Exit status: 0 if every byte of every message came back (of every
 * message sent, when stopped by a signal), 1 otherwise (2 for usage and
 * unknown hosts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shutdown_signal.h"
#include "weft.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reports the first few failures only. */
static unsigned g_reported;
#define REPORT(...)                                        \
    do {                                                   \
        if (g_reported++ < 5) fprintf(stderr, __VA_ARGS__); \
    } while (0)

static inline unsigned char pattern(uint32_t id, uint64_t i) {
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)id << 32 | id);
    return (unsigned char)(x >> 29);
}

typedef struct shared {
    weft_sockaddr target;
    weft_cancel_token stop; /* cancelled on SIGINT/SIGTERM: no new round trip */
    uint32_t msgs;
    size_t size;
    uint32_t *lat_us; /* conns * msgs round trips, microseconds */
    uint64_t bytes;
    unsigned failed, mismatched;
} shared;

typedef struct client {
    WEFT_CORO_FIELDS;
    shared *sh;
    uint32_t id;
    weft_tcp_connect c;
    weft_tcp_stream s;
    union {
        weft_write_all w;
        weft_read_exact r;
    } op;
    uint32_t m;
    uint64_t off, t0;
    unsigned char *out, *in;
} client;

static void client_cleanup(client *self) {
    weft_tcp_stream_close(&self->s);
    free(self->out);
    free(self->in);
}

WEFT_ASYNC(client, client_cleanup) {
    WEFT_BEGIN();
    self->out = malloc(self->sh->size);
    self->in = malloc(self->sh->size);
    if (!self->out || !self->in) goto failed;
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->sh->target));
    if (self->c.result) {
        REPORT("echo_client: connect: %s\n", weft_strerror(self->c.result));
        goto failed;
    }
    self->s = self->c.stream;
    if (weft_tcp_stream_set_nodelay(&self->s, true) < 0) {
        /* Not fatal: latency figures then include Nagle's delays. */
    }
    for (self->m = 0; self->m < self->sh->msgs; self->m++) {
        if (weft_cancel_token_is_cancelled(&self->sh->stop)) break; /* stopping: finish here */
        for (size_t i = 0; i < self->sh->size; i++) self->out[i] = pattern(self->id, self->off + i);
        self->t0 = now_ns();
        WEFT_AWAIT(weft_write_all_init(&self->op.w, &self->s.stream, self->out, self->sh->size));
        if (self->op.w.result) {
            REPORT("echo_client: write: %s\n", weft_strerror(self->op.w.result));
            goto failed;
        }
        WEFT_AWAIT(weft_read_exact_init(&self->op.r, &self->s.stream, self->in, self->sh->size));
        if (self->op.r.result) {
            REPORT("echo_client: read: %s\n", weft_strerror(self->op.r.result));
            goto failed;
        }
        {
            uint64_t us = (now_ns() - self->t0) / 1000;
            self->sh->lat_us[(size_t)self->id * self->sh->msgs + self->m] =
                us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
        if (memcmp(self->in, self->out, self->sh->size) != 0) {
            self->sh->mismatched++;
            goto failed;
        }
        self->off += self->sh->size;
        self->sh->bytes += self->sh->size;
    }
    WEFT_RETURN();
failed:
    self->sh->failed++;
    WEFT_END();
}

typedef struct run_all {
    WEFT_CORO_FIELDS;
    shared *sh;
    uint32_t conns;
    weft_task_tracker *tracker;
    shutdown_signals *sigs;
    uint64_t grace_ms;
    client tmpl;
    uint32_t i;
    weft_task_tracker_wait done;
    weft_timeout grace;
    shutdown_signal sig;
    weft_select sel;
    weft_future *kids[2];
    bool interrupted;
    size_t cut_off; /* connections stopped in the middle of a round trip */
} run_all;

WEFT_ASYNC(run_all, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->conns; self->i++) {
        memset(&self->tmpl, 0, sizeof self->tmpl);
        client_start(&self->tmpl);
        self->tmpl.sh = self->sh;
        self->tmpl.id = self->i;
        weft_join_handle h = WEFT_TRACKER_SPAWN(self->tracker, cx->runtime, &self->tmpl, id, NULL);
        if (h.result) self->sh->failed++; /* never ran: the spawn failed */
        weft_join_handle_detach(&h);
    }
    weft_task_tracker_close(self->tracker);
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           weft_task_tracker_wait_init(&self->done, self->tracker),
                           shutdown_signal_init(&self->sig, self->sigs)));
    if (self->sel.winner == 0) WEFT_RETURN();
    /* A signal: every connection finishes its round trip, within the grace
     * period or until a second signal. */
    self->interrupted = true;
    fprintf(stderr, "echo_client: %s, finishing the round trips in flight\n",
            self->sig.result ? weft_strerror(self->sig.result) : strsignal(self->sig.signo));
    weft_cancel_token_cancel(&self->sh->stop);
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           weft_timeout_init(&self->grace,
                                             weft_task_tracker_wait_init(&self->done, self->tracker),
                                             self->grace_ms),
                           shutdown_signal_init(&self->sig, self->sigs)));
    self->cut_off = weft_task_tracker_len(self->tracker);
    WEFT_END();
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A whole decimal number no larger than `max`, or exit through usage(). */
static void usage(void);
static unsigned long number(const char *v, unsigned long max) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n > max) usage();
    return n;
}

static void usage(void) {
    fprintf(stderr, "usage: echo_client [--host H] [--port P] [--conns N] [--msgs M] [--size S] "
                    "[--backend epoll|poll] [--grace MS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    unsigned port = 0, conns = 100, msgs = 1000;
    size_t size = 64;
    uint64_t grace_ms = 5000;
    weft_io_backend backend = WEFT_IO_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--port")) port = (unsigned)number(v, 65535);
        else if (!strcmp(a, "--conns")) conns = (unsigned)number(v, 1000000);
        else if (!strcmp(a, "--msgs")) msgs = (unsigned)number(v, 100000000);
        else if (!strcmp(a, "--size")) size = number(v, 1ul << 30);
        else if (!strcmp(a, "--grace")) grace_ms = number(v, 86400000);
        else if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "epoll")) backend = WEFT_IO_EPOLL;
            else if (!strcmp(v, "poll")) backend = WEFT_IO_POLL;
            else usage();
        } else usage();
    }
    if (!port || !conns || !msgs || !size) usage();

    shared sh = {0};
    char addr[300];
    int an = snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (an < 0 || (size_t)an >= sizeof addr) {
        fprintf(stderr, "echo_client: host name too long\n");
        return 2;
    }
    /* SIGINT and SIGTERM are weft's from here on: none is missed. */
    shutdown_signals sigs;
    int err = shutdown_signals_listen(&sigs);
    if (err) {
        fprintf(stderr, "echo_client: signals: %s\n", weft_strerror(err));
        return 1;
    }
    weft_task_tracker *tracker = NULL;
    err = weft_cancel_token_init(&sh.stop);
    if (!err) err = weft_task_tracker_create(&tracker);
    weft_runtime_options opts = {0};
    opts.io_backend = backend;
    weft_runtime *rt = NULL;
    if (!err) err = weft_runtime_create(&rt, &opts);
    if (err) {
        fprintf(stderr, "echo_client: %s\n", weft_strerror(err));
        weft_runtime_destroy(rt);
        shutdown_signals_destroy(&sigs);
        weft_task_tracker_destroy(tracker);
        weft_cancel_token_destroy(&sh.stop);
        return 1;
    }
    /* One lookup for every connection (a name runs on the blocking pool). */
    weft_resolve res;
    weft_resolve_init(&res, addr, &sh.target, 1);
    err = weft_block_on(rt, &res.base);
    if (err || res.result < 1) {
        fprintf(stderr, "echo_client: %s: %s\n", addr, weft_strerror(err ? err : res.result));
        weft_runtime_destroy(rt);
        shutdown_signals_destroy(&sigs);
        weft_task_tracker_destroy(tracker);
        weft_cancel_token_destroy(&sh.stop);
        return 2;
    }
    sh.msgs = msgs;
    sh.size = size;
    sh.lat_us = calloc((size_t)conns * msgs, sizeof *sh.lat_us);
    run_all *root = calloc(1, sizeof *root);
    if (!sh.lat_us || !root) {
        fprintf(stderr, "echo_client: out of memory\n");
        free(sh.lat_us);
        free(root);
        weft_runtime_destroy(rt);
        shutdown_signals_destroy(&sigs);
        weft_task_tracker_destroy(tracker);
        weft_cancel_token_destroy(&sh.stop);
        return 1;
    }
    run_all_start(root);
    root->sh = &sh;
    root->conns = conns;
    root->tracker = tracker;
    root->sigs = &sigs;
    root->grace_ms = grace_ms;
    uint64_t t0 = now_ns();
    err = weft_block_on(rt, &root->base);
    double secs = (double)(now_ns() - t0) / 1e9;
    weft_runtime_destroy(rt); /* drops connections cut off after the grace period */
    shutdown_signals_destroy(&sigs);
    weft_task_tracker_destroy(tracker);
    weft_cancel_token_destroy(&sh.stop);
    bool interrupted = root->interrupted;
    size_t cut_off = root->cut_off;

    uint64_t done = sh.bytes / size;
    size_t n = 0;
    for (size_t i = 0; i < (size_t)conns * msgs; i++)
        if (sh.lat_us[i]) sh.lat_us[n++] = sh.lat_us[i];
    qsort(sh.lat_us, n, sizeof *sh.lat_us, cmp_u32);
#define PCT(p) (n ? sh.lat_us[(size_t)((double)(n - 1) * (p))] : 0)
    printf("echo_client: %u conns x %u msgs x %zu bytes to %s: %llu messages in %.3f s\n", conns,
           msgs, size, addr, (unsigned long long)done, secs);
    printf("throughput: %.0f msgs/s, %.2f MB/s each way\n", (double)done / secs,
           (double)sh.bytes / secs / 1e6);
    printf("latency us: p50 %u  p90 %u  p99 %u  p99.9 %u  max %u\n", PCT(0.50), PCT(0.90),
           PCT(0.99), PCT(0.999), n ? sh.lat_us[n - 1] : 0);
    printf("errors: %u failed connections, %u mismatched messages\n", sh.failed, sh.mismatched);
    if (interrupted)
        printf("stopped by a signal: %zu connections cut off in a round trip\n", cut_off);
    free(sh.lat_us);
    free(root);
    bool complete = interrupted || done == (uint64_t)conns * msgs;
    return (err || sh.failed || cut_off || !complete) ? 1 : 0;
}
