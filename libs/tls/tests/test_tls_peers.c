/* weft's TLS streams against real peers, started on loopback with a PKI
 * made at test time: openssl s_server (echo, close_notify both ways, a
 * peer that closes without close_notify, untrusted / expired / wrong-name
 * certificates, ALPN, session resumption over TLS 1.3 and 1.2), openssl
 * s_client against a weft server (verification, close_notify read as end
 * of stream), curl against a weft HTTPS server (ALPN http/1.1; a curl that
 * does not trust us makes our handshake fail with its alert).
 * weft-test: io  weft-test: timeout=300 */
#include "tls_support.h"

/* A client stream to 127.0.0.1:port, made and handshaken from a fiber. */
typedef struct client {
    weft_tcp_stream tcp;
    weft_tls_stream tls;
} client;

static int client_open(client *c, weft_tls_context *ctx, uint16_t port, const char *name) {
    FCHECK_EQ(tcp_connect_port(&c->tcp, port), 0);
    FCHECK_EQ(weft_tls_stream_client(&c->tls, ctx, &c->tcp.stream, name), 0);
    return weft_fiber_tls_handshake(&c->tls);
}

static void client_close(client *c) {
    weft_tls_stream_destroy(&c->tls);
    weft_tcp_stream_close(&c->tcp);
}

/* Reads until `len` bytes or end of stream; returns the count or an error. */
static ssize_t read_some(weft_stream *s, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = weft_fiber_read(s, buf + got, len - got);
        if (n < 0) return n;
        if (n == 0) break;
        got += (size_t)n;
        if (memchr(buf, '\n', got)) break;
    }
    return (ssize_t)got;
}

/* ---- s_server: conversation, close_notify both ways ---------------------------------------------- */

typedef struct conv {
    peer *srv;
    uint16_t port;
    weft_tls_context *ctx;
} conv;

static void *conversation_fiber(void *arg) {
    conv *cv = arg;
    client c;
    FCHECK_EQ(client_open(&c, cv->ctx, cv->port, "localhost"), 0);
    FCHECK(weft_tls_stream_version(&c.tls) != NULL);
    /* what we write appears in s_server's output ... */
    FCHECK_EQ(weft_fiber_write_all(&c.tls.stream, "hello from weft\n", 16, NULL), 0);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_flush_init(&f, &c.tls.stream)), 0);
    for (int i = 0; i < 500; i++) {
        char *o = slurp(cv->srv->out);
        bool seen = strstr(o, "hello from weft") != NULL;
        free(o);
        if (seen) break;
        FCHECK(i < 499);
        FCHECK_EQ(weft_fiber_sleep(10), 0);
    }
    /* ... and what it types reaches us */
    peer_say(cv->srv, "hello from s_server\n");
    char buf[64] = "";
    FCHECK_EQ(read_some(&c.tls.stream, buf, sizeof buf - 1), 20);
    FCHECK(strncmp(buf, "hello from s_server\n", 20) == 0);
    /* our close_notify; s_server answers with its own: a clean end */
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &c.tls.stream)), 0);
    FCHECK_EQ(f.result, 0);
    FCHECK_EQ(weft_fiber_read(&c.tls.stream, buf, sizeof buf), 0);
    client_close(&c);
    return NULL;
}

static void test_s_server_conversation_and_close_notify(void **state) {
    (void)state;
    peer srv;
    conv cv = {&srv, 0, client_ctx(NULL)};
    cv.port = s_server_start(&srv, "server", NULL);
    weft_runtime *rt = rt_new();
    run_fiber(rt, conversation_fiber, &cv);
    /* s_server read our close_notify as the end ("DONE"), not an error;
     * and it answered with its own: our read above was a clean 0 */
    char *o = peer_wait_for(&srv, "DONE", 5000);
    if (!o) {
        char *all = slurp(srv.out);
        fprintf(stderr, "s_server said: ...%s\n", all + (strlen(all) > 800 ? strlen(all) - 800 : 0));
        fail_msg("s_server did not see the end of the connection");
    }
    assert_null(strstr(o, "rror"));
    free(o);
    peer_stop(&srv, 1000);
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(cv.ctx);
}

