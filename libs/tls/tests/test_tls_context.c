/* TLS contexts and streams without a network: every way a context can be
 * refused (and what it says), the defaults, streams that are empty or not
 * yet handshaken, contexts outliving their creator's reference, the error
 * messages.
 * weft-test: io */
#include "tls_support.h"

static int make(weft_tls_role role, weft_tls_options *o) {
    weft_tls_context *ctx = (weft_tls_context *)1;
    int rc = weft_tls_context_create(&ctx, role, o);
    if (rc == 0) {
        assert_non_null(ctx);
        weft_tls_context_destroy(ctx);
    } else {
        assert_null(ctx);
        assert_true(weft_tls_context_error_detail()[0] != 0 || rc == -ENOMEM);
    }
    return rc;
}

static void test_context_errors(void **state) {
    (void)state;
    pki_make();
    weft_tls_context *ctx;
    assert_int_equal(weft_tls_context_create(NULL, WEFT_TLS_CLIENT, NULL), -EINVAL);
    assert_int_equal(weft_tls_context_create(&ctx, (weft_tls_role)7, NULL), -EINVAL);
    assert_null(ctx);
    /* defaults: a client needs nothing; a server needs a certificate */
    assert_int_equal(make(WEFT_TLS_CLIENT, NULL), 0);
    assert_int_equal(make(WEFT_TLS_SERVER, NULL), -EINVAL);
    assert_non_null(strstr(weft_tls_context_error_detail(), "certificate"));
    /* files */
    weft_tls_options o = {.cert_file = "/nonexistent/cert.pem", .key_file = pki_file("server.key")};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -ENOENT);
    assert_non_null(strstr(weft_tls_context_error_detail(), "cert_file"));
    o = (weft_tls_options){.cert_file = pki_file("server.pem"), .key_file = "/nonexistent/key.pem"};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -ENOENT);
    o = (weft_tls_options){.cert_file = pki_file("server.pem"), .key_file = pki_file("alt.key")};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -WEFT_ETLS_CONFIG); /* not its key */
    o = (weft_tls_options){.cert_file = pki_file("server.key"), .key_file = pki_file("server.key")};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -WEFT_ETLS_CONFIG); /* not a certificate */
    o = (weft_tls_options){.cert_file = pki_file("server.pem")};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -EINVAL); /* no key */
    o = (weft_tls_options){.ca_file = "/nonexistent/ca.pem"};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -ENOENT);
    /* PEM text */
    char *cert = slurp(pki_file("server.pem")), *key = slurp(pki_file("server.key"));
    o = (weft_tls_options){.cert_pem = cert, .key_pem = key};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), 0);
    o = (weft_tls_options){.cert_pem = "not a certificate", .key_pem = key};
    assert_int_equal(make(WEFT_TLS_SERVER, &o), -WEFT_ETLS_CONFIG);
    o = (weft_tls_options){.ca_pem = "garbage"};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -WEFT_ETLS_CONFIG);
    o = (weft_tls_options){.ca_pem = cert, .no_default_ca = true};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), 0);
    free(cert);
    free(key);
    /* ALPN, versions, ciphers, verify modes */
    const char *empty_name[] = {"h2", "", NULL};
    o = (weft_tls_options){.alpn = empty_name};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -EINVAL);
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    const char *too_long[] = {long_name, NULL};
    o = (weft_tls_options){.alpn = too_long};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -EINVAL);
    o = (weft_tls_options){.min_version = (weft_tls_version)9};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -EINVAL);
    o = (weft_tls_options){.cipher_list = "NO-SUCH-CIPHER"};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -WEFT_ETLS_CONFIG);
    o = (weft_tls_options){.ciphersuites = "TLS_NO_SUCH_SUITE"};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -WEFT_ETLS_CONFIG);
    o = (weft_tls_options){.ciphersuites = "TLS_AES_128_GCM_SHA256", .min_version = WEFT_TLS_1_3};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), 0);
    o = (weft_tls_options){.verify = (weft_tls_verify)42};
    assert_int_equal(make(WEFT_TLS_CLIENT, &o), -EINVAL);
    /* a failure leaves nothing in OpenSSL's error queue for the next call */
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(make(WEFT_TLS_CLIENT, NULL), 0);
    assert_string_equal(weft_tls_context_error_detail(), "");
    ctx = server_ctx("server", NULL);
    assert_non_null(weft_tls_context_ssl_ctx(ctx));
    weft_tls_context_destroy(ctx);
    assert_null(weft_tls_context_ssl_ctx(NULL));
}

