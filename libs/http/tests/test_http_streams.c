/* The stream factory (how HTTPS plugs in) on both sides: a server whose
 * connections run over a wrapping stream and a client whose https:// URLs
 * do, with pipelining, bodies both ways and a file body (which then goes
 * through the stream, not sendfile); and the examples users copy, run as
 * programs and stopped with SIGTERM.
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "http_support.h"

/* A stream over a TCP stream that counts the bytes through it (a stand-in
 * for a TLS stream: the server and client see only weft_stream). */
typedef struct wrap {
    weft_stream stream;
    weft_tcp_stream tcp;
    _Atomic uint64_t *count;
} wrap;

static weft_poll w_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    wrap *w = (wrap *)s;
    weft_poll p = weft_stream_poll_read(&w->tcp.stream, cx, buf, len, res);
    if (p == WEFT_READY && *res > 0) atomic_fetch_add(w->count, (uint64_t)*res);
    return p;
}
static weft_poll w_write(weft_stream *s, weft_context *cx, const void *buf, size_t len, ssize_t *res) {
    wrap *w = (wrap *)s;
    weft_poll p = weft_stream_poll_write(&w->tcp.stream, cx, buf, len, res);
    if (p == WEFT_READY && *res > 0) atomic_fetch_add(w->count, (uint64_t)*res);
    return p;
}
static weft_poll w_flush(weft_stream *s, weft_context *cx, int *res) {
    wrap *w = (wrap *)s;
    return w->tcp.stream.vt->poll_flush(&w->tcp.stream, cx, res);
}
static weft_poll w_shutdown(weft_stream *s, weft_context *cx, int *res) {
    wrap *w = (wrap *)s;
    return w->tcp.stream.vt->poll_shutdown(&w->tcp.stream, cx, res);
}
static const weft_stream_vtable wrap_vt = {"test_wrap", 0, w_read, NULL, w_write, NULL, w_flush, w_shutdown};

static _Atomic uint64_t server_bytes, client_bytes;
static atomic_int opened, closed;

static int srv_open(void *arg, weft_tcp_stream *tcp, weft_stream **out) {
    wrap *w = malloc(sizeof *w);
    if (!w) {
        weft_tcp_stream_close(tcp);
        return -ENOMEM;
    }
    w->stream.vt = &wrap_vt;
    w->tcp = *tcp;
    w->count = arg;
    atomic_fetch_add(&opened, 1);
    *out = &w->stream;
    return 0;
}
static void srv_close(void *arg, weft_stream *s) {
    wrap *w = (wrap *)s;
    weft_tcp_stream_close(&w->tcp);
    free(w);
    atomic_fetch_add(&closed, 1);
}
static int cli_open(void *arg, const char *host, weft_tcp_stream *tcp, weft_stream **out) {
    assert_string_equal(host, "127.0.0.1");
    return srv_open(arg, tcp, out);
}

static void file_or_echo(weft_http_request *req, weft_http_response *res) {
    if (strcmp(req->path, "/file") == 0) {
        int fd = open(req->query, O_RDONLY | O_CLOEXEC);
        struct stat st;
        fstat(fd, &st);
        weft_http_response_set_body_file(res, fd, 0, (uint64_t)st.st_size);
    } else {
        weft_http_response_send(res, 200, "text/plain", req->path, strlen(req->path));
    }
}

static test_server ts;
static char buf[1 << 17];

static void test_server_stream_factory(void **state) {
    (void)state;
    REQUIRE_CMD("curl");
    weft_http_stream_factory f = {srv_open, srv_close, (void *)&server_bytes};
    weft_http_server_options o = {.handler = {.fn = file_or_echo}, .streams = &f};
    test_server_start(&ts, &o);
    char path[] = "/tmp/weft-http-wrap-XXXXXX";
    int fd = mkstemp(path);
    for (int i = 0; i < 20000; i++) assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 'http://127.0.0.1:%u/file?%s' | cmp - %s && echo same",
             ts.port, path, path);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "same\n");
    assert_true(atomic_load(&server_bytes) > 200000); /* the file went through the stream */
    int c = raw_connect(ts.port);
    raw_sends(c, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    bool eof;
    raw_recv(c, buf, sizeof buf, SIZE_MAX, 5000, &eof);
    close(c);
    assert_true(eof);
    assert_true(strstr(buf, "\r\n\r\n/p1") < strstr(buf, "\r\n\r\n/p2"));
    test_server_stop(&ts);
    assert_int_equal(atomic_load(&opened), atomic_load(&closed)); /* every wrapped stream released */
    unlink(path);
}

