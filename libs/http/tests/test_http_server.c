/* The HTTP server against raw sockets (pipelining in one packet, smuggling
 * attempts, each limit and timeout, 100-continue, graceful shutdown) and
 * against curl (keep-alive, chunked both ways, HEAD, files).
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include <fcntl.h>
#include <sys/stat.h>

#include "http_support.h"

static atomic_int g_dropped;  /* handler futures dropped before they finished */
static atomic_int g_finished; /* handler futures that finished */
static atomic_int g_sleeping; /* /sleep handlers that started sleeping */

/* Waits (up to 20 s) until n /sleep handlers are running. */
static void wait_sleeping(int n) {
    for (int i = 0; i < 2000 && atomic_load(&g_sleeping) < n; i++) usleep(10000);
    assert_true(atomic_load(&g_sleeping) >= n);
}

/* A read-only stream over memory (freed with it), for stream bodies. */
typedef struct mem_stream {
    weft_stream stream;
    char *data;
    size_t pos, len;
} mem_stream;
static weft_poll ms_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    mem_stream *m = (mem_stream *)s;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;
    if (n > 3000) n = 3000;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *res = (ssize_t)n;
    return WEFT_READY;
}
static weft_poll ms_write(weft_stream *s, weft_context *cx, const void *b, size_t l, ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll ms_flush(weft_stream *s, weft_context *cx, int *res) {
    *res = 0;
    return WEFT_READY;
}
static const weft_stream_vtable ms_vt = {"mem", 0, ms_read, NULL, ms_write, NULL, ms_flush, ms_flush};
static atomic_int g_body_drops; /* drop callbacks of stream and ref bodies */
static void ms_free(void *p) {
    mem_stream *m = p;
    free(m->data);
    free(m);
    atomic_fetch_add(&g_body_drops, 1);
}
static void ref_drop(void *p) {
    free(p);
    atomic_fetch_add(&g_body_drops, 1);
}
/* n bytes of a pattern, malloc'd */
static char *pattern_bytes(size_t n) {
    char *d = malloc(n);
    for (size_t i = 0; i < n; i++) d[i] = (char)('a' + i % 26);
    return d;
}

typedef struct router {
    WEFT_CORO_FIELDS;
    weft_http_request *req;
    weft_http_response *res;
    union {
        weft_http_read_body rb;
        weft_sleep sl;
        weft_write_all wa;
    } op;
    int i;
    bool finished;
    char buf[128];
} router;

static void router_cleanup(router *self) {
    if (self->finished) atomic_fetch_add(&g_finished, 1);
    else atomic_fetch_add(&g_dropped, 1);
}

WEFT_ASYNC(router, router_cleanup) {
    WEFT_BEGIN();
    if (strcmp(self->req->path, "/echo") == 0) {
        WEFT_AWAIT(weft_http_read_body_init(&self->op.rb, self->req->body, 1 << 20));
        if (self->op.rb.result == 0) {
            snprintf(self->buf, sizeof self->buf, "%zu", self->op.rb.len);
            weft_http_response_add_header(self->res, "X-Len", self->buf);
            weft_http_response_set_body(self->res, self->op.rb.data, self->op.rb.len);
            free(self->op.rb.data);
        } else {
            snprintf(self->buf, sizeof self->buf, "%d", self->op.rb.result);
            weft_http_response_add_header(self->res, "X-Error", self->buf);
        }
    } else if (strcmp(self->req->path, "/stream") == 0) {
        weft_http_response_add_header(self->res, "Content-Type", "text/plain");
        for (self->i = 0; self->i < 3; self->i++) {
            snprintf(self->buf, sizeof self->buf, "chunk-%d\n", self->i);
            WEFT_AWAIT(weft_write_all_init(&self->op.wa, weft_http_response_writer(self->res),
                                           self->buf, strlen(self->buf)));
            if (self->op.wa.result) break;
        }
    } else if (strcmp(self->req->path, "/sleep") == 0) {
        atomic_fetch_add(&g_sleeping, 1);
        WEFT_AWAIT(weft_sleep_init(&self->op.sl, (uint64_t)atoi(self->req->query)));
        weft_http_response_send(self->res, 200, "text/plain", "slept", 5);
    } else if (strcmp(self->req->path, "/fromstream") == 0 || strcmp(self->req->path, "/chunkedstream") == 0) {
        mem_stream *m = malloc(sizeof *m);
        m->stream.vt = &ms_vt;
        m->len = (size_t)atol(self->req->query);
        m->data = pattern_bytes(m->len);
        m->pos = 0;
        bool known = strcmp(self->req->path, "/fromstream") == 0;
        weft_http_response_set_body_stream(self->res, &m->stream, known ? (int64_t)m->len : -1, ms_free, m);
    } else if (strcmp(self->req->path, "/ref") == 0) {
        size_t n = (size_t)atol(self->req->query);
        char *d = pattern_bytes(n);
        weft_http_response_set_body_ref(self->res, d, n, ref_drop, d);
    } else if (strcmp(self->req->path, "/file") == 0) {
        int fd = open(self->req->query, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0) {
            weft_http_response_set_body_file(self->res, fd, 0, (uint64_t)st.st_size);
        } else {
            if (fd >= 0) close(fd);
            weft_http_response_send(self->res, 404, NULL, "", 0);
        }
    } else {
        /* the path itself, so pipelined answers show their order */
        weft_http_response_send(self->res, 200, "text/plain", self->req->path, strlen(self->req->path));
    }
    self->finished = true;
    WEFT_END();
}

static weft_future *router_init(void *mem, weft_http_request *req, weft_http_response *res) {
    router *r = mem;
    router_start(r);
    r->req = req;
    r->res = res;
    r->finished = false;
    return &r->base;
}

static weft_http_server_options router_opts(void) {
    weft_http_server_options o = {0};
    o.handler.init = router_init;
    o.handler.size = sizeof(router);
    return o;
}

static test_server ts;
static char buf[1 << 16];

static void test_pipelined_one_packet(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    int fd = raw_connect(ts.port);
    const char req[] = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                       "GET /sleep?50 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw_send(fd, req, sizeof req - 1);
    bool eof;
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(fd);
    assert_true(eof);
    assert_int_equal(count_of(buf, "HTTP/1.1 200 OK"), 4);
    char *a = strstr(buf, "\r\n\r\n/first"), *b = strstr(buf, "\r\n\r\nhello"),
         *c = strstr(buf, "\r\n\r\nslept"), *d = strstr(buf, "\r\n\r\n/last");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_true(a < b && b < c && c < d); /* in order, the slow one included */
    assert_int_equal(count_of(buf, "Connection: close"), 1);
    weft_http_server_stats st = test_server_stats(&ts);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.requests, 4);
    test_server_stop(&ts);
}

