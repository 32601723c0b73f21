/*
 * echo_server: a TCP echo server on weft.
 *
 *   echo_server [--port P] [--backend epoll|poll] [--host ADDR] [--buf BYTES]
 *               [--nodelay 0|1] [--workers N] [--grace MS]
 *
 * Listens on ADDR:P (default 127.0.0.1, port 0 = any free port; ADDR may
 * be a host name), prints "listening on PORT" on stdout, and serves until
 * SIGINT or SIGTERM. Any failure to set up (arguments, memory, signals,
 * the runtime, the listener) is reported on stderr with exit status 1 (2
 * for usage).
 *
 * One task per connection: read what is there, write it all back, repeat.
 * Each read tries the system call first and waits only on EAGAIN; a read
 * shorter than the buffer tells the runtime that the socket is drained, so
 * the next read waits without a system call. TCP_NODELAY is on by default
 * (--nodelay 0 turns it off). The runtime is current_thread; --workers N
 * (N >= 1) runs a multi_thread runtime with N workers instead.
 *
 * Stopping gracefully (SIGINT or SIGTERM): the server stops accepting,
 * cancels a token that every connection watches — a connection finishes
 * the echo it is writing, reads no new request, shuts its write side down
 * (the client reads EOF), drops what the client still sends until the
 * client closes too (at most 2 s: closing with unread bytes would reset
 * the connection and could destroy answers in flight) and closes — and
 * waits, through a task tracker,
 * for every connection to finish, at most --grace milliseconds (default
 * 5000). Connections still open then are closed. A second signal during
 * the grace period closes them at once. Exit status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shutdown_signal.h"
#include "weft.h"

static size_t g_buf = 16384;
static bool g_nodelay = true;

/* ---- one connection --------------------------------------------------------- */

typedef struct conn {
    WEFT_CORO_FIELDS;
    weft_tcp_stream s;
    const weft_cancel_token *stop; /* the server's: cancelled when it stops */
    weft_read rd;
    union {
        weft_until_cancelled next; /* the next request, unless the server stops first */
        weft_write_all wa;
        weft_flush sh;
        weft_timeout linger;
    } op;
    size_t n;
    uint64_t linger_end;
    unsigned char *buf;
} conn;

/* How long a closing connection keeps reading what the client still sends. */
#define LINGER_MS 2000

static void conn_cleanup(conn *self) {
    weft_tcp_stream_close(&self->s);
    free(self->buf);
}

WEFT_ASYNC(conn, conn_cleanup) {
    WEFT_BEGIN();
    self->buf = malloc(g_buf);
    if (!self->buf) WEFT_RETURN();
    for (;;) {
        WEFT_AWAIT(weft_until_cancelled_init(&self->op.next, self->stop,
                                             weft_read_init(&self->rd, &self->s.stream, self->buf, g_buf)));
        if (self->op.next.result) break;  /* the server is stopping: no new request */
        if (self->rd.result <= 0) break;  /* EOF or error: this connection only */
        self->n = (size_t)self->rd.result;
        /* A request read is answered, stopping or not. */
        WEFT_AWAIT(weft_write_all_init(&self->op.wa, &self->s.stream, self->buf, self->n));
        if (self->op.wa.result < 0) WEFT_RETURN();
    }
    /* Done: the client reads EOF after the last answer. */
    WEFT_AWAIT(weft_shutdown_init(&self->op.sh, &self->s.stream));
    if (self->op.sh.result < 0) WEFT_RETURN();
    /* A lingering close: closing a socket with unread bytes resets the
     * connection, and a reset can destroy answers the client has not read
     * yet. So read (and drop) whatever it still sends until it closes too,
     * for at most LINGER_MS. */
    self->linger_end = weft_clock_ms() + LINGER_MS;
    for (;;) {
        uint64_t now = weft_clock_ms();
        if (now >= self->linger_end) break;
        WEFT_AWAIT(weft_timeout_init(&self->op.linger,
                                     weft_read_init(&self->rd, &self->s.stream, self->buf, g_buf),
                                     self->linger_end - now));
        if (self->op.linger.result || self->rd.result <= 0) break;
    }
    WEFT_END();
}

