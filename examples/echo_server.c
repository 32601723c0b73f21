/*
 * echo_server: a TCP echo server on weft.
 *
 *   echo_server [--port P] [--backend epoll|poll] [--host ADDR] [--buf BYTES]
 *               [--nodelay 0|1] [--workers N]
 *
 * Listens on ADDR:P (default 127.0.0.1, port 0 = any free port; ADDR may
 * be a host name), prints "listening on PORT" on stdout, and serves until
 * SIGINT or SIGTERM, then closes everything and exits with status 0. Any
 * failure to set up (arguments, memory, signals, the runtime, the
 * listener) is reported on stderr with exit status 1 (2 for usage).
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
    int result; /* a failure to wait or read */
} signal_wait;

WEFT_ASYNC(signal_wait, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_async_fd_ready_init(&self->r, self->sfd, WEFT_INTEREST_READ));
        if (self->r.result < 0) {
            self->result = self->r.result;
            WEFT_RETURN();
        }
        struct signalfd_siginfo si;
        ssize_t n = read(weft_async_fd_fd(self->sfd), &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            self->signo = (int)si.ssi_signo;
            WEFT_RETURN();
        }
        if (n < 0 && errno == EAGAIN) {
            weft_async_fd_clear_ready(self->sfd, &self->r.ready);
        } else if (n < 0 && errno != EINTR) {
            self->result = -errno;
            WEFT_RETURN();
        }
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

/* Everything main sets up, released in reverse on every path out. */
typedef struct setup {
    int sfd;
    weft_runtime *rt;
    weft_tcp_listener l;
    weft_async_fd sig;
    server *srv;
} setup;

static int teardown(setup *st, int status) {
    weft_tcp_listener_close(&st->l); /* empty handles: nothing happens */
    weft_async_fd_close(&st->sig);
    if (st->rt) weft_runtime_destroy(st->rt); /* drops every connection task */
    if (st->sfd >= 0) close(st->sfd);         /* still ours unless adopted */
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
        if (!strcmp(a, "--port")) port = (unsigned)number(v, 65535);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--buf")) g_buf = number(v, 1ul << 30);
        else if (!strcmp(a, "--nodelay")) g_nodelay = number(v, 1) != 0;
        else if (!strcmp(a, "--workers")) workers = (unsigned)number(v, 1024);
        else if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "epoll")) backend = WEFT_IO_EPOLL;
            else if (!strcmp(v, "poll")) backend = WEFT_IO_POLL;
            else usage();
        } else usage();
    }
    if (g_buf == 0) usage();

    setup st = {.sfd = -1};
    /* Signals become readable events (blocked before any thread exists). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err) {
        fprintf(stderr, "echo_server: pthread_sigmask: %s\n", strerror(err));
        return 1;
    }
    st.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (st.sfd < 0) {
        perror("echo_server: signalfd");
        return 1;
    }

    weft_runtime_options opts = {0};
    opts.io_backend = backend;
    if (workers) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = workers;
    }
    err = weft_runtime_create(&st.rt, &opts); /* threads inherit the blocked signals */
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
    err = weft_async_fd_adopt(&st.sig, st.rt, st.sfd);
    if (err) {
        fprintf(stderr, "echo_server: signalfd: %s\n", weft_strerror(err));
        return teardown(&st, 1);
    }
    st.sfd = -1; /* the async_fd owns it now */
    st.srv = calloc(1, sizeof *st.srv);
    if (!st.srv) {
        fprintf(stderr, "echo_server: out of memory\n");
        return teardown(&st, 1);
    }
    server *srv = st.srv;
    server_start(srv);
    acceptor_start(&srv->acc);
    srv->acc.l = &st.l;
    signal_wait_start(&srv->sig);
    srv->sig.sfd = &st.sig;
    if (printf("listening on %u\n", weft_tcp_listener_port(&st.l)) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "echo_server: cannot write to stdout\n");
        return teardown(&st, 1);
    }

    err = weft_block_on(st.rt, &srv->base);
    if (err) fprintf(stderr, "echo_server: %s\n", weft_strerror(err));
    else if (srv->sig.signo) fprintf(stderr, "echo_server: %s, shutting down\n", strsignal(srv->sig.signo));
    else if (srv->acc.result) err = srv->acc.result; /* the acceptor gave up (reported above) */
    else if (srv->sig.result) {
        err = srv->sig.result;
        fprintf(stderr, "echo_server: waiting for signals: %s\n", weft_strerror(err));
    }
    return teardown(&st, err ? 1 : 0);
}
