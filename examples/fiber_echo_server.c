/*
 * fiber_echo_server: the TCP echo server of echo_server.c, written with
 * fibers: straight-line code on a stack per connection, on the same
 * runtime, reactor and futures.
 *
 *   fiber_echo_server [--port P] [--backend epoll|poll] [--host ADDR]
 *                     [--buf BYTES] [--nodelay 0|1] [--workers N]
 *
 * Listens on ADDR:P (default 127.0.0.1, port 0 = any free port), prints
 * "listening on PORT" on stdout, and serves until SIGINT or SIGTERM, then
 * closes everything and exits with status 0. The options mean what they
 * mean for echo_server (current_thread unless --workers N).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

static size_t g_buf = 16384;
static bool g_nodelay = true;

/* ---- the server: one fiber per connection ----------------------------------- */

static void *serve(void *arg) {
    weft_tcp_stream *s = arg;
    unsigned char *buf = malloc(g_buf);
    ssize_t n;
    while (buf && (n = weft_fiber_read(&s->stream, buf, g_buf)) > 0)
        if (weft_fiber_write_all(&s->stream, buf, (size_t)n, NULL) < 0) break;
    free(buf); /* EOF, an error, or cancelled (shutdown): this connection only */
    weft_tcp_stream_close(s);
    free(s);
    return NULL;
}

static void close_unserved(void *arg) { /* spawned, but never ran */
    weft_tcp_stream_close(arg);
    free(arg);
}

static void *accept_loop(void *arg) {
    weft_tcp_listener *l = arg;
    weft_fiber_options conn = {.arg_drop = close_unserved};
    for (;;) {
        weft_tcp_stream *s = malloc(sizeof *s);
        int rc = s ? weft_fiber_accept(l, s) : -ENOMEM;
        if (rc == -ECANCELED) { free(s); return NULL; } /* shutting down */
        if (rc < 0) { /* out of descriptors: accept backs off by itself */
            fprintf(stderr, "fiber_echo_server: accept: %s\n", weft_strerror(rc));
            free(s);
            continue;
        }
        if (g_nodelay) weft_tcp_stream_set_nodelay(s, true);
        weft_join_handle_detach_value(weft_fiber_spawn(weft_runtime_current(), serve, s, &conn));
    }
}

typedef struct server {
    weft_tcp_listener *l;
    weft_signal intr, term; /* listening for SIGINT and SIGTERM */
    int signo;
} server;

/* The root: whichever ends first, the accept loop or a signal; the others
 * are dropped (the accept loop is cancelled and returns). */
static void *run_server(void *arg) {
    server *srv = arg;
    weft_fiber acc;
    weft_signal_recv intr, term;
    weft_select sel;
    weft_future *kids[3];
    weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS, weft_fiber_init(&acc, accept_loop, srv->l, NULL),
                           weft_signal_recv_init(&intr, &srv->intr), weft_signal_recv_init(&term, &srv->term)));
    if (sel.winner > 0) srv->signo = sel.winner == 1 ? SIGINT : SIGTERM;
    return NULL;
}

/* ---- main: the same command line and start-up as echo_server.c --------------------- */

static void usage(void) {
    fprintf(stderr, "usage: fiber_echo_server [--port P] [--backend epoll|poll] [--host ADDR] "
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

    /* SIGINT and SIGTERM are weft's from here on: none is missed. */
    server srv = {0};
    int err = weft_signal_init(&srv.intr, SIGINT);
    if (!err) err = weft_signal_init(&srv.term, SIGTERM);
    if (err) {
        fprintf(stderr, "fiber_echo_server: signals: %s\n", weft_strerror(err));
        return 1;
    }

    weft_runtime_options opts = {0};
    opts.io_backend = backend;
    if (workers) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = workers;
    }
    weft_runtime *rt;
    err = weft_runtime_create(&rt, &opts);
    if (err) {
        fprintf(stderr, "fiber_echo_server: runtime: %s\n", weft_strerror(err));
        return 1;
    }
    char addr[128];
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    weft_tcp_listener l;
    err = weft_tcp_listener_bind(&l, rt, addr, 4096);
    if (err) {
        fprintf(stderr, "fiber_echo_server: bind %s: %s\n", addr, weft_strerror(err));
        weft_runtime_destroy(rt);
        return 1;
    }
    printf("listening on %u\n", weft_tcp_listener_port(&l));
    fflush(stdout);

    srv.l = &l;
    weft_fiber root;
    err = weft_block_on(rt, weft_fiber_init(&root, run_server, &srv, NULL));
    if (err) fprintf(stderr, "fiber_echo_server: %s\n", weft_strerror(err));
    else if (srv.signo) fprintf(stderr, "fiber_echo_server: %s, shutting down\n", strsignal(srv.signo));

    weft_tcp_listener_close(&l);
    weft_runtime_destroy(rt); /* cancels every connection's fiber: each closes its socket */
    weft_signal_destroy(&srv.intr);
    weft_signal_destroy(&srv.term);
    return err ? 1 : 0;
}