/* ---- the accept loop ---------------------------------------------------------- */

typedef struct acceptor {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    const weft_cancel_token *stop;
    weft_task_tracker *tracker; /* every connection is spawned through it */
    weft_tcp_accept acc;
    conn c;
    int result; /* why it stopped */
} acceptor;

/* Errors after which accepting again makes sense. */
static bool accept_transient(int err) {
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

WEFT_ASYNC(acceptor, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
        if (self->acc.result < 0) {
            fprintf(stderr, "echo_server: accept: %s\n", weft_strerror(self->acc.result));
            /* Out of descriptors is reported once; accept then backs off by
             * itself and resumes when descriptors free up. Anything else
             * (the listener closed, the runtime gone) will not get better:
             * stop rather than spin. */
            if (accept_transient(self->acc.result)) continue;
            self->result = self->acc.result;
            WEFT_RETURN();
        }
        if (g_nodelay && weft_tcp_stream_set_nodelay(&self->acc.stream, true) < 0) {
            /* Not fatal: the connection just keeps Nagle's algorithm. */
        }
        memset(&self->c, 0, sizeof self->c);
        conn_start(&self->c);
        self->c.s = self->acc.stream;
        self->c.stop = self->stop;
        WEFT_TRACKER_SPAWN_DETACHED(self->tracker, cx->runtime, &self->c);
    }
    WEFT_END();
}

/* ---- serving, then stopping ------------------------------------------------------ */

typedef struct server {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    shutdown_signals *sigs;
    weft_cancel_token *stop;
    weft_task_tracker *tracker;
    uint64_t grace_ms;
    acceptor acc;
    shutdown_signal sig;
    weft_select sel;
    weft_future *kids[2];
    weft_task_tracker_wait drained;
    weft_timeout grace;
    int signo;      /* the signal that stopped it */
    int result;     /* a failure: accepting, or waiting for signals */
    size_t dropped; /* connections closed unfinished */
} server;

WEFT_ASYNC(server, NULL) {
    WEFT_BEGIN();
    acceptor_start(&self->acc);
    self->acc.l = self->l;
    self->acc.stop = self->stop;
    self->acc.tracker = self->tracker;
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS, &self->acc.base,
                           shutdown_signal_init(&self->sig, self->sigs)));
    if (self->sel.winner == 0) {
        self->result = self->acc.result; /* reported by the acceptor */
    } else if (self->sig.result) {
        self->result = self->sig.result;
        fprintf(stderr, "echo_server: waiting for signals: %s\n", weft_strerror(self->result));
    } else {
        self->signo = self->sig.signo;
        fprintf(stderr, "echo_server: %s, shutting down (%zu connections open)\n",
                strsignal(self->signo), weft_task_tracker_len(self->tracker));
    }
    /* Stop accepting, tell every connection to finish, and wait for them
     * (the grace period, or until a second signal). */
    weft_tcp_listener_close(self->l);
    weft_cancel_token_cancel(self->stop);
    weft_task_tracker_close(self->tracker);
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           weft_timeout_init(&self->grace,
                                             weft_task_tracker_wait_init(&self->drained, self->tracker),
                                             self->grace_ms),
                           shutdown_signal_init(&self->sig, self->sigs)));
    self->dropped = weft_task_tracker_len(self->tracker);
    if (self->dropped)
        fprintf(stderr, "echo_server: %s; closing %zu connections\n",
                self->sel.winner == 1 ? "second signal" : "grace period over", self->dropped);
    WEFT_END();
}