static void *https_fiber(void *arg) {
    weft_http_client *client = arg;
    char url[128], path[64];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/over-the-connector-%d", i);
        snprintf(url, sizeof url, "https://127.0.0.1:%u%s", ts.port, path);
        weft_http_client_request rq = {.url = url};
        weft_http_client_response r;
        assert_int_equal(weft_http_fiber_fetch(client, &rq, &r), 0);
        char *body;
        assert_true(weft_http_fiber_read_body(r.body, &body, 1000) > 0);
        assert_string_equal(body, path);
        free(body);
        weft_http_client_response_destroy(&r);
    }
    return NULL;
}

static void test_client_connector(void **state) {
    (void)state;
    weft_http_stream_factory f = {srv_open, srv_close, (void *)&server_bytes};
    weft_http_server_options o = {.handler = {.fn = file_or_echo}, .streams = &f};
    test_server_start(&ts, &o);
    weft_http_client_connector conn = {cli_open, srv_close, (void *)&client_bytes};
    weft_http_client_options co = {.https = &conn};
    weft_http_client *client;
    assert_int_equal(weft_http_client_create(&client, &co), 0);
    weft_runtime *rt;
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    weft_fiber fb;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&fb, https_fiber, client, NULL)), 0);
    weft_runtime_destroy(rt);
    assert_true(atomic_load(&client_bytes) > 0);
    assert_int_equal(test_server_stats(&ts).accepted, 1); /* pooled under https://127.0.0.1:port */
    weft_http_client_destroy(client);
    test_server_stop(&ts);
    assert_int_equal(atomic_load(&opened), atomic_load(&closed));
}

/* ---- streams that hold what is written until flushed ---------------------------------- */

/* A stream whose writes gather in a buffer that only a flush (or a full
 * buffer) sends on, as a TLS stream may keep records when the socket is
 * full: the server and the client must flush after their last write
 * before they wait for anything else, or the other side never gets it. */
typedef struct held {
    weft_stream stream;
    weft_tcp_stream tcp;
    weft_bufwriter bw;
} held;

static weft_poll h_read(weft_stream *s, weft_context *cx, void *b, size_t len, ssize_t *res) {
    return weft_stream_poll_read(&((held *)s)->tcp.stream, cx, b, len, res);
}
static weft_poll h_write(weft_stream *s, weft_context *cx, const void *b, size_t len, ssize_t *res) {
    return weft_stream_poll_write(&((held *)s)->bw.stream, cx, b, len, res);
}
static weft_poll h_flush(weft_stream *s, weft_context *cx, int *res) {
    held *h = (held *)s;
    return h->bw.stream.vt->poll_flush(&h->bw.stream, cx, res);
}
static weft_poll h_shutdown(weft_stream *s, weft_context *cx, int *res) {
    held *h = (held *)s;
    return h->bw.stream.vt->poll_shutdown(&h->bw.stream, cx, res);
}
static const weft_stream_vtable held_vt = {"test_held", 0, h_read, NULL, h_write, NULL, h_flush, h_shutdown};

