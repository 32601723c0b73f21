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

/* ---- the stream helpers over TLS: buffered reader, writev, readv ----------------------------- */

static void *helpers_fiber(void *arg) {
    (void)arg;
    duo d;
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, NULL), 0);
    /* gather write of three pieces, read back as lines */
    struct iovec iov[3] = {{"first line\n", 11}, {"second ", 7}, {"line\nthird\n", 11}};
    size_t total = 29, done = 0;
    while (done < total) {
        weft_writev w;
        FCHECK_EQ(weft_await(weft_writev_init(&w, &d.c.stream, iov, 3)), 0);
        FCHECK(w.result > 0);
        done += (size_t)w.result;
        /* drop what was written from the front of iov */
        size_t k = (size_t)w.result;
        for (int i = 0; i < 3; i++) {
            size_t t = k < iov[i].iov_len ? k : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + t;
            iov[i].iov_len -= t;
            k -= t;
        }
    }
    weft_bufreader br;
    FCHECK_EQ(weft_bufreader_init(&br, &d.s.stream, NULL, 64), 0);
    char line[64];
    FCHECK_EQ(weft_fiber_read_line(&br, line, sizeof line), 11);
    FCHECK(strcmp(line, "first line\n") == 0);
    FCHECK_EQ(weft_fiber_read_line(&br, line, sizeof line), 12);
    FCHECK(strcmp(line, "second line\n") == 0);
    FCHECK_EQ(weft_fiber_read_line(&br, line, sizeof line), 6);
    FCHECK(strcmp(line, "third\n") == 0);
    weft_bufreader_destroy(&br);
    /* scatter read of what is already decrypted */
    FCHECK_EQ(weft_fiber_write_all(&d.s.stream, "abcdefghij", 10, NULL), 0);
    char a[4], b[6];
    struct iovec rv[2] = {{a, 4}, {b, 6}};
    size_t got = 0;
    while (got < 10) {
        weft_readv r;
        struct iovec part[2];
        int n = 0;
        size_t skip = got;
        for (int i = 0; i < 2; i++) {
            if (skip >= rv[i].iov_len) {
                skip -= rv[i].iov_len;
                continue;
            }
            part[n].iov_base = (char *)rv[i].iov_base + skip;
            part[n++].iov_len = rv[i].iov_len - skip;
            skip = 0;
        }
        FCHECK_EQ(weft_await(weft_readv_init(&r, &d.c.stream, part, n)), 0);
        FCHECK(r.result > 0);
        got += (size_t)r.result;
    }
    FCHECK(memcmp(a, "abcd", 4) == 0 && memcmp(b, "efghij", 6) == 0);
    /* zero-length operations are probes: 0 on a live stream */
    FCHECK_EQ(weft_fiber_read(&d.c.stream, a, 0), 0);
    weft_write w0;
    FCHECK_EQ(weft_await(weft_write_init(&w0, &d.c.stream, a, 0)), 0);
    FCHECK_EQ(w0.result, 0);
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_stream_helpers_over_tls(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, helpers_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- large transfers both ways at once, through split halves ------------------------------- */

#if FIBER_TEST_SANITIZED
#define BIG (2u << 20)
#else
#ifndef BIG
#define BIG (16u << 20)
#endif
#endif

typedef struct half_job {
    weft_split_half *h;
    uint32_t id;         /* pattern id of what it writes / expects */
    uint64_t bytes;      /* to write */
    uint64_t moved;      /* written / read */
    int rc;
} half_job;

/* Writes job->bytes of pattern in uneven pieces, then shuts the write
 * direction down (close_notify, FIN). */
static void *writer_fiber(void *arg) {
    half_job *j = arg;
    enum { CAP = 100000 };
    unsigned char *buf = malloc(CAP); /* each fiber its own: they share threads */
    size_t piece = 1;
    while (j->moved < j->bytes) {
        size_t n = piece;
        if (n > j->bytes - j->moved) n = (size_t)(j->bytes - j->moved);
        for (size_t i = 0; i < n; i++) buf[i] = pattern(j->id, j->moved + i);
        int rc = weft_fiber_write_all(&j->h->stream, buf, n, NULL);
        if (rc) {
            j->rc = rc;
            free(buf);
            return NULL;
        }
        j->moved += n;
        piece = piece * 7 % CAP + 1;
    }
    free(buf);
    weft_flush f;
    weft_await(weft_shutdown_init(&f, &j->h->stream));
    j->rc = f.result;
    return NULL;
}

/* Reads until end of stream, checking every byte. */
static void *reader_fiber(void *arg) {
    half_job *j = arg;
    enum { CAP = 70000 };
    unsigned char *buf = malloc(CAP);
    j->rc = 0;
    for (;;) {
        ssize_t n = weft_fiber_read(&j->h->stream, buf, CAP);
        if (n <= 0) {
            j->rc = (int)n;
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(j->id, j->moved + (uint64_t)i)) j->rc = -EBADMSG;
        if (j->rc) break;
        j->moved += (uint64_t)n;
    }
    /* on a failure, keep reading (so the writer is not stuck), counting nothing */
    while (j->rc && weft_fiber_read(&j->h->stream, buf, CAP) > 0) {
    }
    free(buf);
    return NULL;
}

/* The server echoes with weft_copy from its read half to its write half,
 * then shuts down. */
static void *copy_fiber(void *arg) {
    half_job *j = arg; /* j->h[0] reads, j->h[1] writes */
    weft_copy cp;
    FCHECK_EQ(weft_await(weft_copy_init(&cp, &j->h[0].stream, &j->h[1].stream, NULL, 0)), 0);
    j->moved = cp.total;
    j->rc = cp.result;
    if (!j->rc) {
        weft_flush f;
        weft_await(weft_shutdown_init(&f, &j->h[1].stream));
        j->rc = f.result;
    }
    return NULL;
}

static void *open_duo_fiber(void *arg) {
    duo *d = arg;
    duo_open(d, d->cctx, d->sctx, "localhost");
    int src;
    FCHECK_EQ(handshake_both(&d->c, &d->s, &src), 0);
    FCHECK_EQ(src, 0);
    return NULL;
}

static void run_big(bool echo) {
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    duo *d = calloc(1, sizeof *d);
    d->cctx = client_ctx(NULL);
    d->sctx = server_ctx("server", NULL);
    run_fiber(rt, open_duo_fiber, d);
    weft_split_half h[4];
    assert_int_equal(weft_stream_split(&d->c.stream, &h[0], &h[1]), 0);
    assert_int_equal(weft_stream_split(&d->s.stream, &h[2], &h[3]), 0);
    half_job jobs[4] = {
        {&h[1], 1, BIG, 0, -1}, /* client writes pattern 1 */
        {&h[0], echo ? 1 : 2, 0, 0, -1}, /* client reads 2 (or its own echo) */
        {&h[3], 2, BIG, 0, -1}, /* server writes pattern 2 */
        {&h[2], 1, 0, 0, -1}, /* server reads 1 */
    };
    weft_join_handle hs[4];
    int n = 0;
    hs[n++] = weft_fiber_spawn(rt, writer_fiber, &jobs[0], NULL);
    hs[n++] = weft_fiber_spawn(rt, reader_fiber, &jobs[1], NULL);
    half_job copy = {&h[2], 0, 0, 0, -1};
    if (echo) {
        hs[n++] = weft_fiber_spawn(rt, copy_fiber, &copy, NULL);
    } else {
        hs[n++] = weft_fiber_spawn(rt, writer_fiber, &jobs[2], NULL);
        hs[n++] = weft_fiber_spawn(rt, reader_fiber, &jobs[3], NULL);
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    assert_int_equal(jobs[0].rc, 0);
    assert_int_equal(jobs[1].rc, 0);
    assert_int_equal(jobs[1].moved, BIG);
    if (echo) {
        assert_int_equal(copy.rc, 0);
        assert_int_equal(copy.moved, BIG);
    } else {
        assert_int_equal(jobs[2].rc, 0);
        assert_int_equal(jobs[3].rc, 0);
        assert_int_equal(jobs[3].moved, BIG);
    }
    for (int i = 0; i < 4; i++) weft_split_half_destroy(&h[i]);
    weft_tls_stream_destroy(&d->c);
    weft_tls_stream_destroy(&d->s);
    weft_tcp_stream_close(&d->ctcp);
    weft_tcp_stream_close(&d->stcp);
    weft_tls_context_destroy(d->cctx);
    weft_tls_context_destroy(d->sctx);
    free(d);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

static void test_large_both_ways_split(void **state) {
    (void)state;
    run_big(false);
}

static void test_large_echo_through_copy(void **state) {
    (void)state;
    run_big(true);
}

/* ---- close_notify both ways, half-close --------------------------------------------------------- */

static void *close_fiber(void *arg) {
    weft_tls_options o = {.max_version = (weft_tls_version)(intptr_t)arg};
    duo d;
    weft_tls_context *cctx = client_ctx(&o), *sctx = server_ctx("server", NULL);
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, NULL), 0);
    char buf[64];
    FCHECK_EQ(weft_fiber_write_all(&d.c.stream, "request", 7, NULL), 0);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &d.c.stream)), 0);
    FCHECK_EQ(f.result, 0);
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &d.c.stream)), 0); /* again: nothing more to do */
    FCHECK_EQ(f.result, 0);
    /* writing after our close_notify */
    weft_write w;
    FCHECK_EQ(weft_await(weft_write_init(&w, &d.c.stream, "late", 4)), 0);
    FCHECK_EQ(w.result, -EPIPE);
    /* the server reads the request, then end of stream (not a truncation) */
    FCHECK_EQ(weft_fiber_read_exact(&d.s.stream, buf, 7, NULL), 0);
    FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), 0);
    FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), 0); /* and stays there */
    /* half-closed: the server still answers, then closes its side */
    FCHECK_EQ(weft_fiber_write_all(&d.s.stream, "response", 8, NULL), 0);
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &d.s.stream)), 0);
    FCHECK_EQ(f.result, 0);
    FCHECK_EQ(weft_fiber_read_exact(&d.c.stream, buf, 8, NULL), 0);
    FCHECK(memcmp(buf, "response", 8) == 0);
    FCHECK_EQ(weft_fiber_read(&d.c.stream, buf, sizeof buf), 0);
    FCHECK(weft_tls_stream_error_detail(&d.c)[0] == 0);
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_close_notify_both_ways(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, close_fiber, (void *)(intptr_t)WEFT_TLS_1_3);
    run_fiber(rt, close_fiber, (void *)(intptr_t)WEFT_TLS_1_2);
    weft_runtime_destroy(rt);
}

