/* The HTTP client against weft's server (keep-alive pool, bodies from
 * memory and streams, chunked both ways, timeouts, redirects, a pooled
 * connection the server closed) and against nginx; a fiber handler; and
 * every future dropped mid-flight.
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include <fcntl.h>
#include <sys/stat.h>

#include "http_support.h"

/* ---- the server side ---------------------------------------------------------- */

typedef struct handler {
    WEFT_CORO_FIELDS;
    weft_http_request *req;
    weft_http_response *res;
    union {
        weft_http_read_body rb;
        weft_sleep sl;
        weft_write_all wa;
    } op;
    int i, n;
    char buf[256];
} handler;

WEFT_ASYNC(handler, NULL) {
    WEFT_BEGIN();
    const char *p = self->req->path;
    if (strcmp(p, "/echo") == 0) {
        WEFT_AWAIT(weft_http_read_body_init(&self->op.rb, self->req->body, 1 << 22));
        if (self->op.rb.result == 0) {
            weft_http_response_set_body(self->res, self->op.rb.data, self->op.rb.len);
            free(self->op.rb.data);
        }
    } else if (strcmp(p, "/stream") == 0 || strcmp(p, "/slowstream") == 0) {
        self->n = strcmp(p, "/stream") == 0 ? 3 : 50;
        for (self->i = 0; self->i < self->n; self->i++) {
            if (self->n == 50) WEFT_AWAIT(weft_sleep_init(&self->op.sl, 2));
            snprintf(self->buf, sizeof self->buf, "chunk-%d\n", self->i);
            WEFT_AWAIT(weft_write_all_init(&self->op.wa, weft_http_response_writer(self->res),
                                           self->buf, strlen(self->buf)));
            if (self->op.wa.result) break;
        }
    } else if (strcmp(p, "/sleep") == 0) {
        WEFT_AWAIT(weft_sleep_init(&self->op.sl, (uint64_t)atoi(self->req->query)));
        weft_http_response_send(self->res, 200, "text/plain", "slept", 5);
    } else if (strcmp(p, "/redir") == 0) {
        int n = atoi(self->req->query);
        if (n > 0) {
            snprintf(self->buf, sizeof self->buf, "/redir?%d", n - 1);
            weft_http_response_add_header(self->res, "Location", self->buf);
            weft_http_response_send(self->res, 302, "text/plain", "moved", 5);
        } else {
            weft_http_response_send(self->res, 200, "text/plain", "arrived", 7);
        }
    } else if (strcmp(p, "/hdr") == 0) {
        const char *v = weft_http_request_header(self->req, "x-test");
        weft_http_response_send(self->res, 200, "text/plain", v ? v : "-", v ? strlen(v) : 1);
    } else {
        weft_http_response_send(self->res, 200, "text/plain", p, strlen(p));
    }
    WEFT_END();
}

static weft_future *handler_init(void *mem, weft_http_request *req, weft_http_response *res) {
    handler *h = mem;
    handler_start(h);
    h->req = req;
    h->res = res;
    return &h->base;
}

static weft_http_server_options handler_opts(void) {
    weft_http_server_options o = {0};
    o.handler.init = handler_init;
    o.handler.size = sizeof(handler);
    return o;
}

/* ---- running client code in a fiber -------------------------------------------------- */

static test_server ts;
static weft_http_client *client;
static char url[256];

static const char *U(const char *path) {
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", ts.port, path);
    return url;
}

/* Runs fn on a fiber, as the root future of a client runtime. */
static void run_fiber(weft_fiber_fn fn) {
    weft_runtime *rt;
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    weft_fiber f;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&f, fn, NULL, NULL)), 0);
    assert_int_equal(f.output.error, 0);
    weft_runtime_destroy(rt);
}

/* GET (or another method) and the whole body, from a fiber. */
static int fetch_all(const char *method, const char *u, const void *body, size_t len, char **out,
                     int *status) {
    weft_http_client_request rq = {.method = method, .url = u, .body = body, .body_len = len};
    weft_http_client_response r;
    int rc = weft_http_fiber_fetch(client, &rq, &r);
    if (rc) return rc;
    *status = r.status;
    ssize_t n = weft_http_fiber_read_body(r.body, out, 1 << 22);
    weft_http_client_response_destroy(&r);
    return n < 0 ? (int)n : 0;
}