static void test_curl_keepalive_head_chunked(void **state) {
    (void)state;
    REQUIRE_CMD("curl");
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 http://127.0.0.1:%u/a http://127.0.0.1:%u/b http://127.0.0.1:%u/c",
             ts.port, ts.port, ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "/a/b/c");
    assert_int_equal(test_server_stats(&ts).accepted, 1); /* one connection, kept alive */
    /* HEAD: the head of a GET, no body */
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 -I http://127.0.0.1:%u/abc", ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "Content-Length: 4"));
    assert_non_null(strstr(out, "Date: "));
    /* a chunked response, decoded by curl; --raw shows the framing */
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 http://127.0.0.1:%u/stream", ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "chunk-0\nchunk-1\nchunk-2\n");
    snprintf(cmd, sizeof cmd, "curl -s --raw --max-time 10 -i http://127.0.0.1:%u/stream", ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(out, "8\r\nchunk-0\n\r\n"));
    assert_non_null(strstr(out, "\r\n0\r\n\r\n"));
    /* a chunked request body (curl streams stdin chunked), 200 KB */
    snprintf(cmd, sizeof cmd,
             "head -c 200000 /dev/zero | tr '\\0' x | curl -s --max-time 10 -H 'Transfer-Encoding: chunked' "
             "--data-binary @- -D - -o /dev/null http://127.0.0.1:%u/echo",
             ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "X-Len: 200000"));
    /* a Content-Length body with Expect: 100-continue (curl asks for large bodies) */
    snprintf(cmd, sizeof cmd,
             "head -c 300000 /dev/zero | curl -s --max-time 10 -H 'Expect: 100-continue' "
             "--data-binary @- -D - -o /dev/null http://127.0.0.1:%u/echo",
             ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "HTTP/1.1 100 Continue"));
    assert_non_null(strstr(out, "X-Len: 300000"));
    test_server_stop(&ts);
}