/* ---- s_server closes without close_notify ('q') ------------------------------------------------ */

static void *truncated_fiber(void *arg) {
    conv *cv = arg;
    client c;
    FCHECK_EQ(client_open(&c, cv->ctx, cv->port, "localhost"), 0);
    peer_say(cv->srv, "some data\n");
    char buf[64];
    FCHECK_EQ(read_some(&c.tls.stream, buf, sizeof buf), 10);
    peer_say(cv->srv, "q\n"); /* s_server drops the connection: no close_notify */
    FCHECK_EQ(weft_fiber_read(&c.tls.stream, buf, sizeof buf), -WEFT_ETLS_TRUNCATED);
    client_close(&c);
    /* the same, allowed */
    FCHECK_EQ(client_open(&c, cv->ctx, cv->port, "localhost"), 0);
    weft_tls_stream_set_allow_truncation(&c.tls, true);
    peer_say(cv->srv, "more data\n"); /* (we send nothing: unread data would make it a reset) */
    FCHECK_EQ(read_some(&c.tls.stream, buf, sizeof buf), 10);
    peer_say(cv->srv, "q\n");
    FCHECK_EQ(weft_fiber_read(&c.tls.stream, buf, sizeof buf), 0);
    client_close(&c);
    return NULL;
}

static void test_s_server_truncation(void **state) {
    (void)state;
    peer srv;
    conv cv = {&srv, 0, client_ctx(NULL)};
    cv.port = s_server_start(&srv, "server", NULL);
    weft_runtime *rt = rt_new();
    run_fiber(rt, truncated_fiber, &cv);
    peer_stop(&srv, 100);
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(cv.ctx);
}

/* ---- verification failures against s_server ----------------------------------------------------- */

typedef struct verify_case {
    const char *cert;   /* s_server's certificate */
    const char *name;   /* the name we expect */
    int want;           /* handshake result */
    long verify;        /* verify result */
    const char *detail; /* in the error detail */
} verify_case;

static const verify_case verify_cases[] = {
    {"server", "localhost", 0, X509_V_OK, ""},
    {"server", "127.0.0.1", 0, X509_V_OK, ""},
    {"untrusted", "localhost", -WEFT_ETLS_VERIFY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     "unable to get local issuer certificate"},
    {"expired", "localhost", -WEFT_ETLS_VERIFY, X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired"},
    {"server", "wrong.example", -WEFT_ETLS_VERIFY, X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
    {"server", "127.0.0.2", -WEFT_ETLS_VERIFY, X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch"},
    {"alt", "localhost", -WEFT_ETLS_VERIFY, X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
};

typedef struct verify_run {
    const verify_case *vc;
    uint16_t port;
    weft_tls_context *ctx;
} verify_run;

static void *verify_fiber(void *arg) {
    verify_run *v = arg;
    client c;
    int rc = client_open(&c, v->ctx, v->port, v->vc->name);
    if (rc != v->vc->want)
        fprintf(stderr, "%s as %s: %s (%s)\n", v->vc->cert, v->vc->name, weft_strerror(rc),
                weft_tls_stream_error_detail(&c.tls));
    FCHECK_EQ(rc, v->vc->want);
    FCHECK_EQ(weft_tls_stream_verify_result(&c.tls), v->vc->verify);
    FCHECK(strstr(weft_tls_stream_error_detail(&c.tls), v->vc->detail) != NULL);
    if (rc == 0) {
        weft_flush f;
        FCHECK_EQ(weft_await(weft_shutdown_init(&f, &c.tls.stream)), 0);
    }
    client_close(&c);
    return NULL;
}

static void test_s_server_verification(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_tls_context *ctx = client_ctx(NULL);
    for (size_t i = 0; i < sizeof verify_cases / sizeof verify_cases[0]; i++) {
        peer srv;
        verify_run v = {&verify_cases[i], s_server_start(&srv, verify_cases[i].cert, NULL), ctx};
        run_fiber(rt, verify_fiber, &v);
        peer_stop(&srv, 100);
    }
    weft_tls_context_destroy(ctx);
    weft_runtime_destroy(rt);
}

/* ---- ALPN and session resumption against s_server -rev ------------------------------------------ */

typedef struct rev_run {
    uint16_t port;
    weft_tls_context *ctx;
    bool reused;
    char alpn[32];
} rev_run;

/* One exchange with s_server -rev (it answers each line reversed). */
static void *rev_fiber(void *arg) {
    rev_run *r = arg;
    client c;
    FCHECK_EQ(client_open(&c, r->ctx, r->port, "localhost"), 0);
    r->reused = weft_tls_stream_session_reused(&c.tls);
    snprintf(r->alpn, sizeof r->alpn, "%s", weft_tls_stream_alpn(&c.tls) ? weft_tls_stream_alpn(&c.tls) : "");
    FCHECK_EQ(weft_fiber_write_all(&c.tls.stream, "weft\n", 5, NULL), 0);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_flush_init(&f, &c.tls.stream)), 0);
    char buf[64] = "";
    FCHECK(read_some(&c.tls.stream, buf, sizeof buf - 1) >= 5);
    FCHECK(strncmp(buf, "tfew\n", 5) == 0);
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &c.tls.stream)), 0);
    client_close(&c);
    return NULL;
}