static void *basic_fiber(void *arg) {
    char *body = NULL;
    int status = 0;
    assert_int_equal(fetch_all(NULL, U("/a"), NULL, 0, &body, &status), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "/a");
    free(body);
    assert_int_equal(fetch_all("POST", U("/echo"), "xyz", 3, &body, &status), 0);
    assert_string_equal(body, "xyz");
    free(body);
    assert_int_equal(fetch_all("GET", U("/stream"), NULL, 0, &body, &status), 0);
    assert_string_equal(body, "chunk-0\nchunk-1\nchunk-2\n");
    free(body);
    assert_int_equal(fetch_all("HEAD", U("/abcd"), NULL, 0, &body, &status), 0);
    assert_null(body); /* no body, whatever Content-Length says */
    /* a header field we send arrives */
    weft_http_header h = {"X-Test", "value 1", 6, 7};
    weft_http_client_request rq = {.url = U("/hdr"), .headers = &h, .num_headers = 1};
    weft_http_client_response r;
    assert_int_equal(weft_http_fiber_fetch(client, &rq, &r), 0);
    assert_int_equal(weft_http_fiber_read_body(r.body, &body, 100), 7);
    assert_string_equal(body, "value 1");
    free(body);
    const weft_http_header *ct = weft_http_head_find(&r.head, "content-type");
    assert_non_null(ct);
    weft_http_client_response_destroy(&r);
    /* a 4 MB body each way */
    size_t big = 4u << 20;
    char *data = malloc(big);
    for (size_t i = 0; i < big; i++) data[i] = (char)('a' + i % 26);
    assert_int_equal(fetch_all("PUT", U("/echo"), data, big, &body, &status), 0);
    assert_memory_equal(body, data, big);
    free(body);
    free(data);
    return NULL;
}

static void test_client_basic(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    test_server_start(&ts, &o);
    assert_int_equal(weft_http_client_create(&client, NULL), 0);
    run_fiber(basic_fiber);
    assert_int_equal(test_server_stats(&ts).accepted, 1); /* every request on one pooled connection */
    assert_int_equal(weft_http_client_idle(client), 1);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
}

/* A read-only stream over memory, handing out at most 1000 bytes a read. */
typedef struct mem_stream {
    weft_stream stream;
    const char *p;
    size_t left;
} mem_stream;

