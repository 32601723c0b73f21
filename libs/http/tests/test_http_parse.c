/* The HTTP/1.1 parser and chunked decoder: what they accept, every prefix
 * of a valid message is "incomplete" (never an error, never a different
 * answer), and every smuggling vector and malformed form is refused with
 * the error that maps to the right status.
 * weft-test: release */
#include "support.h"
#include "weft/http.h"

#define P(lit) weft_http_parse_request(&h, (lit), sizeof(lit) - 1, hdrs, 16, 4096)

static weft_http_head h;
static weft_http_header hdrs[16];

static bool span_is(const char *p, size_t n, const char *lit) {
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

static void test_simple_get(void **state) {
    (void)state;
    const char req[] = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Long:   spaced value  \r\n\r\nNEXT";
    int n = P(req);
    assert_int_equal(n, (int)(sizeof req - 1 - 4));
    assert_true(span_is(h.method, h.method_len, "GET"));
    assert_true(span_is(h.target, h.target_len, "/a/b?x=1"));
    assert_int_equal(h.version, 1);
    assert_int_equal(h.num_headers, 2);
    assert_true(span_is(h.headers[1].value, h.headers[1].value_len, "spaced value"));
    assert_true(h.keep_alive);
    assert_int_equal(h.body, WEFT_HTTP_BODY_NONE);
    assert_int_equal(h.content_length, 0);
    const weft_http_header *f = weft_http_head_find(&h, "HOST");
    assert_non_null(f);
    assert_true(span_is(f->value, f->value_len, "example.com"));
    assert_null(weft_http_head_find(&h, "missing"));
}

static void test_every_prefix_is_incomplete(void **state) {
    (void)state;
    const char req[] =
        "\r\nPOST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
    size_t len = sizeof req - 1;
    for (size_t i = 0; i < len; i++)
        assert_int_equal(weft_http_parse_request(&h, req, i, hdrs, 16, 4096), -EAGAIN);
    assert_int_equal(weft_http_parse_request(&h, req, len, hdrs, 16, 4096), (int)len);
    assert_int_equal(h.body, WEFT_HTTP_BODY_LENGTH);
    assert_int_equal(h.content_length, 5);
    assert_false(h.keep_alive);
    const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    len = sizeof resp - 1;
    for (size_t i = 0; i < len; i++)
        assert_int_equal(weft_http_parse_response(&h, resp, i, hdrs, 16, 4096, false), -EAGAIN);
    assert_int_equal(weft_http_parse_response(&h, resp, len, hdrs, 16, 4096, false), (int)len);
    assert_int_equal(h.status, 404);
    assert_true(span_is(h.reason, h.reason_len, "Not Found"));
    assert_int_equal(h.body, WEFT_HTTP_BODY_NONE);
}

static void test_pipelined(void **state) {
    (void)state;
    const char two[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    int n1 = P(two);
    assert_true(n1 > 0);
    assert_true(span_is(h.target, h.target_len, "/1"));
    int n2 = weft_http_parse_request(&h, two + n1, sizeof two - 1 - (size_t)n1, hdrs, 16, 4096);
    assert_int_equal(n1 + n2, (int)(sizeof two - 1));
    assert_true(span_is(h.target, h.target_len, "/2"));
}

static void test_http10_and_keepalive(void **state) {
    (void)state;
    assert_true(P("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_false(h.keep_alive);
    assert_true(P("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
    assert_true(h.keep_alive);
    assert_true(P("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n") > 0);
    assert_false(h.keep_alive);
    assert_true(P("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n") > 0);
    assert_true(h.expect_continue);
    assert_true(P("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n") > 0);
    assert_true(h.expect_unknown);
    assert_true(P("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n") > 0);
    assert_int_equal(h.content_length, 7);
    assert_true(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n") > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_CHUNKED);
    assert_int_equal(h.content_length, -1);
}

static void test_smuggling_and_malformed(void **state) {
    (void)state;
    /* request smuggling vectors */
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"), -ENOTSUP);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), -ENOTSUP);
    assert_int_equal(P("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), -EBADMSG);
    /* obs-fold, bare CR, bare LF, NUL, whitespace before the colon */
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\nHost: a\r\n\r\n"), -EBADMSG);
    assert_int_equal(weft_http_parse_request(&h, "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 34, hdrs, 16, 4096), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"), -EBADMSG);
    /* request line */
    assert_int_equal(P("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), -EPROTONOSUPPORT);
    assert_int_equal(P("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), -EPROTONOSUPPORT);
    assert_int_equal(P("GET / HTTQ/1.1\r\n"), -EBADMSG);
    assert_int_equal(P("GET / HTTP/1.1\r\n\r\n"), -EBADMSG); /* no Host */
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), -EBADMSG);
    /* garbage is refused before the head is complete */
    assert_int_equal(P("\x16\x03\x01\x02"), -EBADMSG);
}

static void test_limits(void **state) {
    (void)state;
    char big[8192];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'v', 5000);
    memcpy(big + n + 5000, "\r\n\r\n", 4);
    size_t len = (size_t)n + 5004;
    assert_int_equal(weft_http_parse_request(&h, big, len, hdrs, 16, 4096), -EMSGSIZE);
    /* incomplete but already over the limit */
    assert_int_equal(weft_http_parse_request(&h, big, 4500, hdrs, 16, 4096), -EMSGSIZE);
    assert_int_equal(weft_http_parse_request(&h, big, len, hdrs, 16, 8192), (int)len);
    char many[4096];
    n = snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 20; i++) n += snprintf(many + n, sizeof many - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(many + n, sizeof many - (size_t)n, "\r\n");
    assert_int_equal(weft_http_parse_request(&h, many, (size_t)n, hdrs, 16, 4096), -E2BIG);
    assert_int_equal(weft_http_error_status(-E2BIG), 431);
    assert_int_equal(weft_http_error_status(-EMSGSIZE), 431);
    assert_int_equal(weft_http_error_status(-ENOTSUP), 501);
    assert_int_equal(weft_http_error_status(-EBADMSG), 400);
}

static void test_response_framing(void **state) {
    (void)state;
#define R(lit, head) weft_http_parse_response(&h, (lit), sizeof(lit) - 1, hdrs, 16, 4096, (head))
    assert_true(R("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false) > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_LENGTH);
    assert_true(R("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true) > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_NONE);
    assert_true(R("HTTP/1.1 204 No Content\r\n\r\n", false) > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_NONE);
    assert_true(R("HTTP/1.1 200 OK\r\n\r\n", false) > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_CLOSE);
    assert_false(h.keep_alive);
    assert_true(R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", false) > 0);
    assert_int_equal(h.body, WEFT_HTTP_BODY_CHUNKED);
    assert_false(h.keep_alive);
    assert_true(R("HTTP/1.1 200\r\n\r\n", false) > 0);
    assert_int_equal(h.reason_len, 0);
    assert_int_equal(R("HTTP/1.1 20 OK\r\n\r\n", false), -EBADMSG);
    assert_int_equal(R("HTTP/1.1 099 OK\r\n\r\n", false), -EBADMSG);
    assert_int_equal(R("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false), -EBADMSG);
}

/* Decodes `in` fed in pieces of `step` bytes; appends the data to out. */
static int decode_steps(const char *in, size_t len, size_t step, char *out, size_t *outlen,
                        size_t *rest) {
    weft_http_chunked d;
    weft_http_chunked_init(&d, 256);
    size_t pos = 0, avail = 0;
    *outlen = 0;
    for (;;) {
        if (avail < len && (avail - pos) < step) avail = avail + step > len ? len : avail + step;
        size_t used, off, n;
        int r = weft_http_chunked_decode(&d, in + pos, avail - pos, &used, &off, &n);
        if (r < 0) return r;
        if (r == WEFT_HTTP_CHUNKED_DATA) {
            memcpy(out + *outlen, in + pos + off, n);
            *outlen += n;
        }
        pos += used;
        if (r == WEFT_HTTP_CHUNKED_DONE) {
            *rest = len - pos;
            return 0;
        }
        if (r == WEFT_HTTP_CHUNKED_MORE && avail == len && pos == len) return -EAGAIN;
    }
}

static void test_chunked(void **state) {
    (void)state;
    const char body[] = "5\r\nhello\r\n1;ext=1;x=\"q\"\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\nY: z\r\n\r\nNEXT";
    char out[64];
    size_t outlen, rest;
    for (size_t step = 1; step <= sizeof body; step++) {
        assert_int_equal(decode_steps(body, sizeof body - 1, step, out, &outlen, &rest), 0);
        assert_int_equal(outlen, 22);
        assert_memory_equal(out, "hello 0123456789abcdef", 22);
        assert_int_equal(rest, 4);
    }
    const char *bad[] = {
        "x\r\n",                  /* not hex */
        " 5\r\nhello\r\n0\r\n\r\n", /* leading space */
        "5\nhello\r\n0\r\n\r\n",    /* bare LF */
        "5\r\nhelloX\r\n0\r\n\r\n", /* no CRLF after data */
        "5\r\nhello\r\n0\r\n b: c\r\n\r\n", /* obs-fold in trailers */
        "5\r\nhello\r\n0\r\nb c: d\r\n\r\n",  /* bad trailer name */
        "5\r\nhello\r\n0\r\nb\r\n\r\n",       /* trailer without colon */
        "10000000000000000\r\n",             /* overflow */
        "-5\r\n",
        "5\r\nhello\r\n0\r\n\rX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = decode_steps(bad[i], strlen(bad[i]), 3, out, &outlen, &rest);
        if (r != -EBADMSG) fprintf(stderr, "case %zu: %d\n", i, r);
        assert_int_equal(r, -EBADMSG);
    }
    /* trailers over their limit */
    char tr[1024] = "0\r\n";
    for (int i = 0; i < 40; i++) strcat(tr, "X-Trailer: vvvvvvvvvv\r\n");
    strcat(tr, "\r\n");
    assert_int_equal(decode_steps(tr, strlen(tr), 7, out, &outlen, &rest), -EMSGSIZE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_every_prefix_is_incomplete),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_http10_and_keepalive),
        cmocka_unit_test(test_smuggling_and_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