static void test_s_server_alpn(void **state) {
    (void)state;
    const char *extra[] = {"-rev", "-alpn", "h2,http/1.1", NULL};
    peer srv;
    uint16_t port = s_server_start(&srv, "server", extra);
    weft_runtime *rt = rt_new();
    const char *mine[] = {"http/1.1", "weft/1", NULL};
    weft_tls_options o = {.alpn = mine};
    rev_run r = {port, client_ctx(&o), false, ""};
    run_fiber(rt, rev_fiber, &r);
    assert_string_equal(r.alpn, "http/1.1");
    weft_tls_context_destroy(r.ctx);
    peer_stop(&srv, 100);
    weft_runtime_destroy(rt);
}

static void resumption_against(const char *const *extra, weft_tls_version v) {
    peer srv;
    uint16_t port = s_server_start(&srv, "server", extra);
    weft_runtime *rt = rt_new();
    weft_tls_options o = {.max_version = v};
    rev_run r = {port, client_ctx(&o), true, ""};
    run_fiber(rt, rev_fiber, &r);
    assert_false(r.reused);
    run_fiber(rt, rev_fiber, &r);
    assert_true(r.reused);
    run_fiber(rt, rev_fiber, &r);
    assert_true(r.reused);
    weft_tls_context_destroy(r.ctx);
    peer_stop(&srv, 100);
    weft_runtime_destroy(rt);
}

static void test_s_server_resumption_tls13(void **state) {
    (void)state;
    const char *extra[] = {"-rev", NULL};
    resumption_against(extra, WEFT_TLS_1_3);
}

static void test_s_server_resumption_tls12(void **state) {
    (void)state;
    const char *extra[] = {"-rev", "-tls1_2", NULL};
    resumption_against(extra, WEFT_TLS_1_2);
}

/* ---- s_client against a weft server ------------------------------------------------------------- */

typedef struct serve_one {
    peer *cl;
    weft_tcp_listener *l;
    weft_tls_context *ctx;
    const char *greeting;
    char got[256];
    int hs_rc, end_rc;
    char alpn[32];
} serve_one;

/* Accepts one connection, handshakes, sends the greeting, reads until end
 * of stream. */
