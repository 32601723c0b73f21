/*
 * The libcurl adapter against a real HTTP/1.1 server on 127.0.0.1: a
 * small responder written with weft's TCP API in this test
 * (http_responder.h), running on the same runtime as the transfers.
 * weft-test: threaded
 */
#include "http_responder.h"
#include "servers.h" /* test_free_port */
#include "weft/curl.h"

typedef struct body {
    size_t len;
    bool pattern_ok;
} body;

/* Counts the body and checks its bytes ('a' + offset % 26). */
static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    body *b = arg;
    for (size_t i = 0; i < size * n; i++)
        if (p[i] != (char)('a' + (b->len + i) % 26)) b->pattern_ok = false;
    b->len += size * n;
    return size * n;
}

static CURL *easy_for(int port, const char *path, body *b) {
    CURL *e = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    b->len = 0;
    b->pattern_ok = true;
    return e;
}

static void set_path(CURL *e, int port, const char *path, body *b) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    b->len = 0;
    b->pattern_ok = true;
}

/* ---- basics ---------------------------------------------------------------- */

static void *basics_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    body b;
    CURL *e = easy_for(r.port, "/fixed/100", &b);
    CURLcode code = CURLE_FAILED_INIT;
    long status = 0;
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    CHECK_EQ(code, CURLE_OK);
    CHECK_EQ(status, 200);
    CHECK_EQ(b.len, 100);
    CHECK(b.pattern_ok);
    /* The same handle again (its connection is reused), chunked, large. */
    set_path(e, r.port, "/chunked/300000", &b);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    CHECK_EQ(code, CURLE_OK);
    CHECK_EQ(b.len, 300000);
    CHECK(b.pattern_ok);
    set_path(e, r.port, "/status/404", &b);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    CHECK_EQ(code, CURLE_OK);
    CHECK_EQ(status, 404);
    /* curl's own timeout: the timer callback at work. */
    set_path(e, r.port, "/slow/5000", &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 100L);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    CHECK_EQ(code, CURLE_OPERATION_TIMEDOUT);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
    /* Connection refused. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", test_free_port());
    curl_easy_setopt(e, CURLOPT_URL, url);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    CHECK_EQ(code, CURLE_COULDNT_CONNECT);
    /* The user's CURLOPT_PRIVATE is given back. */
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&b);
    set_path(e, r.port, "/fixed/1", &b);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, &status), 0);
    void *priv = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&priv);
    CHECK(priv == &b);
    curl_easy_cleanup(e);
    weft_curl_destroy(m);
    responder_stop(&r);
    return NULL;
}
static void test_basics(void **state) { run_fiber_test(basics_fiber, NULL); }

/* ---- many at once ---------------------------------------------------------- */

enum { MANY = 200 };
static void *many_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    static body bodies[MANY];
    static CURL *easies[MANY];
    static weft_curl_perform ts[MANY];
    static weft_future *kids[MANY];
    for (int i = 0; i < MANY; i++) {
        char path[64];
        if (i % 3 == 0) snprintf(path, sizeof path, "/chunked/%d", 1000 + i * 37);
        else if (i % 3 == 1) snprintf(path, sizeof path, "/fixed/%d", 1000 + i * 37);
        else snprintf(path, sizeof path, "/slow/%d", 20 + i % 50);
        easies[i] = easy_for(r.port, path, &bodies[i]);
        kids[i] = weft_curl_perform_init(&ts[i], m, easies[i]);
    }
    weft_join j;
    CHECK_EQ(weft_await(weft_join_init(&j, kids, MANY)), 0);
    for (int i = 0; i < MANY; i++) {
        CHECK_EQ(ts[i].result, 0);
        CHECK_EQ(ts[i].code, CURLE_OK);
        CHECK_EQ(ts[i].status, 200);
        CHECK_EQ(bodies[i].len, i % 3 == 2 ? 2 : (size_t)(1000 + i * 37));
        if (i % 3 != 2) CHECK(bodies[i].pattern_ok);
        curl_easy_cleanup(easies[i]);
    }
    CHECK_EQ(weft_curl_running(m), 0);
    weft_curl_destroy(m);
    responder_stop(&r);
    return NULL;
}
static void test_many_concurrent(void **state) { run_fiber_test(many_fiber, NULL); }