static void test_stream_and_ref_bodies(void **state) {
    (void)state;
    REQUIRE_CMD("curl");
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    atomic_store(&g_body_drops, 0);
    static const char *paths[] = {"fromstream", "chunkedstream", "ref"};
    static const size_t sizes[] = {0, 1, 2999, 100000, 1000000};
    char cmd[512], out[256];
    int n = 0;
    for (size_t p = 0; p < 3; p++) {
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            snprintf(cmd, sizeof cmd,
                     "curl -s --max-time 20 -D /tmp/weft-http-hdr-$$ 'http://127.0.0.1:%u/%s?%zu' | "
                     "cmp - <(head -c %zu <(yes abcdefghijklmnopqrstuvwxyz | tr -d '\n')) && "
                     "grep -ci '%s' /tmp/weft-http-hdr-$$; rm -f /tmp/weft-http-hdr-$$",
                     ts.port, paths[p], sizes[i], sizes[i],
                     p == 1 ? "transfer-encoding: chunked" : "content-length");
            char full[700];
            snprintf(full, sizeof full, "bash -c \"%s\"", cmd);
            assert_int_equal(run_cmd(full, out, sizeof out), 0);
            assert_string_equal(out, "1\n"); /* same bytes, framed as announced */
            n++;
        }
        /* HEAD: the head only; the source is released all the same */
        snprintf(cmd, sizeof cmd, "curl -s --max-time 10 -I 'http://127.0.0.1:%u/%s?5000'", ts.port, paths[p]);
        assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
        assert_non_null(strstr(out, "HTTP/1.1 200"));
        n++;
    }
    test_server_stop(&ts);
    assert_int_equal(atomic_load(&g_body_drops), n); /* every body's drop ran once */
}

static void test_file_body(void **state) {
    (void)state;
    REQUIRE_CMD("curl");
    char path[] = "/tmp/weft-http-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (int i = 0; i < 1000; i++) {
        char line[128];
        int n = snprintf(line, sizeof line, "line %d of a file sent with sendfile\n", i);
        assert_int_equal(write(fd, line, (size_t)n), n);
    }
    close(fd);
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    char cmd[512], out[1 << 16];
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 'http://127.0.0.1:%u/file?%s' | cmp - %s && echo same",
             ts.port, path, path);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "same\n");
    test_server_stop(&ts);
    unlink(path);
}

static void expect_status(uint16_t port, const char *req, size_t len, const char *status) {
    int fd = raw_connect(port);
    raw_send(fd, req, len);
    bool eof;
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(fd);
    if (strncmp(buf, status, strlen(status)) != 0) fail_msg("wanted %s, got: %.80s", status, buf);
    assert_true(eof); /* the connection is closed after an error */
}
#define EXPECT(lit, status) expect_status(ts.port, lit, sizeof(lit) - 1, status)