/* ---- truncation ------------------------------------------------------------------------------------ */

/* mode 0: an error; 1: allowed by the stream; 2: allowed by the context */
static void *truncation_fiber(void *arg) {
    int mode = (int)(intptr_t)arg;
    duo d;
    weft_tls_options so = {.allow_truncation = mode == 2};
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", &so);
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, NULL), 0);
    if (mode == 1) weft_tls_stream_set_allow_truncation(&d.s, true);
    FCHECK_EQ(weft_fiber_write_all(&d.c.stream, "partial", 7, NULL), 0);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_flush_init(&f, &d.c.stream)), 0);
    /* the client's TCP connection ends with no close_notify */
    FCHECK_EQ(weft_tcp_stream_shutdown(&d.ctcp, SHUT_WR), 0);
    char buf[64];
    FCHECK_EQ(weft_fiber_read_exact(&d.s.stream, buf, 7, NULL), 0);
    ssize_t n = weft_fiber_read(&d.s.stream, buf, sizeof buf);
    if (mode == 0) {
        FCHECK_EQ(n, -WEFT_ETLS_TRUNCATED);
        FCHECK(strstr(weft_tls_stream_error_detail(&d.s), "close_notify") != NULL);
        FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), -WEFT_ETLS_TRUNCATED); /* sticky */
    } else {
        FCHECK_EQ(n, 0);
        FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), 0);
    }
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_truncation_is_an_error(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, truncation_fiber, (void *)0);
    weft_runtime_destroy(rt);
}