static int held_open(void *arg, weft_tcp_stream *tcp, weft_stream **out) {
    (void)arg;
    held *h = malloc(sizeof *h);
    if (!h) {
        weft_tcp_stream_close(tcp);
        return -ENOMEM;
    }
    h->stream.vt = &held_vt;
    h->tcp = *tcp;
    if (weft_bufwriter_init(&h->bw, &h->tcp.stream, NULL, 64 * 1024) < 0) {
        weft_tcp_stream_close(&h->tcp);
        free(h);
        return -ENOMEM;
    }
    atomic_fetch_add(&opened, 1);
    *out = &h->stream;
    return 0;
}
static void held_close(void *arg, weft_stream *s) {
    (void)arg;
    held *h = (held *)s;
    weft_bufwriter_destroy(&h->bw);
    weft_tcp_stream_close(&h->tcp);
    free(h);
    atomic_fetch_add(&closed, 1);
}
static int held_cli_open(void *arg, const char *host, weft_tcp_stream *tcp, weft_stream **out) {
    (void)host;
    return held_open(arg, tcp, out);
}

/* A server over held streams answers keep-alive requests one at a time
 * (each answer is flushed, not left for the next write), and a client over
 * held streams gets its answers (each request is flushed). */
static void test_streams_that_hold_writes_until_flushed(void **state) {
    (void)state;
    REQUIRE_CMD("curl");
    weft_http_stream_factory f = {held_open, held_close, NULL};
    weft_http_server_options o = {.handler = {.fn = file_or_echo}, .streams = &f};
    test_server_start(&ts, &o);
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 http://127.0.0.1:%u/one http://127.0.0.1:%u/two",
             ts.port, ts.port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "/one/two");

    weft_http_client_connector conn = {held_cli_open, held_close, NULL};
    weft_http_client_options co = {.https = &conn, .timeout_ms = 10000};
    weft_http_client *client;
    assert_int_equal(weft_http_client_create(&client, &co), 0);
    weft_runtime *rt;
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    weft_fiber fb;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&fb, https_fiber, client, NULL)), 0);
    weft_runtime_destroy(rt);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
    assert_int_equal(atomic_load(&opened), atomic_load(&closed));
}

/* ---- the examples, as programs ------------------------------------------------------- */

static pid_t start_example(const char *name, const char *extra, uint16_t *port) {
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", WEFT_BUILD_DIR, name);
    if (access(path, X_OK) != 0) fail_msg("%s is not built", path);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        if (extra) execl(path, name, "--port", "0", "--root", extra, (char *)NULL);
        else execl(path, name, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[256] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(p[0], line + n, 1) == 1 && line[n] != '\n') n++;
    close(p[0]);
    unsigned u = 0;
    if (sscanf(line, "listening on %u", &u) != 1) fail_msg("%s said: %s", name, line);
    *port = (uint16_t)u;
    return pid;
}

static void stop_example(pid_t pid) {
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_examples(void **state) {
    (void)state;
#ifndef WEFT_HTTP_EXAMPLES
    skip(); /* this build has no examples (WEFT_BUILD_EXAMPLES=OFF) */
#endif
    REQUIRE_CMD("curl");
    uint16_t port;
    char cmd[512], out[4096];
    pid_t pid = start_example("http_hello", NULL, &port);
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%u/json http://127.0.0.1:%u/plaintext", port, port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "{\"message\":\"Hello, World!\"}Hello, World!");
    stop_example(pid);
    pid = start_example("http_static", WEFT_HTTP_TEST_DIR, &port);
    snprintf(cmd, sizeof cmd, "curl -s -r 3-8 http://127.0.0.1:%u/test_http_streams.c", port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "The st"); /* bytes 3-8 of this file */
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' --path-as-is http://127.0.0.1:%u/../CMakeLists.txt", port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "404");
    stop_example(pid);
    pid = start_example("http_fiber", NULL, &port);
    snprintf(cmd, sizeof cmd, "curl -s -d 'fibers' http://127.0.0.1:%u/upper http://127.0.0.1:%u/count", port, port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_string_equal(out, "FIBERS1\n2\n3\n4\n5\n");
    snprintf(cmd, sizeof cmd, "%s/examples/http_get http://127.0.0.1:%u/upper", WEFT_BUILD_DIR, port);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    stop_example(pid);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_stream_factory),
        cmocka_unit_test(test_client_connector),
        cmocka_unit_test(test_streams_that_hold_writes_until_flushed),
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