static void *s_client_server_fiber(void *arg) {
    serve_one *so = arg;
    weft_tcp_stream tcp;
    FCHECK_EQ(weft_fiber_accept(so->l, &tcp), 0);
    weft_tls_stream t;
    FCHECK_EQ(weft_tls_stream_server(&t, so->ctx, &tcp.stream), 0);
    so->hs_rc = weft_fiber_tls_handshake(&t);
    if (so->hs_rc == 0) {
        FCHECK_EQ(weft_fiber_write_all(&t.stream, so->greeting, strlen(so->greeting), NULL), 0);
        weft_flush f;
        FCHECK_EQ(weft_await(weft_flush_init(&f, &t.stream)), 0);
        /* once s_client has shown the greeting, end its input: it sends
         * what it read, then its close_notify */
        for (int i = 0;; i++) {
            char *o = slurp(so->cl->out);
            bool seen = strstr(o, so->greeting) != NULL;
            free(o);
            if (seen) break;
            FCHECK(i < 1000);
            FCHECK_EQ(weft_fiber_sleep(10), 0);
        }
        peer_say(so->cl, "ping from s_client\n");
        close(so->cl->in);
        so->cl->in = -1;
        size_t got = 0;
        for (;;) {
            ssize_t n = weft_fiber_read(&t.stream, so->got + got, sizeof so->got - 1 - got);
            if (n <= 0) {
                so->end_rc = (int)n;
                break;
            }
            got += (size_t)n;
        }
    }
    weft_tls_stream_destroy(&t);
    weft_tcp_stream_close(&tcp);
    return NULL;
}

static void test_s_client_against_weft_server(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_tcp_listener l = {0};
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 8), 0);
    peer cl;
    serve_one so = {&cl, &l, server_ctx("chain", NULL), "welcome from weft\n", "", 1, 1, ""};
    /* chain.pem holds the leaf and the CA; its key is server.key */
    char connect[64];
    snprintf(connect, sizeof connect, "127.0.0.1:%u", weft_tcp_listener_port(&l));
    char *argv[] = {(char *)program(WEFT_TEST_OPENSSL, "openssl"), "s_client", "-connect", connect,
                    "-CAfile", (char *)pki_file("ca.pem"), "-servername", "localhost",
                    "-verify_hostname", "localhost", "-verify_return_error", "-brief", NULL};
    peer_start(&cl, argv);
    run_fiber(rt, s_client_server_fiber, &so);
    assert_int_equal(so.hs_rc, 0);
    assert_int_equal(so.end_rc, 0); /* close_notify: a clean end of stream */
    assert_string_equal(so.got, "ping from s_client\n");
    char *o = peer_wait_for(&cl, "welcome from weft", 5000);
    if (!o) fail_msg("s_client said: %s", slurp(cl.out));
    assert_non_null(strstr(o, "Verification: OK"));
    free(o);
    peer_stop(&cl, 2000);
    weft_tcp_listener_close(&l);
    weft_tls_context_destroy(so.ctx);
    weft_runtime_destroy(rt);
}

/* ---- curl against a weft HTTPS server ---------------------------------------------------------- */

typedef struct http_one {
    weft_tcp_listener *l;
    weft_tls_context *ctx;
    int hs_rc;
    char alpn[32], path[64], detail[128];
} http_one;