static weft_poll mem_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    mem_stream *m = (mem_stream *)s;
    size_t n = len < m->left ? len : m->left;
    if (n > 1000) n = 1000;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    *res = (ssize_t)n;
    return WEFT_READY;
}
static weft_poll mem_write(weft_stream *s, weft_context *cx, const void *buf, size_t len, ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll mem_flush(weft_stream *s, weft_context *cx, int *res) {
    *res = 0;
    return WEFT_READY;
}
static const weft_stream_vtable mem_vt = {"mem", 0, mem_read, NULL, mem_write, NULL, mem_flush, mem_flush};

static void *stream_body_fiber(void *arg) {
    static char data[30000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)('A' + i % 20);
    for (int chunked = 0; chunked < 2; chunked++) {
        mem_stream m = {{&mem_vt}, data, sizeof data};
        weft_http_client_request rq = {.method = "POST", .url = U("/echo"), .body_stream = &m.stream,
                                       .body_stream_len = chunked ? -1 : (int64_t)sizeof data};
        weft_http_client_response r;
        int rc = weft_http_fiber_fetch(client, &rq, &r);
        if (rc) {
            weft_http_server_stats st = test_server_stats(&ts);
            fail_msg("chunked=%d: %s (server: %llu requests, %llu rejected)", chunked, weft_strerror(rc),
                     (unsigned long long)st.requests, (unsigned long long)st.rejected);
        }
        char *body;
        assert_int_equal(weft_http_fiber_read_body(r.body, &body, 1 << 20), (ssize_t)sizeof data);
        assert_memory_equal(body, data, sizeof data);
        free(body);
        weft_http_client_response_destroy(&r);
    }
    return NULL;
}

static void test_client_stream_body(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    test_server_start(&ts, &o);
    assert_int_equal(weft_http_client_create(&client, NULL), 0);
    run_fiber(stream_body_fiber);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
}

static void *timeouts_fiber(void *arg) {
    weft_http_client_request rq = {.url = U("/sleep?3000")};
    weft_http_client_response r;
    assert_int_equal(weft_http_fiber_fetch(client, &rq, &r), -ETIMEDOUT);
    /* a port nobody listens on */
    weft_tcp_listener l = {0};
    assert_int_equal(weft_tcp_listener_bind(&l, NULL, "127.0.0.1:0", 1), 0);
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u/", weft_tcp_listener_port(&l));
    weft_tcp_listener_close(&l);
    weft_http_client_request rq2 = {.url = dead};
    assert_int_equal(weft_http_fiber_fetch(client, &rq2, &r), -ECONNREFUSED);
    weft_http_client_request bad = {.url = "ftp://x/"};
    assert_int_equal(weft_http_fiber_fetch(client, &bad, &r), -EINVAL);
    weft_http_client_request tls = {.url = "https://127.0.0.1:1/"};
    assert_int_equal(weft_http_fiber_fetch(client, &tls, &r), -EPROTONOSUPPORT);
    /* a slow body: the read times out */
    weft_http_client_request slow = {.url = U("/slowstream")};
    assert_int_equal(weft_http_fiber_fetch(client, &slow, &r), 0);
    char *body;
    ssize_t n = weft_http_fiber_read_body(r.body, &body, 1 << 20);
    assert_int_equal(n, 440); /* chunk-0..49, 2 ms apart: well within the limit */
    free(body);
    weft_http_client_response_destroy(&r);
    return NULL;
}

static void test_client_timeouts(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    test_server_start(&ts, &o);
    weft_http_client_options co = {.timeout_ms = 200};
    assert_int_equal(weft_http_client_create(&client, &co), 0);
    run_fiber(timeouts_fiber);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
}

static int redirect_limit;
static void *redirect_fiber(void *arg) {
    weft_http_client_request rq = {.url = U("/redir?3")};
    weft_http_client_response r;
    int rc = weft_http_fiber_fetch(client, &rq, &r);
    if (redirect_limit == 0) {
        assert_int_equal(rc, 0);
        assert_int_equal(r.status, 302); /* off by default: the 302 itself */
        const weft_http_header *loc = weft_http_head_find(&r.head, "location");
        assert_non_null(loc);
        weft_http_client_response_destroy(&r);
    } else if (redirect_limit >= 3) {
        assert_int_equal(rc, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.redirects, 3);
        char *body;
        assert_int_equal(weft_http_fiber_read_body(r.body, &body, 100), 7);
        assert_string_equal(body, "arrived");
        free(body);
        weft_http_client_response_destroy(&r);
    } else {
        assert_int_equal(rc, -ELOOP);
    }
    return NULL;
}

static void test_client_redirects(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    test_server_start(&ts, &o);
    int limits[] = {0, 5, 1};
    for (int i = 0; i < 3; i++) {
        redirect_limit = limits[i];
        weft_http_client_options co = {.max_redirects = limits[i]};
        assert_int_equal(weft_http_client_create(&client, &co), 0);
        run_fiber(redirect_fiber);
        weft_http_client_destroy(client);
    }
    test_server_stop(&ts);
}

static void *stale_fiber(void *arg) {
    char *body;
    int status;
    assert_int_equal(fetch_all(NULL, U("/one"), NULL, 0, &body, &status), 0);
    free(body);
    assert_int_equal(weft_http_client_idle(client), 1);
    weft_fiber_sleep(1500); /* the server (200 ms idle timeout) closes the connection meanwhile */
    assert_int_equal(fetch_all(NULL, U("/two"), NULL, 0, &body, &status), 0);
    assert_string_equal(body, "/two");
    free(body);
    /* A POST is never sent twice; a pooled connection the server closed is
     * noticed before it is used, so it goes out on a fresh one. */
    weft_fiber_sleep(1500);
    assert_int_equal(fetch_all("POST", U("/echo"), "once", 4, &body, &status), 0);
    assert_string_equal(body, "once");
    free(body);
    return NULL;
}

static void test_client_stale_pooled_connection(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    o.idle_timeout_ms = 200;
    test_server_start(&ts, &o);
    assert_int_equal(weft_http_client_create(&client, NULL), 0);
    run_fiber(stale_fiber);
    assert_int_equal(test_server_stats(&ts).accepted, 3);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
}

/* ---- a fiber handler ---------------------------------------------------------------- */

static void fiber_handler(weft_http_request *req, weft_http_response *res) {
    char *body = NULL;
    ssize_t n = weft_http_fiber_read_body(req->body, &body, 1 << 20);
    weft_fiber_sleep(5);
    char head[64];
    int hl = snprintf(head, sizeof head, "fiber read %zd bytes: ", n);
    weft_stream *w = weft_http_response_writer(res);
    weft_fiber_write_all(w, head, (size_t)hl, NULL);
    if (n > 0) weft_fiber_write_all(w, body, (size_t)n, NULL);
    free(body);
}

static void *fiber_handler_client(void *arg) {
    char *body;
    int status;
    assert_int_equal(fetch_all("POST", U("/x"), "hello fiber", 11, &body, &status), 0);
    assert_string_equal(body, "fiber read 11 bytes: hello fiber");
    free(body);
    return NULL;
}

static void test_fiber_handler(void **state) {
    (void)state;
    weft_http_server_options o = {.handler = {.fiber = fiber_handler}};
    test_server_start(&ts, &o);
    assert_int_equal(weft_http_client_create(&client, NULL), 0);
    run_fiber(fiber_handler_client);
    weft_http_client_destroy(client);
    test_server_stop(&ts);
}

/* ---- nginx ---------------------------------------------------------------------------- */

static void *nginx_fiber(void *arg) {
    const char *base = arg;
    char u[256], *body;
    int status;
    for (int i = 0; i < 3; i++) {
        snprintf(u, sizeof u, "%s/hello", base);
        assert_int_equal(fetch_all(NULL, u, NULL, 0, &body, &status), 0);
        assert_int_equal(status, 200);
        assert_string_equal(body, "hello from nginx\n");
        free(body);
    }
    snprintf(u, sizeof u, "%s/file.txt", base);
    assert_int_equal(fetch_all(NULL, u, NULL, 0, &body, &status), 0);
    assert_int_equal(status, 200);
    assert_int_equal(strlen(body), 100000);
    free(body);
    snprintf(u, sizeof u, "%s/missing", base);
    assert_int_equal(fetch_all(NULL, u, NULL, 0, &body, &status), 0);
    assert_int_equal(status, 404);
    free(body);
    snprintf(u, sizeof u, "%s/hello", base);
    assert_int_equal(fetch_all("HEAD", u, NULL, 0, &body, &status), 0);
    assert_int_equal(status, 200);
    assert_null(body);
    return NULL;
}

static void test_client_against_nginx(void **state) {
    (void)state;
    REQUIRE_CMD("nginx");
    char dir[] = "/tmp/weft-nginx-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* a free port: bind 0, read it, let it go */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    unsigned port = ntohs(a.sin_port);
    close(s);
    char path[512], cmd[1024], out[4096];
    snprintf(path, sizeof path, "%s/file.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100000; i++) fputc('n', f);
    fclose(f);
    snprintf(path, sizeof path, "%s/nginx.conf", dir);
    f = fopen(path, "w");
    fprintf(f,
            "daemon off; master_process off; worker_processes 1; pid %s/nginx.pid;\n"
            "error_log %s/error.log;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log %s/access.log;\n"
            "  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
            "  uwsgi_temp_path %s; scgi_temp_path %s;\n"
            "  server {\n"
            "    listen 127.0.0.1:%u;\n"
            "    root %s;\n"
            "    location = /hello { default_type text/plain; return 200 \"hello from nginx\\n\"; }\n"
            "  }\n"
            "}\n",
            dir, dir, dir, dir, dir, dir, dir, dir, port, dir);
    fclose(f);
    snprintf(cmd, sizeof cmd, "nginx -p %s -c %s/nginx.conf >%s/out.log 2>&1 & echo $!", dir, dir, dir);
    assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
    pid_t pid = atoi(out);
    assert_true(pid > 0);
    /* wait until it listens */
    bool up = false;
    for (int i = 0; i < 200 && !up; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        up = connect(fd, (struct sockaddr *)&b, sizeof b) == 0;
        close(fd);
        if (!up) usleep(20 * 1000);
    }
    if (!up) {
        kill(pid, SIGKILL);
        snprintf(cmd, sizeof cmd, "cat %s/out.log %s/error.log", dir, dir);
        run_cmd(cmd, out, sizeof out);
        fail_msg("nginx did not start: %s", out);
    }
    assert_int_equal(weft_http_client_create(&client, NULL), 0);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    weft_runtime *rt;
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    weft_fiber fb;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&fb, nginx_fiber, base, NULL)), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(weft_http_client_idle(client), 1); /* nginx kept the one connection alive */
    weft_http_client_destroy(client);
    kill(pid, SIGQUIT);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- every future dropped mid-flight ------------------------------------------------------ */

typedef struct canceller {
    WEFT_CORO_FIELDS;
    uint64_t limit;
    weft_http_client_request rq;
    weft_http_fetch fetch;
    weft_http_read_body rb;
    weft_timeout to;
    int outcome; /* 0 completed, 1 cancelled */
} canceller;

static void canceller_cleanup(canceller *self) { weft_http_client_response_destroy(&self->fetch.response); }

WEFT_ASYNC(canceller, canceller_cleanup) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_http_fetch_init(&self->fetch, client, &self->rq), self->limit));
    if (self->to.result || self->fetch.result) {
        self->outcome = 1;
        WEFT_RETURN();
    }
    /* then the body, under what is left of the limit */
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_http_read_body_init(&self->rb, self->fetch.response.body, 1 << 20),
                                 self->limit / 2 + 1));
    if (self->to.result == 0 && self->rb.result == 0) free(self->rb.data);
    self->outcome = self->to.result ? 1 : 0;
    WEFT_END();
}