static void test_smuggling_rejected(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    /* CL.TE and TE.CL: rejected, and nothing after them is taken as a request */
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
           "HTTP/1.1 400");
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
           "0\r\n\r\n",
           "HTTP/1.1 400");
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello",
           "HTTP/1.1 400");
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", "HTTP/1.1 501");
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
           "HTTP/1.1 400"); /* a bare LF in the chunk framing: the body read fails */
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", "HTTP/1.1 400");
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "HTTP/1.1 400");
    EXPECT("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400");
    EXPECT("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505");
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", "HTTP/1.1 417");
    assert_int_equal(test_server_stats(&ts).requests, 0); /* no handler saw any of them... */
    test_server_stop(&ts);
}

static void test_limits(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    o.max_head_bytes = 4096;
    o.max_headers = 16;
    o.max_body_bytes = 1000;
    test_server_start(&ts, &o);
    char req[16384];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(req + n, 'b', 5000);
    n += 5000;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n\r\n");
    expect_status(ts.port, req, (size_t)n, "HTTP/1.1 431");
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 20; i++) n += snprintf(req + n, sizeof req - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    expect_status(ts.port, req, (size_t)n, "HTTP/1.1 431");
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", "HTTP/1.1 413");
    /* a chunked body that grows past the limit */
    n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "200\r\n");
        memset(req + n, 'c', 512);
        n += 512;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    n += snprintf(req + n, sizeof req - (size_t)n, "0\r\n\r\n");
    expect_status(ts.port, req, (size_t)n, "HTTP/1.1 413");
    /* under the limits, all is well */
    EXPECT("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
           "HTTP/1.1 200");
    test_server_stop(&ts);
}

static void test_timeouts(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    o.header_timeout_ms = 300;
    o.body_timeout_ms = 300;
    o.idle_timeout_ms = 300;
    test_server_start(&ts, &o);
    bool eof;
    /* half a head, then nothing: 408 and closed */
    int fd = raw_connect(ts.port);
    raw_sends(fd, "GET / HTTP/1.1\r\nHost: a\r\nX-Half");
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(fd);
    assert_true(eof);
    assert_int_equal(strncmp(buf, "HTTP/1.1 408", 12), 0);
    /* a body that stalls: the handler's read fails, 408 */
    fd = raw_connect(ts.port);
    raw_sends(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(fd);
    assert_true(eof);
    assert_int_equal(strncmp(buf, "HTTP/1.1 408", 12), 0);
    /* an idle keep-alive connection: closed quietly */
    fd = raw_connect(ts.port);
    raw_sends(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(fd);
    assert_true(eof);
    assert_int_equal(count_of(buf, "HTTP/1.1 200"), 1);
    assert_int_equal(count_of(buf, "HTTP/1.1 408"), 0);
    /* a connection that never sends anything: closed too */
    fd = raw_connect(ts.port);
    assert_int_equal(raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof), 0);
    assert_true(eof);
    close(fd);
    assert_true(test_server_stats(&ts).timeouts >= 4);
    test_server_stop(&ts);
}

static void test_expect_continue_raw(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    int fd = raw_connect(ts.port);
    const char head[] = "PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    raw_send(fd, head, sizeof head - 1);
    bool eof;
    raw_recv(fd, buf, sizeof buf, 25, 5000, &eof);
    assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
    raw_sends(fd, "body");
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 500, &eof);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(buf, "\r\n\r\nbody"));
    close(fd);
    /* not reading the body: no 100 Continue, and the connection closes after the answer */
    fd = raw_connect(ts.port);
    const char head2[] = "PUT /nobody HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    raw_send(fd, head2, sizeof head2 - 1);
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    assert_true(eof);
    assert_null(strstr(buf, "100 Continue"));
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    close(fd);
    test_server_stop(&ts);
}