/* Serves one HTTP/1.1 request over TLS with a bufreader. */
static void *http_fiber(void *arg) {
    http_one *h = arg;
    weft_tcp_stream tcp;
    FCHECK_EQ(weft_fiber_accept(h->l, &tcp), 0);
    weft_tls_stream t;
    FCHECK_EQ(weft_tls_stream_server(&t, h->ctx, &tcp.stream), 0);
    h->hs_rc = weft_fiber_tls_handshake(&t);
    snprintf(h->detail, sizeof h->detail, "%s", weft_tls_stream_error_detail(&t));
    if (h->hs_rc == 0) {
        snprintf(h->alpn, sizeof h->alpn, "%s", weft_tls_stream_alpn(&t) ? weft_tls_stream_alpn(&t) : "");
        weft_bufreader br;
        FCHECK_EQ(weft_bufreader_init(&br, &t.stream, NULL, 4096), 0);
        char line[512];
        ssize_t n = weft_fiber_read_line(&br, line, sizeof line);
        FCHECK(n > 0);
        sscanf(line, "GET %63s HTTP/1.1", h->path);
        while ((n = weft_fiber_read_line(&br, line, sizeof line)) > 2) {
        }
        FCHECK_EQ(n, 2); /* the empty line */
        const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
                            "Connection: close\r\n\r\nhello, curl\n";
        FCHECK_EQ(weft_fiber_write_all(&t.stream, resp, sizeof resp - 1, NULL), 0);
        weft_flush f;
        FCHECK_EQ(weft_await(weft_shutdown_init(&f, &t.stream)), 0);
        /* curl may have read its Content-Length and gone already */
        FCHECK(f.result == 0 || f.result == -ENOTCONN || f.result == -EPIPE || f.result == -ECONNRESET);
        weft_bufreader_destroy(&br);
    }
    weft_tls_stream_destroy(&t);
    weft_tcp_stream_close(&tcp);
    return NULL;
}

static void curl_once(const char *ca, bool want_ok) {
    weft_runtime *rt = rt_new();
    weft_tcp_listener l = {0};
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 8), 0);
    const char *alpn[] = {"http/1.1", NULL};
    weft_tls_options o = {.alpn = alpn};
    http_one h = {&l, server_ctx("server", &o), 1, "", "", ""};
    char url[96];
    snprintf(url, sizeof url, "https://localhost:%u/hello", weft_tcp_listener_port(&l));
    char resolve[64];
    snprintf(resolve, sizeof resolve, "localhost:%u:127.0.0.1", weft_tcp_listener_port(&l));
    char *argv[] = {(char *)program(WEFT_TEST_CURL, "curl"), "-sS", "--max-time", "20",
                    "--cacert", (char *)pki_file(ca), "--resolve", resolve,
                    "-w", "\nversion=%{http_version} verify=%{ssl_verify_result}\n", url, NULL};
    peer cl;
    peer_start(&cl, argv);
    run_fiber(rt, http_fiber, &h);
    int status = peer_stop(&cl, 20000);
    char *out = slurp(cl.out);
    if (want_ok) {
        if (h.hs_rc) print_message("handshake: %s (%s)\n", weft_strerror(h.hs_rc), h.detail);
        assert_int_equal(h.hs_rc, 0);
        assert_string_equal(h.alpn, "http/1.1");
        assert_string_equal(h.path, "/hello");
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_non_null(strstr(out, "hello, curl\n"));
        assert_non_null(strstr(out, "version=1.1 verify=0"));
    } else {
        /* curl does not trust our certificate: it aborts with an alert */
        assert_int_equal(h.hs_rc, -WEFT_ETLS_ALERT);
        assert_non_null(strstr(h.detail, "unknown ca"));
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 60); /* CURLE_PEER_FAILED_VERIFICATION */
    }
    free(out);
    weft_tcp_listener_close(&l);
    weft_tls_context_destroy(h.ctx);
    weft_runtime_destroy(rt);
}

static void test_curl_against_weft_server(void **state) {
    (void)state;
    curl_once("ca.pem", true);
}

static void test_curl_that_does_not_trust_us(void **state) {
    (void)state;
    curl_once("other-ca.pem", false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s_server_conversation_and_close_notify),
        cmocka_unit_test(test_s_server_truncation),
        cmocka_unit_test(test_s_server_verification),
        cmocka_unit_test(test_s_server_alpn),
        cmocka_unit_test(test_s_server_resumption_tls13),
        cmocka_unit_test(test_s_server_resumption_tls12),
        cmocka_unit_test(test_s_client_against_weft_server),
        cmocka_unit_test(test_curl_against_weft_server),
        cmocka_unit_test(test_curl_that_does_not_trust_us),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