typedef struct cancel_all {
    WEFT_CORO_FIELDS;
    canceller c[24];
    weft_future *kids[24];
    weft_join j;
    int round;
    weft_http_server_shutdown sd;
    weft_timeout to;
    weft_http_client_request rq;
    weft_http_fetch fetch;
    weft_http_read_body rb;
    char alive[128];
    bool alive_ok;
} cancel_all;

WEFT_ASYNC(cancel_all, NULL) {
    WEFT_BEGIN();
    for (self->round = 0; self->round < 10; self->round++) {
        for (int i = 0; i < 24; i++) {
            canceller_start(&self->c[i]);
            memset(&self->c[i].fetch, 0, sizeof self->c[i].fetch);
            self->c[i].limit = 1 + (uint64_t)((i * 7 + self->round * 3) % 40);
            static const char *paths[] = {"/slowstream", "/sleep?10", "/echo", "/stream"};
            static char urls[4][128];
            for (int k = 0; k < 4; k++)
                snprintf(urls[k], sizeof urls[k], "http://127.0.0.1:%u%s", ts.port, paths[k]);
            self->c[i].rq = (weft_http_client_request){.url = urls[i % 4],
                                                       .method = i % 4 == 2 ? "POST" : "GET",
                                                       .body = "data", .body_len = i % 4 == 2 ? 4 : 0};
            self->kids[i] = &self->c[i].base;
        }
        WEFT_AWAIT(weft_join_init(&self->j, self->kids, 24));
    }
    /* The server is still fine: a last request is answered. */
    snprintf(self->alive, sizeof self->alive, "http://127.0.0.1:%u/alive", ts.port);
    self->rq = (weft_http_client_request){.url = self->alive};
    WEFT_AWAIT(weft_http_fetch_init(&self->fetch, client, &self->rq));
    if (self->fetch.result == 0) {
        WEFT_AWAIT(weft_http_read_body_init(&self->rb, self->fetch.response.body, 100));
        self->alive_ok = self->rb.result == 0 && strcmp(self->rb.data, "/alive") == 0;
        free(self->rb.data);
        weft_http_client_response_destroy(&self->fetch.response);
    }
    /* A shutdown dropped before it finished (the test then runs one that finishes). */
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_http_server_shutdown_init(&self->sd, ts.srv, 5000), 0));
    WEFT_END();
}