/* Transfers from many tasks (on every worker) share one weft_curl. */
typedef struct worker {
    weft_curl *m;
    int port, id;
} worker;
static void *worker_fiber(void *arg) {
    worker *w = arg;
    body b;
    char path[64];
    snprintf(path, sizeof path, "/fixed/%d", 100 + w->id);
    CURL *e = easy_for(w->port, path, &b);
    for (int i = 0; i < 20; i++) {
        set_path(e, w->port, path, &b);
        CURLcode code;
        CHECK_EQ(weft_fiber_curl_perform(w->m, e, &code, NULL), 0);
        CHECK_EQ(code, CURLE_OK);
        CHECK_EQ(b.len, (size_t)(100 + w->id));
    }
    curl_easy_cleanup(e);
    return NULL;
}
static void *tasks_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    worker ws[16];
    for (int i = 0; i < 16; i++) ws[i] = (worker){m, r.port, i};
    fibers_run_all(worker_fiber, ws, sizeof ws[0], 16);
    weft_curl_destroy(m);
    responder_stop(&r);
    return NULL;
}
static void test_many_tasks(void **state) { run_fiber_test(tasks_fiber, NULL); }

/* ---- cancellation, timeouts ---------------------------------------------------- */

static void *cancel_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    body b;
    CURL *e = easy_for(r.port, "/slow/5000", &b);
    /* weft_timeout drops the transfer: the easy handle is free at once. */
    weft_curl_perform t;
    weft_timeout to;
    CHECK_EQ(weft_await(weft_timeout_init(&to, weft_curl_perform_init(&t, m, e), 100)), 0);
    CHECK_EQ(to.result, -ETIMEDOUT);
    CHECK_EQ(weft_curl_running(m), 0);
    set_path(e, r.port, "/fixed/10", &b);
    CURLcode code;
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, NULL), 0);
    CHECK_EQ(code, CURLE_OK);
    CHECK_EQ(b.len, 10);
    /* Dropped at every point of a transfer, over and over. */
    int dropped = 0;
    for (int i = 0; i < 100; i++) {
        set_path(e, r.port, i % 2 ? "/chunked/200000" : "/slow/10", &b);
        CHECK_EQ(weft_await(weft_timeout_init(&to, weft_curl_perform_init(&t, m, e), (uint64_t)(i % 12))), 0);
        if (to.result < 0) dropped++;
        else CHECK_EQ(t.code, CURLE_OK);
    }
    CHECK(dropped > 0);
    set_path(e, r.port, "/fixed/77", &b);
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, NULL), 0);
    CHECK_EQ(code, CURLE_OK);
    CHECK_EQ(b.len, 77);
    CHECK_EQ(weft_curl_running(m), 0);
    curl_easy_cleanup(e);
    weft_curl_destroy(m);
    responder_stop(&r);
    return NULL;
}
static void test_cancel_and_timeouts(void **state) { run_fiber_test(cancel_fiber, NULL); }

/* ---- ends ------------------------------------------------------------------- */

/* The server dies with transfers mid-body: each completes with libcurl's
 * error, none hangs. A second fiber kills the server while this one waits
 * for every transfer. */
static void *killer_fiber(void *arg) {
    responder *r = arg;
    while (atomic_load(&r->requests) < 40) weft_fiber_sleep(10); /* every request arrived */
    weft_fiber_sleep(50);
    responder_kill(r);
    return NULL;
}