/* Everything main sets up, released in reverse on every path out. */
typedef struct setup {
    shutdown_signals sigs;
    bool listening; /* sigs holds listeners */
    weft_runtime *rt;
    weft_tcp_listener l;
    weft_cancel_token stop;
    weft_task_tracker *tracker;
    server *srv;
} setup;

static int teardown(setup *st, int status) {
    weft_tcp_listener_close(&st->l); /* an empty handle: nothing happens */
    if (st->rt) weft_runtime_destroy(st->rt); /* drops every connection task still there */
    if (st->listening) shutdown_signals_destroy(&st->sigs);
    weft_task_tracker_destroy(st->tracker);
    weft_cancel_token_destroy(&st->stop);
    free(st->srv);
    return status;
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
    fprintf(stderr, "usage: echo_server [--port P] [--backend epoll|poll] [--host ADDR] "
                    "[--buf BYTES] [--nodelay 0|1] [--workers N] [--grace MS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    unsigned port = 0, workers = 0;
    uint64_t grace_ms = 5000;
    weft_io_backend backend = WEFT_IO_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) port = (unsigned)number(v, 65535);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--buf")) g_buf = number(v, 1ul << 30);
        else if (!strcmp(a, "--nodelay")) g_nodelay = number(v, 1) != 0;
        else if (!strcmp(a, "--workers")) workers = (unsigned)number(v, 1024);
        else if (!strcmp(a, "--grace")) grace_ms = number(v, 86400000);
        else if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "epoll")) backend = WEFT_IO_EPOLL;
            else if (!strcmp(v, "poll")) backend = WEFT_IO_POLL;
            else usage();
        } else usage();
    }
    if (g_buf == 0) usage();

    setup st = {0};
    /* SIGINT and SIGTERM are weft's from here on: none is missed. */
    int err = shutdown_signals_listen(&st.sigs);
    if (err) {
        fprintf(stderr, "echo_server: signals: %s\n", weft_strerror(err));
        return 1;
    }
    st.listening = true;
    err = weft_cancel_token_init(&st.stop);
    if (!err) err = weft_task_tracker_create(&st.tracker);
    if (err) {
        fprintf(stderr, "echo_server: %s\n", weft_strerror(err));
        return teardown(&st, 1);
    }

    weft_runtime_options opts = {0};
    opts.io_backend = backend;
    if (workers) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = workers;
    }
    err = weft_runtime_create(&st.rt, &opts);
    if (err) {
        st.rt = NULL;
        fprintf(stderr, "echo_server: runtime: %s\n", weft_strerror(err));
        return teardown(&st, 1);
    }
    char addr[300];
    int n = snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (n < 0 || (size_t)n >= sizeof addr) {
        fprintf(stderr, "echo_server: host name too long\n");
        return teardown(&st, 2);
    }
    /* A host name is resolved here, before serving (it may block). */
    err = weft_tcp_listener_bind(&st.l, st.rt, addr, 4096);
    if (err) {
        fprintf(stderr, "echo_server: bind %s: %s\n", addr, weft_strerror(err));
        return teardown(&st, 1);
    }
    st.srv = calloc(1, sizeof *st.srv);
    if (!st.srv) {
        fprintf(stderr, "echo_server: out of memory\n");
        return teardown(&st, 1);
    }
    server *srv = st.srv;
    server_start(srv);
    srv->l = &st.l;
    srv->sigs = &st.sigs;
    srv->stop = &st.stop;
    srv->tracker = st.tracker;
    srv->grace_ms = grace_ms;
    if (printf("listening on %u\n", weft_tcp_listener_port(&st.l)) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "echo_server: cannot write to stdout\n");
        return teardown(&st, 1);
    }

    err = weft_block_on(st.rt, &srv->base);
    if (err) fprintf(stderr, "echo_server: %s\n", weft_strerror(err));
    else err = srv->result; /* the acceptor gave up, or signals could not be read (reported) */
    return teardown(&st, err ? 1 : 0);
}