static void test_streams_empty_and_unopened(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    weft_unix_stream a, b;
    assert_int_equal(weft_unix_stream_pair(&a, &b, rt), 0);
    weft_tls_stream s;
    /* bad arguments leave an empty stream */
    assert_int_equal(weft_tls_stream_client(NULL, cctx, &a.stream, "x"), -EINVAL);
    assert_int_equal(weft_tls_stream_client(&s, NULL, &a.stream, "x"), -EINVAL);
    assert_int_equal(weft_tls_stream_client(&s, cctx, NULL, "x"), -EINVAL);
    assert_int_equal(weft_tls_stream_client(&s, sctx, &a.stream, "x"), -EINVAL); /* a server context */
    assert_int_equal(weft_tls_stream_client(&s, cctx, &a.stream, NULL), -EINVAL); /* verification needs a name */
    assert_int_equal(weft_tls_stream_server(&s, cctx, &a.stream), -EINVAL);
    weft_stream never = {0};
    assert_int_equal(weft_tls_stream_server(&s, sctx, &never), -EBADF);
    assert_null(weft_tls_stream_ssl(&s));
    assert_string_equal(weft_tls_stream_error_detail(&s), "");
    assert_int_equal(weft_tls_stream_verify_result(&s), -1);
    /* every operation on it: -EBADF */
    char buf[4];
    weft_read r;
    assert_int_equal(weft_block_on(rt, weft_read_init(&r, &s.stream, buf, sizeof buf)), 0);
    assert_int_equal(r.result, -EBADF);
    weft_write w;
    assert_int_equal(weft_block_on(rt, weft_write_init(&w, &s.stream, "x", 1)), 0);
    assert_int_equal(w.result, -EBADF);
    weft_flush f;
    assert_int_equal(weft_block_on(rt, weft_shutdown_init(&f, &s.stream)), 0);
    assert_int_equal(f.result, -EBADF);
    weft_tls_handshake hs;
    assert_int_equal(weft_block_on(rt, weft_tls_handshake_init(&hs, &s)), 0);
    assert_int_equal(hs.result, -EBADF);
    assert_int_equal(weft_block_on(rt, weft_tls_handshake_init(&hs, NULL)), 0);
    assert_int_equal(hs.result, -EINVAL);
    weft_tls_stream zero = {0}; /* zero-initialised: empty too */
    assert_int_equal(weft_block_on(rt, weft_read_init(&r, &zero.stream, buf, sizeof buf)), 0);
    assert_int_equal(r.result, -EBADF);
    weft_tls_stream_destroy(&zero);
    weft_tls_stream_destroy(NULL);

    /* made but not handshaken: -ENOTCONN; getters say nothing yet */
    assert_int_equal(weft_tls_stream_client(&s, cctx, &a.stream, "localhost"), 0);
    assert_int_equal(weft_block_on(rt, weft_read_init(&r, &s.stream, buf, sizeof buf)), 0);
    assert_int_equal(r.result, -ENOTCONN);
    assert_int_equal(weft_block_on(rt, weft_write_init(&w, &s.stream, "x", 1)), 0);
    assert_int_equal(w.result, -ENOTCONN);
    assert_int_equal(weft_block_on(rt, weft_flush_init(&f, &s.stream)), 0);
    assert_int_equal(f.result, -ENOTCONN);
    assert_null(weft_tls_stream_version(&s));
    assert_null(weft_tls_stream_cipher(&s));
    assert_null(weft_tls_stream_alpn(&s));
    assert_false(weft_tls_stream_session_reused(&s));
    assert_string_equal(weft_tls_stream_server_name(&s), "localhost");
    assert_non_null(weft_tls_stream_ssl(&s));
    /* the stream keeps its context alive */
    weft_tls_context_destroy(cctx);
    weft_tls_stream_destroy(&s);
    weft_tls_stream_destroy(&s);

    /* a handshake future dropped before its first poll changes nothing */
    cctx = client_ctx(NULL);
    assert_int_equal(weft_tls_stream_client(&s, cctx, &a.stream, "127.0.0.1"), 0);
    weft_tls_handshake_init(&hs, &s);
    weft_future_drop(&hs.base);
    assert_int_equal(weft_block_on(rt, weft_read_init(&r, &s.stream, buf, sizeof buf)), 0);
    assert_int_equal(r.result, -ENOTCONN);
    weft_tls_stream_destroy(&s);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    weft_tls_context_destroy(NULL);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    weft_runtime_destroy(rt);
}

static void test_error_messages(void **state) {
    (void)state;
    int codes[] = {WEFT_ETLS_VERIFY, WEFT_ETLS_HANDSHAKE, WEFT_ETLS_ALERT, WEFT_ETLS_PROTOCOL,
                   WEFT_ETLS_TRUNCATED, WEFT_ETLS_CONFIG};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = weft_strerror(-codes[i]);
        assert_non_null(m);
        assert_non_null(strstr(m, "TLS"));
    }
    assert_non_null(strstr(weft_strerror(-WEFT_ETLS_TRUNCATED), "close_notify"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_errors),
        cmocka_unit_test(test_streams_empty_and_unopened),
        cmocka_unit_test(test_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