static void *killed_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    enum { N = 40 };
    body bs[N];
    CURL *es[N];
    weft_curl_perform ts[N];
    weft_future *kids[N];
    for (int i = 0; i < N; i++) {
        es[i] = easy_for(r.port, i % 2 ? "/stall" : "/slow/60000", &bs[i]);
        kids[i] = weft_curl_perform_init(&ts[i], m, es[i]);
    }
    weft_join_handle killer = weft_fiber_spawn(weft_runtime_current(), killer_fiber, &r, NULL);
    weft_join j;
    weft_timeout to;
    CHECK_EQ(weft_await(weft_timeout_init(&to, weft_join_init(&j, kids, N), 20000)), 0);
    CHECK_EQ(to.result, 0); /* every transfer completed: no hang */
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ts[i].result, 0);
        CHECK(ts[i].code != CURLE_OK);
        curl_easy_cleanup(es[i]);
    }
    CHECK_EQ(weft_fiber_join(&killer, NULL), 0);
    CHECK_EQ(weft_curl_running(m), 0);
    weft_curl_destroy(m);
    responder_stop(&r);
    return NULL;
}
static void test_server_killed(void **state) { run_fiber_test(killed_fiber, NULL); }

/* Destroying the weft_curl completes its running transfers with -EBADF. */
static void *destroy_fiber(void *arg) {
    responder r;
    CHECK_EQ(responder_start(&r), 0);
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    body b;
    CURL *e = easy_for(r.port, "/slow/60000", &b);
    weft_curl_perform t;
    weft_timeout to;
    CHECK_EQ(weft_await(weft_timeout_init(&to, weft_curl_perform_init(&t, m, e), 100)), 0);
    /* (dropped; start one that stays) */
    weft_curl_perform t2;
    weft_curl_perform_init(&t2, m, e);
    weft_select s;
    weft_sleep sl;
    weft_future *kids[2];
    CHECK_EQ(weft_await(WEFT_SELECT(&s, kids, WEFT_SELECT_KEEP_LOSERS, &t2.base,
                                    weft_sleep_init(&sl, 100))), 0);
    CHECK_EQ(s.winner, 1);
    weft_curl_destroy(m);
    CHECK_EQ(weft_await(&t2.base), 0);
    CHECK_EQ(t2.result, -EBADF);
    curl_easy_cleanup(e);
    responder_stop(&r);
    return NULL;
}
static void test_destroy_with_transfers(void **state) { run_fiber_test(destroy_fiber, NULL); }

/* The runtime destroyed with transfers running: their tasks are dropped
 * (each removes its handle) and the weft_curl then refuses new ones. */
static weft_curl *orphan;
static CURL *orphan_easy;
static body orphan_body;
static void *orphan_task(void *arg) {
    weft_fiber_curl_perform(orphan, orphan_easy, NULL, NULL);
    return NULL;
}
static void *orphan_fiber(void *arg) {
    static responder r;
    CHECK_EQ(responder_start(&r), 0);
    CHECK_EQ(weft_curl_create(&orphan, weft_runtime_current()), 0);
    orphan_easy = easy_for(r.port, "/slow/60000", &orphan_body);
    weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), orphan_task, NULL, NULL);
    weft_join_handle_detach(&h);
    weft_fiber_sleep(100);
    return NULL;
}
static void test_runtime_destroyed(void **state) {
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_fiber_spawn(rt, orphan_fiber, NULL, NULL);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(weft_curl_running(orphan), 0);
    weft_curl_destroy(orphan);
    curl_easy_cleanup(orphan_easy);
    assert_int_equal(atomic_load(&check_failures), 0);
}

static void test_bad_arguments(void **state) {
    weft_curl *m = NULL;
    assert_int_equal(weft_curl_create(&m, NULL), -EINVAL);
    assert_int_equal(weft_curl_create(NULL, NULL), -EINVAL);
    weft_curl_destroy(NULL);
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_curl_create(&m, rt), 0);
    assert_int_equal(weft_curl_setopt_long(m, CURLMOPT_TIMERDATA, 0), -EINVAL);
    assert_int_equal(weft_curl_setopt_long(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 8), 0);
    weft_curl_perform t;
    assert_int_equal(weft_block_on(rt, weft_curl_perform_init(&t, m, NULL)), 0);
    assert_int_equal(t.result, -EINVAL);
    weft_curl_destroy(m);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_many_concurrent),
        cmocka_unit_test(test_many_tasks),
        cmocka_unit_test(test_cancel_and_timeouts),
        cmocka_unit_test(test_server_killed),
        cmocka_unit_test(test_destroy_with_transfers),
        cmocka_unit_test(test_runtime_destroyed),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