static void test_cancel_every_future(void **state) {
    (void)state;
    weft_http_server_options o = handler_opts();
    test_server_start(&ts, &o);
    weft_http_client_options co = {.max_idle_per_host = 4};
    assert_int_equal(weft_http_client_create(&client, &co), 0);
    weft_runtime *rt;
    weft_runtime_options ro = test_runtime_options();
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    cancel_all *ca = calloc(1, sizeof *ca);
    cancel_all_start(ca);
    assert_int_equal(weft_block_on(rt, &ca->base), 0);
    int done = 0, cancelled = 0;
    for (int i = 0; i < 24; i++) {
        if (ca->c[i].outcome) cancelled++;
        else done++;
    }
    bool alive_ok = ca->alive_ok;
    free(ca);
    weft_runtime_destroy(rt);
    weft_http_client_destroy(client);
    assert_true(cancelled > 0);
    assert_true(alive_ok);
    assert_int_equal(test_server_shutdown(&ts, 2000), 0);
    test_server_stop(&ts);
    (void)done;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_basic),
        cmocka_unit_test(test_client_stream_body),
        cmocka_unit_test(test_client_timeouts),
        cmocka_unit_test(test_client_redirects),
        cmocka_unit_test(test_client_stale_pooled_connection),
        cmocka_unit_test(test_fiber_handler),
        cmocka_unit_test(test_client_against_nginx),
        cmocka_unit_test(test_cancel_every_future),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