static void test_truncation_allowed(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, truncation_fiber, (void *)1);
    run_fiber(rt, truncation_fiber, (void *)2);
    weft_runtime_destroy(rt);
}

/* ---- a peer that drops mid-handshake, one that speaks something else ---------------------------- */

static void *drop_after_hello(void *arg) {
    weft_tcp_stream *s = arg;
    char buf[16];
    FCHECK(weft_fiber_read(&s->stream, buf, sizeof buf) > 0); /* the start of the ClientHello */
    weft_tcp_stream_close(s);
    return NULL;
}

static void *dropped_fiber(void *arg) {
    (void)arg;
    weft_tcp_stream c, s;
    tcp_pair(&c, &s);
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    weft_tls_stream t;
    FCHECK_EQ(weft_tls_stream_client(&t, cctx, &c.stream, "localhost"), 0);
    weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), drop_after_hello, &s, NULL);
    FCHECK_EQ(weft_fiber_tls_handshake(&t), -ECONNRESET);
    FCHECK(weft_tls_stream_error_detail(&t)[0] != 0); /* "... closed ..." or "... reset ..." */
    FCHECK_EQ(weft_fiber_join(&h, NULL), 0);
    /* every operation now reports the failure */
    char buf[8];
    FCHECK_EQ(weft_fiber_read(&t.stream, buf, sizeof buf), -ECONNRESET);
    FCHECK_EQ(weft_fiber_write_all(&t.stream, "x", 1, NULL), -ECONNRESET);
    FCHECK_EQ(weft_fiber_tls_handshake(&t), -ECONNRESET);
    weft_tls_stream_destroy(&t);
    FCHECK_EQ(weft_fiber_read(&t.stream, buf, sizeof buf), -EBADF);
    weft_tls_stream_destroy(&t); /* again: nothing */
    weft_tcp_stream_close(&c);

    /* a client that speaks plain HTTP to a TLS server */
    tcp_pair(&c, &s);
    FCHECK_EQ(weft_tls_stream_server(&t, sctx, &s.stream), 0);
    FCHECK_EQ(weft_fiber_write_all(&c.stream, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, NULL), 0);
    FCHECK_EQ(weft_fiber_tls_handshake(&t), -WEFT_ETLS_HANDSHAKE);
    FCHECK(weft_tls_stream_error_detail(&t)[0] != 0);
    weft_tls_stream_destroy(&t);
    weft_tcp_stream_close(&c);
    weft_tcp_stream_close(&s);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_peer_drops_mid_handshake(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    run_fiber(rt, dropped_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- verification, seen from both ends ------------------------------------------------------------ */

static void *untrusted_fiber(void *arg) {
    (void)arg;
    duo d;
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("untrusted", NULL);
    duo_open(&d, cctx, sctx, "localhost");
    int src;
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), -WEFT_ETLS_VERIFY);
    FCHECK_EQ(weft_tls_stream_verify_result(&d.c), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    FCHECK(strstr(weft_tls_stream_error_detail(&d.c), "certificate verify failed") != NULL);
    /* the client told the server why: an unknown_ca alert */
    FCHECK_EQ(src, -WEFT_ETLS_ALERT);
    FCHECK(strstr(weft_tls_stream_error_detail(&d.s), "unknown ca") != NULL);
    duo_close(&d);
    /* the same with verification off: accepted, and no name needed */
    weft_tls_context_destroy(cctx);
    weft_tls_options none = {.verify = WEFT_TLS_VERIFY_NONE};
    cctx = client_ctx(&none);
    duo_open(&d, cctx, sctx, NULL);
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_untrusted_both_ends(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, untrusted_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- SNI --------------------------------------------------------------------------------------------- */

typedef struct sni_state {
    weft_tls_context *alt;
    atomic_int calls;
} sni_state;

static int pick(void *arg, const char *name, weft_tls_context **use) {
    sni_state *st = arg;
    atomic_fetch_add(&st->calls, 1);
    if (name && strcmp(name, "alt.test") == 0) *use = st->alt;
    if (name && strcmp(name, "refused.test") == 0) return -1;
    return 0;
}

static void *sni_fiber(void *arg) {
    (void)arg;
    sni_state st = {0};
    st.alt = server_ctx("alt", NULL);
    weft_tls_options so = {.sni = pick, .sni_arg = &st};
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", &so);
    duo d;
    /* alt.test gets the alt certificate (its name verifies) */
    duo_open(&d, cctx, sctx, "alt.test");
    int src;
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    FCHECK(strcmp(weft_tls_stream_server_name(&d.s), "alt.test") == 0);
    /* the stream keeps the context it chose alive */
    weft_tls_context_destroy(st.alt);
    st.alt = NULL;
    FCHECK_EQ(weft_fiber_write_all(&d.s.stream, "hi", 2, NULL), 0);
    char buf[2];
    FCHECK_EQ(weft_fiber_read_exact(&d.c.stream, buf, 2, NULL), 0);
    duo_close(&d);
    /* localhost gets the default certificate */
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    duo_close(&d);
    /* refused.test is refused: unrecognized_name */
    duo_open(&d, cctx, sctx, "refused.test");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), -WEFT_ETLS_ALERT);
    FCHECK(strstr(weft_tls_stream_error_detail(&d.c), "unrecognized name") != NULL);
    FCHECK_EQ(src, -WEFT_ETLS_HANDSHAKE);
    duo_close(&d);
    FCHECK_EQ(atomic_load(&st.calls), 3);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_sni_picks_certificate(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, sni_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- mutual TLS ------------------------------------------------------------------------------------- */

static void *mtls_fiber(void *arg) {
    (void)arg;
    pki_make();
    weft_tls_options req = {.verify = WEFT_TLS_VERIFY_REQUIRED};
    weft_tls_options opt = {.verify = WEFT_TLS_VERIFY_OPTIONAL};
    weft_tls_options with_cert = {.cert_file = pki_file("client.pem"), .key_file = pki_file("client.key")};
    weft_tls_context *sreq = server_ctx("server", &req), *sopt = server_ctx("server", &opt);
    weft_tls_context *anon = client_ctx(NULL), *named = client_ctx(&with_cert);
    duo d;
    int src;
    char buf[8];
    /* required, and given */
    duo_open(&d, named, sreq, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    X509 *pc = SSL_get1_peer_certificate(weft_tls_stream_ssl(&d.s));
    FCHECK(pc != NULL);
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(pc), NID_commonName, cn, sizeof cn);
    FCHECK(strcmp(cn, "weft client") == 0);
    X509_free(pc);
    duo_close(&d);
    /* required, not given: the server refuses; the client learns it by an
     * alert (in TLS 1.3 its own handshake may already have finished) */
    duo_open(&d, anon, sreq, "localhost");
    int crc = handshake_both(&d.c, &d.s, &src);
    FCHECK_EQ(src, -WEFT_ETLS_HANDSHAKE);
    if (crc == 0) crc = (int)weft_fiber_read(&d.c.stream, buf, sizeof buf);
    FCHECK_EQ(crc, -WEFT_ETLS_ALERT);
    duo_close(&d);
    /* optional, not given: fine */
    duo_open(&d, anon, sopt, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    FCHECK(SSL_get0_peer_certificate(weft_tls_stream_ssl(&d.s)) == NULL);
    duo_close(&d);
    weft_tls_context_destroy(sreq);
    weft_tls_context_destroy(sopt);
    weft_tls_context_destroy(anon);
    weft_tls_context_destroy(named);
    return NULL;
}

static void test_mutual_tls(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, mtls_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- ALPN ------------------------------------------------------------------------------------------- */

static void *alpn_fiber(void *arg) {
    (void)arg;
    const char *server_list[] = {"h2", "http/1.1", NULL};
    const char *client_list[] = {"http/1.1", "h2", NULL};
    const char *odd_list[] = {"spdy/1", NULL};
    weft_tls_options so = {.alpn = server_list}, co = {.alpn = client_list}, oo = {.alpn = odd_list};
    weft_tls_context *sctx = server_ctx("server", &so), *cctx = client_ctx(&co);
    weft_tls_context *odd = client_ctx(&oo), *plain = client_ctx(NULL);
    duo d;
    int src;
    /* the server's preference among what the client offers */
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK(weft_tls_stream_alpn(&d.c) == NULL); /* not before the handshake */
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    FCHECK(strcmp(weft_tls_stream_alpn(&d.c), "h2") == 0);
    FCHECK(strcmp(weft_tls_stream_alpn(&d.s), "h2") == 0);
    duo_close(&d);
    /* nothing in common: no_application_protocol */
    duo_open(&d, odd, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), -WEFT_ETLS_ALERT);
    FCHECK(strstr(weft_tls_stream_error_detail(&d.c), "no application protocol") != NULL);
    FCHECK_EQ(src, -WEFT_ETLS_HANDSHAKE);
    duo_close(&d);
    /* a client that offers none: no ALPN, no failure */
    duo_open(&d, plain, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    FCHECK(weft_tls_stream_alpn(&d.c) == NULL && weft_tls_stream_alpn(&d.s) == NULL);
    duo_close(&d);
    weft_tls_context_destroy(sctx);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(odd);
    weft_tls_context_destroy(plain);
    return NULL;
}

static void test_alpn(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, alpn_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- session resumption --------------------------------------------------------------------------- */

/* One connection: handshake, a message from the server (which carries the
 * TLS 1.3 tickets before it), clean close. Returns whether both ends
 * resumed (they must agree). */
static bool one_session(weft_tls_context *cctx, weft_tls_context *sctx) {
    duo d;
    duo_open(&d, cctx, sctx, "localhost");
    int src;
    FCHECK_EQ(handshake_both(&d.c, &d.s, &src), 0);
    FCHECK_EQ(src, 0);
    bool reused = weft_tls_stream_session_reused(&d.c);
    FCHECK_EQ(reused, weft_tls_stream_session_reused(&d.s));
    char buf[4];
    FCHECK_EQ(weft_fiber_write_all(&d.s.stream, "hey", 3, NULL), 0);
    FCHECK_EQ(weft_fiber_read_exact(&d.c.stream, buf, 3, NULL), 0);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &d.c.stream)), 0);
    FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), 0);
    duo_close(&d);
    return reused;
}

static void *resume_fiber(void *arg) {
    weft_tls_version v = (weft_tls_version)(intptr_t)arg;
    weft_tls_options o = {.max_version = v};
    weft_tls_context *cctx = client_ctx(&o), *sctx = server_ctx("server", NULL);
    FCHECK(!one_session(cctx, sctx));
    FCHECK(one_session(cctx, sctx));
    FCHECK(one_session(cctx, sctx));
    weft_tls_context_destroy(cctx);
    /* a client that does not resume */
    weft_tls_options off = {.max_version = v, .no_resumption = true};
    cctx = client_ctx(&off);
    FCHECK(!one_session(cctx, sctx));
    FCHECK(!one_session(cctx, sctx));
    weft_tls_context_destroy(cctx);
    /* a server that does not */
    weft_tls_context_destroy(sctx);
    weft_tls_options soff = {.no_resumption = true};
    sctx = server_ctx("server", &soff);
    cctx = client_ctx(&o);
    FCHECK(!one_session(cctx, sctx));
    FCHECK(!one_session(cctx, sctx));
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_session_resumption(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, resume_fiber, (void *)(intptr_t)WEFT_TLS_1_3);
    run_fiber(rt, resume_fiber, (void *)(intptr_t)WEFT_TLS_1_2);
    weft_runtime_destroy(rt);
}

/* ---- other inner streams: a Unix socket pair, another TLS stream ------------------------------------ */

static void echo_once(weft_tls_stream *c, weft_tls_stream *s, const char *msg) {
    size_t n = strlen(msg);
    char buf[128];
    FCHECK_EQ(weft_fiber_write_all(&c->stream, msg, n, NULL), 0);
    FCHECK_EQ(weft_fiber_read_exact(&s->stream, buf, n, NULL), 0);
    FCHECK_EQ(weft_fiber_write_all(&s->stream, buf, n, NULL), 0);
    memset(buf, 0, sizeof buf);
    FCHECK_EQ(weft_fiber_read_exact(&c->stream, buf, n, NULL), 0);
    FCHECK(memcmp(buf, msg, n) == 0);
}

static void *layers_fiber(void *arg) {
    (void)arg;
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    /* over a Unix socket pair */
    weft_unix_stream a, b;
    FCHECK_EQ(weft_unix_stream_pair(&a, &b, NULL), 0);
    weft_tls_stream c, s;
    FCHECK_EQ(weft_tls_stream_client(&c, cctx, &a.stream, "localhost"), 0);
    FCHECK_EQ(weft_tls_stream_server(&s, sctx, &b.stream), 0);
    FCHECK_EQ(handshake_both(&c, &s, NULL), 0);
    echo_once(&c, &s, "over a unix socket");
    weft_tls_stream_destroy(&c);
    weft_tls_stream_destroy(&s);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    /* TLS inside TLS */
    duo d;
    duo_open(&d, cctx, sctx, "localhost");
    FCHECK_EQ(handshake_both(&d.c, &d.s, NULL), 0);
    FCHECK_EQ(weft_tls_stream_client(&c, cctx, &d.c.stream, "localhost"), 0);
    FCHECK_EQ(weft_tls_stream_server(&s, sctx, &d.s.stream), 0);
    FCHECK_EQ(handshake_both(&c, &s, NULL), 0);
    echo_once(&c, &s, "tls in tls");
    /* the inner layer's close_notify, then the outer one's */
    weft_flush f;
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &c.stream)), 0);
    FCHECK_EQ(f.result, 0);
    char buf[8];
    FCHECK_EQ(weft_fiber_read(&s.stream, buf, sizeof buf), 0);
    FCHECK_EQ(weft_fiber_read(&d.s.stream, buf, sizeof buf), 0); /* the outer one ended too */
    weft_tls_stream_destroy(&c);
    weft_tls_stream_destroy(&s);
    duo_close(&d);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_other_inner_streams(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, layers_fiber, NULL);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_echo),
        cmocka_unit_test(test_stream_helpers_over_tls),
        cmocka_unit_test(test_large_both_ways_split),
        cmocka_unit_test(test_large_echo_through_copy),
        cmocka_unit_test(test_close_notify_both_ways),
        cmocka_unit_test(test_truncation_is_an_error),
        cmocka_unit_test(test_truncation_allowed),
        cmocka_unit_test(test_peer_drops_mid_handshake),
        cmocka_unit_test(test_untrusted_both_ends),
        cmocka_unit_test(test_sni_picks_certificate),
        cmocka_unit_test(test_mutual_tls),
        cmocka_unit_test(test_alpn),
        cmocka_unit_test(test_session_resumption),
        cmocka_unit_test(test_other_inner_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