static void test_graceful_shutdown(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    /* one idle keep-alive connection, one request in flight */
    int idle = raw_connect(ts.port);
    raw_sends(idle, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    bool eof;
    raw_recv(idle, buf, sizeof buf, 10, 5000, &eof);
    int busy = raw_connect(ts.port);
    raw_sends(busy, "GET /sleep?400 HTTP/1.1\r\nHost: a\r\n\r\n");
    wait_sleeping(1); /* the handler is running */
    atomic_store(&g_dropped, 0);
    ts.root.graceful = true;
    ts.root.grace_ms = 5000;
    gate_open(&ts.stop);
    /* the idle connection is closed at once; the busy one gets its answer */
    raw_recv(idle, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    assert_true(eof);
    close(idle);
    raw_recv(busy, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    assert_true(eof);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(buf, "Connection: close"));
    assert_non_null(strstr(buf, "slept"));
    close(busy);
    pthread_join(ts.thread, NULL);
    assert_int_equal(ts.root.shutdown_result, 0);
    assert_int_equal(atomic_load(&g_dropped), 0);
    /* no longer accepting */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ts.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    test_server_stop(&ts);
}

static void test_shutdown_grace_expires(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    int busy = raw_connect(ts.port);
    raw_sends(busy, "GET /sleep?30000 HTTP/1.1\r\nHost: a\r\n\r\n");
    wait_sleeping(1);
    atomic_store(&g_dropped, 0);
    assert_int_equal(test_server_shutdown(&ts, 200), 1); /* it had to cancel */
    bool eof;
    raw_recv(busy, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    assert_true(eof);
    assert_int_equal(buf[0], 0); /* no answer: the handler was cancelled */
    assert_int_equal(atomic_load(&g_dropped), 1);
    close(busy);
    test_server_stop(&ts);
}

static void test_client_gone_drops_handler(void **state) {
    (void)state;
    weft_http_server_options o = router_opts();
    o.write_timeout_ms = 500;
    test_server_start(&ts, &o);
    atomic_store(&g_dropped, 0);
    atomic_store(&g_finished, 0);
    /* The client leaves while its handler sleeps: the handler finishes (the
     * connection learns of the close only when it writes), and the
     * connection ends without leaking anything. */
    int fd = raw_connect(ts.port);
    raw_sends(fd, "GET /sleep?100 HTTP/1.1\r\nHost: a\r\n\r\n");
    close(fd);
    for (int i = 0; i < 500 && test_server_stats(&ts).active > 0; i++) usleep(10 * 1000);
    assert_int_equal(test_server_stats(&ts).active, 0);
    test_server_stop(&ts);
}

static weft_future *null_init(void *mem, weft_http_request *req, weft_http_response *res) {
    return NULL; /* could not make its future */
}

static void test_handler_init_fails(void **state) {
    (void)state;
    weft_http_server_options o = {.handler = {.init = null_init, .size = 16}};
    test_server_start(&ts, &o);
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 500");
    test_server_stop(&ts);
}

static void test_wrk_pipelined(void **state) {
    (void)state;
    REQUIRE_CMD("wrk");
    weft_http_server_options o = router_opts();
    test_server_start(&ts, &o);
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "wrk -t1 -c8 -d1s -s %s/../../../bench/http/pipeline.lua http://127.0.0.1:%u/plaintext -- 16 2>&1",
             WEFT_HTTP_TEST_DIR, ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    if (strstr(out, "Non-2xx") || strstr(out, "Socket errors")) fail_msg("wrk: %s", out);
    assert_non_null(strstr(out, "requests in"));
    assert_true(test_server_stats(&ts).requests > 1000);
    test_server_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_one_packet),
        cmocka_unit_test(test_curl_keepalive_head_chunked),
        cmocka_unit_test(test_file_body),
        cmocka_unit_test(test_stream_and_ref_bodies),
        cmocka_unit_test(test_smuggling_rejected),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_expect_continue_raw),
        cmocka_unit_test(test_graceful_shutdown),
        cmocka_unit_test(test_shutdown_grace_expires),
        cmocka_unit_test(test_client_gone_drops_handler),
        cmocka_unit_test(test_handler_init_fails),
        cmocka_unit_test(test_wrk_pipelined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
