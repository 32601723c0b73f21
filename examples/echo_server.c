/*
 * echo_server: a TCP echo server on weft.
 *
 *   echo_server [--port P] [--backend epoll|poll] [--host ADDR] [--buf BYTES]
 *               [--nodelay 0|1] [--workers N]
 *
 * Listens on ADDR:P (default 127.0.0.1, port 0 = any free port), prints
 * "listening on PORT" on stdout, and serves until SIGINT or SIGTERM, then
 * closes everything and exits with status 0.
 *
 * One task per connection: read what is there, write it all back, repeat.
 * Each read tries the system call first and waits only on EAGAIN; a read
 * shorter than the buffer tells the runtime that the socket is drained, so
 * the next read waits without a system call. TCP_NODELAY is on by default
 * (--nodelay 0 turns it off). The runtime is current_thread; --workers N
 * (N >= 1) runs a multi_thread runtime with N workers instead.
 *
 * SIGINT/SIGTERM are blocked and read from a signalfd registered with the
 * reactor, so shutting down is just another event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "weft.h"

static size_t g_buf = 16384;
static bool g_nodelay = true;

/* ---- one connection --------------------------------------------------------- */

typedef struct conn {
    WEFT_CORO_FIELDS;
    weft_tcp_stream s;
    union {
        weft_read rd;
        weft_write_all wa;
    } op;
    size_t n;
    unsigned char *buf;
} conn;

static void conn_cleanup(conn *self) {
    weft_tcp_stream_close(&self->s);
    free(self->buf);
}

WEFT_ASYNC(conn, conn_cleanup) {
    WEFT_BEGIN();
    self->buf = malloc(g_buf);
    if (!self->buf) WEFT_RETURN();
    for (;;) {
        WEFT_AWAIT(weft_read_init(&self->op.rd, &self->s.stream, self->buf, g_buf));
        if (self->op.rd.result <= 0) break; /* EOF or error: this connection only */
        self->n = (size_t)self->op.rd.result;
        WEFT_AWAIT(weft_write_all_init(&self->op.wa, &self->s.stream, self->buf, self->n));
        if (self->op.wa.result < 0) break;
    }
    WEFT_END();
}

/* ---- the accept loop ---------------------------------------------------------- */

typedef struct acceptor {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    weft_tcp_accept acc;
    conn c;
    bool fd_warned;
} acceptor;

WEFT_ASYNC(acceptor, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
        if (self->acc.result < 0) {
            /* Out of descriptors is reported once; accept then backs off by
             * itself and resumes when descriptors free up. */
            fprintf(stderr, "echo_server: accept: %s\n", weft_strerror(self->acc.result));
            continue;
        }
        if (g_nodelay) weft_tcp_stream_set_nodelay(&self->acc.stream, true);
        memset(&self->c, 0, sizeof self->c);
        conn_start(&self->c);
        self->c.s = self->acc.stream;
        WEFT_SPAWN_DETACHED(cx->runtime, &self->c);
    }
    WEFT_END();
}

/* ---- waiting for SIGINT/SIGTERM ------------------------------------------------- */

typedef struct signal_wait {
    WEFT_CORO_FIELDS;
    weft_async_fd *sfd;
    weft_async_fd_ready r;
    int signo;
} signal_wait;

WEFT_ASYNC(signal_wait, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_async_fd_ready_init(&self->r, self->sfd, WEFT_INTEREST_READ));
        if (self->r.result < 0) WEFT_RETURN();
        struct signalfd_siginfo si;
        ssize_t n = read(weft_async_fd_fd(self->sfd), &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            self->signo = (int)si.ssi_signo;
            WEFT_RETURN();
        }
        if (n < 0 && errno == EAGAIN) weft_async_fd_clear_ready(self->sfd, &self->r.ready);
    }
    WEFT_END();
}

typedef struct server {
    WEFT_CORO_FIELDS;
    acceptor acc;
    signal_wait sig;
    weft_select sel;
    weft_future *kids[2];
} server;

WEFT_ASYNC(server, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS, &self->acc.base,
                           &self->sig.base));
    WEFT_END();
}

static void usage(void) {
    fprintf(stderr, "usage: echo_server [--port P] [--backend epoll|poll] [--host ADDR] "
                    "[--buf BYTES] [--nodelay 0|1] [--workers N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    unsigned port = 0, workers = 0;
    weft_io_backend backend = WEFT_IO_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) port = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--buf")) g_buf = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--nodelay")) g_nodelay = atoi(v) != 0;
        else if (!strcmp(a, "--workers")) workers = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "epoll")) backend = WEFT_IO_EPOLL;
            else if (!strcmp(v, "poll")) backend = WEFT_IO_POLL;
            else usage();
        } else usage();
    }
    if (port > 65535 || g_buf == 0) usage();

    /* Signals become readable events (blocked before any thread exists). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        perror("echo_server: signalfd");
        return 1;
    }

    weft_runtime_options opts = {0};
    opts.io_backend = backend;
    if (workers) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = workers;
    }
    weft_runtime *rt;
    int err = weft_runtime_create(&rt, &opts); /* threads inherit the blocked signals */
    if (err) {
        fprintf(stderr, "echo_server: runtime: %s\n", weft_strerror(err));
        return 1;
    }
    char addr[128];
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    weft_tcp_listener l;
    err = weft_tcp_listener_bind(&l, rt, addr, 4096);
    if (err) {
        fprintf(stderr, "echo_server: bind %s: %s\n", addr, weft_strerror(err));
        weft_runtime_destroy(rt);
        return 1;
    }
    weft_async_fd sig;
    err = weft_async_fd_adopt(&sig, rt, sfd);
    if (err) {
        fprintf(stderr, "echo_server: signalfd: %s\n", weft_strerror(err));
        return 1;
    }
    printf("listening on %u\n", weft_tcp_listener_port(&l));
    fflush(stdout);

    server *srv = calloc(1, sizeof *srv);
    server_start(srv);
    acceptor_start(&srv->acc);
    srv->acc.l = &l;
    signal_wait_start(&srv->sig);
    srv->sig.sfd = &sig;
    err = weft_block_on(rt, &srv->base);
    if (err) fprintf(stderr, "echo_server: %s\n", weft_strerror(err));
    else if (srv->sig.signo) fprintf(stderr, "echo_server: %s, shutting down\n", strsignal(srv->sig.signo));

    weft_tcp_listener_close(&l);
    weft_async_fd_close(&sig);
    weft_runtime_destroy(rt); /* drops every connection task (closing its socket) */
    free(srv);
    return err ? 1 : 0;
}
