/* weft-tls under injected faults (tests/fault/: the allocator and system
 * calls of weft's and weft-tls's own objects fail on demand; OpenSSL's own
 * allocations, inside its shared library, are not affected): every failure
 * reaches the caller as an error, leaves the stream or context empty or
 * unusable in the documented way, and leaks nothing (ASan's leak check).
 * weft-test: io */
#include "fault.h"
#include "tls_support.h"

/* Allocation failures where weft-tls allocates: the context, the stream,
 * its copy of the server name. */
static void test_allocation_failures_at_creation(void **state) {
    (void)state;
    pki_make();
    weft_tls_context *ctx = (weft_tls_context *)1;
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    assert_int_equal(weft_tls_context_create(&ctx, WEFT_TLS_CLIENT, NULL), -ENOMEM);
    fault_disarm(FAULT_ANY_ALLOC);
    assert_null(ctx);
    ctx = client_ctx(NULL);
    weft_runtime *rt = rt_new();
    weft_unix_stream a, b;
    assert_int_equal(weft_unix_stream_pair(&a, &b, rt), 0);
    for (unsigned skip = 0; skip < 2; skip++) { /* the state, then the name */
        weft_tls_stream s;
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
        assert_int_equal(weft_tls_stream_client(&s, ctx, &a.stream, "localhost"), -ENOMEM);
        assert_int_equal(fault_failed(FAULT_ANY_ALLOC), 1);
        fault_disarm(FAULT_ANY_ALLOC);
        assert_null(weft_tls_stream_ssl(&s)); /* empty */
        weft_tls_stream_destroy(&s);
    }
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(ctx);
}

typedef struct pair {
    weft_tcp_stream ctcp, stcp;
    weft_tls_stream c, s;
    weft_tls_context *cctx, *sctx;
} pair;

static void pair_close(pair *p) {
    weft_tls_stream_destroy(&p->c);
    weft_tls_stream_destroy(&p->s);
    weft_tcp_stream_close(&p->ctcp);
    weft_tcp_stream_close(&p->stcp);
    weft_tls_context_destroy(p->cctx);
    weft_tls_context_destroy(p->sctx);
}

/* The buffer of outgoing records cannot grow: the handshake fails with
 * -ENOMEM (the client's first flight is lost), and a write after the
 * handshake reports -ENOMEM while reading still works. */
static void *out_buffer_fiber(void *arg) {
    (void)arg;
    pair p = {0};
    p.cctx = client_ctx(NULL);
    p.sctx = server_ctx("server", NULL);
    tcp_pair(&p.ctcp, &p.stcp);
    FCHECK_EQ(weft_tls_stream_client(&p.c, p.cctx, &p.ctcp.stream, "localhost"), 0);
    fault_arm(FAULT_REALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    FCHECK_EQ(weft_fiber_tls_handshake(&p.c), -ENOMEM);
    FCHECK_EQ(fault_failed(FAULT_REALLOC), 1);
    fault_disarm(FAULT_REALLOC);
    weft_tls_stream_destroy(&p.c);
    weft_tcp_stream_close(&p.ctcp);
    weft_tcp_stream_close(&p.stcp);

    tcp_pair(&p.ctcp, &p.stcp);
    FCHECK_EQ(weft_tls_stream_client(&p.c, p.cctx, &p.ctcp.stream, "localhost"), 0);
    FCHECK_EQ(weft_tls_stream_server(&p.s, p.sctx, &p.stcp.stream), 0);
    FCHECK_EQ(handshake_both(&p.c, &p.s, NULL), 0);
    /* the buffer holds the handshake's 4 KiB; 100 KB of records need more */
    static unsigned char big[100000];
    fault_arm(FAULT_REALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    weft_write w;
    FCHECK_EQ(weft_await(weft_write_init(&w, &p.c.stream, big, sizeof big)), 0);
    FCHECK_EQ(w.result, -ENOMEM);
    fault_disarm(FAULT_REALLOC);
    FCHECK_EQ(weft_await(weft_write_init(&w, &p.c.stream, "x", 1)), 0);
    FCHECK_EQ(w.result, -ENOMEM); /* the write direction stays failed */
    weft_flush f;
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &p.c.stream)), 0);
    FCHECK_EQ(f.result, -ENOMEM);
    /* reading is unaffected */
    FCHECK_EQ(weft_fiber_write_all(&p.s.stream, "still here", 10, NULL), 0);
    char buf[10];
    FCHECK_EQ(weft_fiber_read_exact(&p.c.stream, buf, 10, NULL), 0);
    FCHECK(memcmp(buf, "still here", 10) == 0);
    pair_close(&p);
    return NULL;
}

static void test_out_buffer_cannot_grow(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single();
    run_fiber(rt, out_buffer_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* The inner stream fails: its error comes out as it is, and stays. */
static void *inner_fiber(void *arg) {
    (void)arg;
    pair p = {0};
    p.cctx = client_ctx(NULL);
    p.sctx = server_ctx("server", NULL);
    tcp_pair(&p.ctcp, &p.stcp);
    FCHECK_EQ(weft_tls_stream_client(&p.c, p.cctx, &p.ctcp.stream, "localhost"), 0);
    FCHECK_EQ(weft_tls_stream_server(&p.s, p.sctx, &p.stcp.stream), 0);
    FCHECK_EQ(handshake_both(&p.c, &p.s, NULL), 0);
    int fd = weft_tcp_stream_fd(&p.ctcp);
    FCHECK_EQ(weft_fiber_write_all(&p.s.stream, "data", 4, NULL), 0);
    fault_arm(FAULT_READ, (fault_rule){.err = ECONNRESET, .fd = FAULT_FD(fd), .count = 1});
    char buf[8];
    FCHECK_EQ(weft_fiber_read(&p.c.stream, buf, sizeof buf), -ECONNRESET);
    fault_disarm(FAULT_READ);
    FCHECK(strstr(weft_tls_stream_error_detail(&p.c), "reset") != NULL);
    FCHECK_EQ(weft_fiber_read(&p.c.stream, buf, sizeof buf), -ECONNRESET); /* sticky */
    /* a failed send: the write reports it */
    int sfd = weft_tcp_stream_fd(&p.stcp);
    fault_arm(FAULT_SEND, (fault_rule){.err = EPIPE, .fd = FAULT_FD(sfd), .count = 0});
    weft_write w;
    FCHECK_EQ(weft_await(weft_write_init(&w, &p.s.stream, "more", 4)), 0);
    FCHECK_EQ(w.result, -EPIPE);
    fault_disarm(FAULT_SEND);
    FCHECK_EQ(weft_await(weft_write_init(&w, &p.s.stream, "more", 4)), 0);
    FCHECK_EQ(w.result, -EPIPE);
    pair_close(&p);
    return NULL;
}

static void test_inner_stream_failures(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, inner_fiber, NULL);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_failures_at_creation),
        cmocka_unit_test(test_out_buffer_cannot_grow),
        cmocka_unit_test(test_inner_stream_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
