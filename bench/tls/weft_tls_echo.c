/*
 * weft_tls_echo: a TLS echo server on weft and weft-tls, the weft side of
 * the TLS echo benchmark (bench/tls/run.sh).
 *
 *   weft_tls_echo --cert CHAIN.pem --key KEY.pem [--port P] [--buf BYTES]
 *
 * Listens on 127.0.0.1:P (0: any free port), prints "listening on PORT",
 * serves until SIGINT/SIGTERM (the default action ends the process).
 * current_thread runtime; one coroutine task per connection: TLS
 * handshake, then read what is there and write it all back, as the Tokio
 * peer (bench/peers/tokio_tls_echo) does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft/tls.h"

static size_t g_buf = 65536;
static weft_tls_context *g_ctx;

typedef struct conn {
    WEFT_CORO_FIELDS;
    weft_tcp_stream tcp;
    weft_tls_stream tls;
    union {
        weft_tls_handshake hs;
        weft_read rd;
        weft_write_all wa;
    } op;
    size_t n;
    unsigned char *buf;
} conn;

static void conn_cleanup(conn *self) {
    weft_tls_stream_destroy(&self->tls);
    weft_tcp_stream_close(&self->tcp);
    free(self->buf);
}

WEFT_ASYNC(conn, conn_cleanup) {
    WEFT_BEGIN();
    self->buf = malloc(g_buf);
    /* the TLS stream is made here, once the task (and the TCP stream in
     * it) has its final address */
    if (!self->buf || weft_tls_stream_server(&self->tls, g_ctx, &self->tcp.stream) != 0) WEFT_RETURN();
    WEFT_AWAIT(weft_tls_handshake_init(&self->op.hs, &self->tls));
    if (self->op.hs.result < 0) WEFT_RETURN();
    for (;;) {
        WEFT_AWAIT(weft_read_init(&self->op.rd, &self->tls.stream, self->buf, g_buf));
        if (self->op.rd.result <= 0) break;
        self->n = (size_t)self->op.rd.result;
        WEFT_AWAIT(weft_write_all_init(&self->op.wa, &self->tls.stream, self->buf, self->n));
        if (self->op.wa.result < 0) break;
    }
    WEFT_END();
}

typedef struct acceptor {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    weft_tcp_accept acc;
    conn c;
} acceptor;

WEFT_ASYNC(acceptor, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
        if (self->acc.result < 0) {
            if (self->acc.result == -EBADF || self->acc.result == -ESHUTDOWN) break;
            continue;
        }
        weft_tcp_stream_set_nodelay(&self->acc.stream, true);
        memset(&self->c, 0, sizeof self->c);
        conn_start(&self->c);
        self->c.tcp = self->acc.stream;
        WEFT_SPAWN_DETACHED(cx->runtime, &self->c);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    const char *cert = NULL, *key = NULL;
    unsigned port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cert")) cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key")) key = argv[i + 1];
        else if (!strcmp(argv[i], "--buf")) g_buf = (size_t)atol(argv[i + 1]);
        else {
            fprintf(stderr, "usage: weft_tls_echo --cert CHAIN --key KEY [--port P] [--buf BYTES]\n");
            return 2;
        }
    }
    if (!cert || !key || g_buf == 0) {
        fprintf(stderr, "usage: weft_tls_echo --cert CHAIN --key KEY [--port P] [--buf BYTES]\n");
        return 2;
    }
    weft_tls_options o = {.cert_file = cert, .key_file = key};
    int rc = weft_tls_context_create(&g_ctx, WEFT_TLS_SERVER, &o);
    if (rc) {
        fprintf(stderr, "weft_tls_echo: %s (%s)\n", weft_strerror(rc), weft_tls_context_error_detail());
        return 1;
    }
    weft_runtime *rt;
    if ((rc = weft_runtime_create(&rt, NULL)) != 0) {
        fprintf(stderr, "weft_tls_echo: runtime: %s\n", weft_strerror(rc));
        return 1;
    }
    weft_tcp_listener l = {0};
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    if ((rc = weft_tcp_listener_bind(&l, rt, addr, 1024)) != 0) {
        fprintf(stderr, "weft_tls_echo: bind %s: %s\n", addr, weft_strerror(rc));
        return 1;
    }
    printf("listening on %u\n", weft_tcp_listener_port(&l));
    fflush(stdout);
    acceptor a;
    acceptor_start(&a);
    a.l = &l;
    weft_block_on(rt, &a.base);
    weft_tcp_listener_close(&l);
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(g_ctx);
    return 0;
}
