/* Cancellation of every TLS future mid-flight: a handshake that never
 * finishes, under weft_timeout (-ETIMEDOUT, then the stream reports
 * -ECANCELED and frees everything); handshakes dropped at random points;
 * a fiber aborted in its handshake; reads, writes, flushes and shutdowns
 * dropped at random in both directions at once with every byte accounted
 * for; a write whose task's budget is spent.
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include "tls_support.h"

static uint32_t rnd(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* ---- a handshake that never finishes ------------------------------------------------------------- */

static void *silent_fiber(void *arg) {
    (void)arg;
    weft_runtime *rt = weft_runtime_current();
    size_t regs = registrations(rt);
    weft_tcp_stream c, s;
    tcp_pair(&c, &s); /* s accepts and says nothing */
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    weft_tls_stream t;
    /* the client waits for a ServerHello that never comes */
    FCHECK_EQ(weft_tls_stream_client(&t, cctx, &c.stream, "localhost"), 0);
    weft_tls_handshake hs;
    weft_timeout to;
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_tls_handshake_init(&hs, &t), 100)), 0);
    FCHECK_EQ(to.result, -ETIMEDOUT);
    /* the stream can only be destroyed now */
    char buf[8];
    FCHECK_EQ(weft_fiber_tls_handshake(&t), -ECANCELED);
    FCHECK_EQ(weft_fiber_read(&t.stream, buf, sizeof buf), -ECANCELED);
    FCHECK_EQ(weft_fiber_write_all(&t.stream, "x", 1, NULL), -ECANCELED);
    weft_flush f;
    FCHECK_EQ(weft_await(weft_shutdown_init(&f, &t.stream)), 0);
    FCHECK_EQ(f.result, -ECANCELED);
    FCHECK(strstr(weft_tls_stream_error_detail(&t), "cancelled") != NULL);
    weft_tls_stream_destroy(&t);
    /* the server waits for a ClientHello that never comes (the silent
     * peer is now the client socket) */
    FCHECK_EQ(weft_tls_stream_server(&t, sctx, &s.stream), 0);
    weft_tls_handshake_init(&hs, &t);
    FCHECK_EQ(weft_await(weft_timeout_init(&to, &hs.base, 50)), 0);
    FCHECK_EQ(to.result, -ETIMEDOUT);
    FCHECK_EQ(weft_fiber_read(&t.stream, buf, sizeof buf), -ECANCELED);
    weft_tls_stream_destroy(&t);
    weft_tcp_stream_close(&c);
    weft_tcp_stream_close(&s);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    FCHECK_EQ(registrations(rt), regs);
    return NULL;
}

static void test_handshake_timeout_frees_everything(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    run_fiber(rt, silent_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- handshakes dropped at random points ---------------------------------------------------------- */

static void *random_drop_fiber(void *arg) {
    (void)arg;
    uint32_t seed = 7;
    weft_tls_context *cctx = client_ctx(NULL), *sctx = server_ctx("server", NULL);
    int completed = 0, dropped = 0;
    for (int round = 0; round < 60; round++) {
        weft_tcp_stream c, s;
        tcp_pair(&c, &s);
        weft_tls_stream tc, ts;
        FCHECK_EQ(weft_tls_stream_client(&tc, cctx, &c.stream, "localhost"), 0);
        FCHECK_EQ(weft_tls_stream_server(&ts, sctx, &s.stream), 0);
        /* the server's handshake may be dropped anywhere in the first few
         * milliseconds; the client's is bounded generously */
        weft_tls_handshake hc, hs;
        weft_timeout tc_to, ts_to;
        weft_join j;
        weft_future *kids[2];
        uint64_t limit = rnd(&seed) % 4;
        FCHECK_EQ(weft_await(WEFT_JOIN(&j, kids,
                                       weft_timeout_init(&tc_to, weft_tls_handshake_init(&hc, &tc), 200),
                                       weft_timeout_init(&ts_to, weft_tls_handshake_init(&hs, &ts), limit))),
                  0);
        char buf[8];
        if (ts_to.result == 0) {
            FCHECK_EQ(hs.result, 0);
            FCHECK_EQ(tc_to.result, 0);
            FCHECK_EQ(hc.result, 0);
            FCHECK_EQ(weft_fiber_write_all(&ts.stream, "ok", 2, NULL), 0);
            FCHECK_EQ(weft_fiber_read_exact(&tc.stream, buf, 2, NULL), 0);
            completed++;
        } else {
            /* dropped: unusable from now on; the client is stuck or was
             * told nothing yet (its own limit ended it, or it finished
             * first in TLS 1.3 and learns later) */
            FCHECK_EQ(weft_fiber_read(&ts.stream, buf, sizeof buf), -ECANCELED);
            FCHECK(tc_to.result == -ETIMEDOUT || hc.result == 0);
            dropped++;
        }
        weft_tls_stream_destroy(&tc);
        weft_tls_stream_destroy(&ts);
        weft_tcp_stream_close(&c);
        weft_tcp_stream_close(&s);
    }
    FCHECK(completed + dropped == 60);
    weft_tls_context_destroy(cctx);
    weft_tls_context_destroy(sctx);
    return NULL;
}

static void test_handshakes_dropped_at_random(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    run_fiber(rt, random_drop_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- a fiber aborted in its handshake --------------------------------------------------------------- */

typedef struct aborted {
    weft_tls_stream t;
    atomic_int rc, read_rc;
    atomic_int started;
} aborted;

static void *aborted_fiber(void *arg) {
    aborted *a = arg;
    atomic_store(&a->started, 1);
    atomic_store(&a->rc, weft_fiber_tls_handshake(&a->t));
    char buf[4];
    /* cancelled: every await fails at once now; the stream says why */
    atomic_store(&a->read_rc, (int)weft_fiber_read(&a->t.stream, buf, sizeof buf));
    return NULL;
}

static void *abort_setup(void *arg) {
    (void)arg;
    return NULL;
}

static void test_fiber_aborted_in_handshake(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, abort_setup, NULL);
    /* a listener that never answers: the kernel completes the connection */
    weft_tcp_listener l = {0};
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 4), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(weft_tcp_listener_port(&l)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    weft_tcp_stream c = {0};
    assert_int_equal(weft_tcp_stream_adopt(&c, rt, fd), 0);
    weft_tls_context *cctx = client_ctx(NULL);
    aborted *a = calloc(1, sizeof *a);
    atomic_init(&a->rc, 1);
    atomic_init(&a->read_rc, 1);
    assert_int_equal(weft_tls_stream_client(&a->t, cctx, &c.stream, "localhost"), 0);
    weft_join_handle h = weft_fiber_spawn(rt, aborted_fiber, a, NULL);
    /* let it start and wait, then abort it */
    weft_sleep sl;
    while (!atomic_load(&a->started)) assert_int_equal(weft_block_on(rt, weft_sleep_init(&sl, 5)), 0);
    assert_int_equal(weft_block_on(rt, weft_sleep_init(&sl, 20)), 0);
    weft_join_handle_abort(&h);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(atomic_load(&a->rc), -ECANCELED);
    assert_int_equal(atomic_load(&a->read_rc), -ECANCELED);
    assert_int_equal(weft_fiber_tls_handshake(&a->t), -EPERM); /* not in a fiber */
    weft_tls_stream_destroy(&a->t);
    free(a);
    weft_tcp_stream_close(&c);
    weft_tcp_listener_close(&l);
    weft_tls_context_destroy(cctx);
    weft_runtime_destroy(rt);
}

/* ---- reads, writes, flushes and shutdowns dropped at random, both ways ---------------------------- */

#if FIBER_TEST_SANITIZED
#define STORM_BYTES (1u << 20)
#else
#define STORM_BYTES (4u << 20)
#endif

typedef struct storm_job {
    weft_stream *s;
    uint32_t id, seed;
    uint64_t moved;
    int drops; /* operations dropped by their time limit */
    int rc;
} storm_job;

/* Writes STORM_BYTES of pattern with single writes under random short
 * limits (a dropped write took nothing: the next one starts at the same
 * offset), flushes now and then, then shuts down, all under limits. */
static void *storm_writer(void *arg) {
    storm_job *j = arg;
    unsigned char *buf = malloc(65536);
    while (j->moved < STORM_BYTES) {
        size_t n = 1 + rnd(&j->seed) % 65536;
        if (n > STORM_BYTES - j->moved) n = (size_t)(STORM_BYTES - j->moved);
        for (size_t i = 0; i < n; i++) buf[i] = pattern(j->id, j->moved + i);
        weft_write w;
        weft_timeout to;
        FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_write_init(&w, j->s, buf, n), rnd(&j->seed) % 3)), 0);
        if (to.result == -ETIMEDOUT) {
            j->drops++;
            continue;
        }
        FCHECK(w.result > 0);
        j->moved += (uint64_t)w.result;
        if (rnd(&j->seed) % 8 == 0) { /* a flush, maybe dropped */
            weft_flush f;
            FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_flush_init(&f, j->s), rnd(&j->seed) % 3)), 0);
            if (to.result == 0) FCHECK_EQ(f.result, 0);
            else j->drops++;
        }
    }
    free(buf);
    for (;;) { /* shutdown, dropped until it gets through */
        weft_flush f;
        weft_timeout to;
        FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_shutdown_init(&f, j->s), rnd(&j->seed) % 3)), 0);
        if (to.result == 0) {
            j->rc = f.result;
            return NULL;
        }
        j->drops++;
    }
}

/* Reads until end of stream with random buffer sizes under random short
 * limits, pausing now and then so that the writer meets a full pipe. */
static void *storm_reader(void *arg) {
    storm_job *j = arg;
    unsigned char *buf = malloc(40000);
    j->rc = 0;
    for (;;) {
        size_t cap = 1 + rnd(&j->seed) % 40000;
        weft_read r;
        weft_timeout to;
        FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_read_init(&r, j->s, buf, cap), rnd(&j->seed) % 3)), 0);
        if (to.result == -ETIMEDOUT) {
            j->drops++;
            continue;
        }
        if (r.result <= 0) {
            j->rc = (int)r.result;
            break;
        }
        for (ssize_t i = 0; i < r.result; i++)
            if (buf[i] != pattern(j->id, j->moved + (uint64_t)i)) {
                fprintf(stderr, "byte %llu of stream %u is wrong\n",
                        (unsigned long long)(j->moved + (uint64_t)i), j->id);
                abort();
            }
        j->moved += (uint64_t)r.result;
        if (rnd(&j->seed) % 16 == 0) FCHECK_EQ(weft_fiber_sleep(rnd(&j->seed) % 4), 0);
    }
    free(buf);
    return NULL;
}

typedef struct storm {
    weft_tcp_stream ctcp, stcp;
    weft_tls_stream c, s;
    weft_tls_context *cctx, *sctx;
} storm;

static void small_buffers(weft_tcp_stream *t) {
    int fd = weft_tcp_stream_fd(t), v = 8192;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

static void *storm_open(void *arg) {
    storm *st = arg;
    tcp_pair(&st->ctcp, &st->stcp);
    small_buffers(&st->ctcp);
    small_buffers(&st->stcp);
    FCHECK_EQ(weft_tls_stream_client(&st->c, st->cctx, &st->ctcp.stream, "localhost"), 0);
    FCHECK_EQ(weft_tls_stream_server(&st->s, st->sctx, &st->stcp.stream), 0);
    FCHECK_EQ(handshake_both(&st->c, &st->s, NULL), 0);
    return NULL;
}

static void test_io_dropped_at_random_both_ways(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    storm *st = calloc(1, sizeof *st);
    st->cctx = client_ctx(NULL);
    st->sctx = server_ctx("server", NULL);
    run_fiber(rt, storm_open, st);
    weft_split_half h[4];
    assert_int_equal(weft_stream_split(&st->c.stream, &h[0], &h[1]), 0);
    assert_int_equal(weft_stream_split(&st->s.stream, &h[2], &h[3]), 0);
    storm_job jobs[4] = {
        {&h[1].stream, 1, 11, 0, 0, -1}, /* client writes 1 */
        {&h[2].stream, 1, 12, 0, 0, -1}, /* server reads 1 */
        {&h[3].stream, 2, 13, 0, 0, -1}, /* server writes 2 */
        {&h[0].stream, 2, 14, 0, 0, -1}, /* client reads 2 */
    };
    weft_join_handle hs[4];
    for (int i = 0; i < 4; i++)
        hs[i] = weft_fiber_spawn(rt, i % 2 == 0 ? storm_writer : storm_reader, &jobs[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(jobs[i].moved, STORM_BYTES);
    }
    print_message("dropped: %d writes/flushes/shutdowns and %d reads client to server, %d and %d back\n",
                  jobs[0].drops, jobs[1].drops, jobs[2].drops, jobs[3].drops);
    assert_true(jobs[0].drops + jobs[2].drops > 0); /* the point of the exercise */
    assert_true(jobs[1].drops + jobs[3].drops > 0);
    for (int i = 0; i < 4; i++) weft_split_half_destroy(&h[i]);
    weft_tls_stream_destroy(&st->c);
    weft_tls_stream_destroy(&st->s);
    weft_tcp_stream_close(&st->ctcp);
    weft_tcp_stream_close(&st->stcp);
    weft_tls_context_destroy(st->cctx);
    weft_tls_context_destroy(st->sctx);
    free(st);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- a write, a flush and a shutdown dropped while the pipe is full, then resumed ------------------ */

static void *full_pipe_fiber(void *arg) {
    (void)arg;
    storm st = {0};
    st.cctx = client_ctx(NULL);
    st.sctx = server_ctx("server", NULL);
    storm_open(&st);
    static unsigned char buf[16384];
    uint64_t sent = 0;
    /* fill until a write waits; that write is dropped, having taken nothing */
    for (;;) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = pattern(5, sent + i);
        weft_write w;
        weft_timeout to;
        FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_write_init(&w, &st.c.stream, buf, sizeof buf), 50)), 0);
        if (to.result == -ETIMEDOUT) break;
        FCHECK(w.result > 0);
        sent += (uint64_t)w.result;
    }
    /* flush and shutdown wait too; dropped */
    weft_flush f;
    weft_timeout to;
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_flush_init(&f, &st.c.stream), 20)), 0);
    FCHECK_EQ(to.result, -ETIMEDOUT);
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_shutdown_init(&f, &st.c.stream), 20)), 0);
    FCHECK_EQ(to.result, -ETIMEDOUT);
    /* the server drains; the client's shutdown, resumed, completes */
    uint64_t got = 0;
    static unsigned char in[20000];
    bool shut = false;
    for (;;) {
        if (!shut) {
            FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_shutdown_init(&f, &st.c.stream), 1)), 0);
            if (to.result == 0) {
                FCHECK_EQ(f.result, 0);
                shut = true;
            }
        }
        ssize_t n = weft_fiber_read(&st.s.stream, in, sizeof in);
        FCHECK(n >= 0);
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) FCHECK_EQ(in[i], pattern(5, got + (uint64_t)i));
        got += (uint64_t)n;
    }
    FCHECK(shut);
    FCHECK_EQ(got, sent);
    weft_tls_stream_destroy(&st.c);
    weft_tls_stream_destroy(&st.s);
    weft_tcp_stream_close(&st.ctcp);
    weft_tcp_stream_close(&st.stcp);
    weft_tls_context_destroy(st.cctx);
    weft_tls_context_destroy(st.sctx);
    return NULL;
}

static void test_dropped_on_full_pipe_then_resumed(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, full_pipe_fiber, NULL);
    weft_runtime_destroy(rt);
}

/* ---- a write whose task has no budget left ------------------------------------------------------- */

/* Regression: a write polled with its task's budget spent used to take its
 * bytes and leave the records in the stream (the hand-off was refused by
 * the budget), so a peer waiting for them waited forever. Now it is
 * pending, having taken nothing, or it hands the records on. */
static void *budget_fiber(void *arg) {
    (void)arg;
    storm st = {0};
    st.cctx = client_ctx(NULL);
    st.sctx = server_ctx("server", NULL);
    storm_open(&st);
    for (uint32_t budget = 0; budget < 3; budget++) {
        weft_context cx = weft_context_make(weft_waker_noop());
        cx.runtime = weft_runtime_current();
        cx.budget = budget;
        ssize_t res = 0;
        weft_poll p = weft_stream_poll_write(&st.s.stream, &cx, "late", 4, &res);
        if (p == WEFT_PENDING) {
            FCHECK_EQ(budget, 0); /* nothing was taken: write it properly */
            FCHECK_EQ(weft_fiber_write_all(&st.s.stream, "late", 4, NULL), 0);
        } else {
            FCHECK_EQ(res, 4);
        }
        /* the client gets it without the server doing anything more */
        char buf[4];
        weft_read_exact r;
        weft_timeout to;
        FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_read_exact_init(&r, &st.c.stream, buf, 4), 2000)), 0);
        FCHECK_EQ(to.result, 0);
        FCHECK_EQ(r.result, 0);
        FCHECK(memcmp(buf, "late", 4) == 0);
    }
    weft_tls_stream_destroy(&st.c);
    weft_tls_stream_destroy(&st.s);
    weft_tcp_stream_close(&st.ctcp);
    weft_tcp_stream_close(&st.stcp);
    weft_tls_context_destroy(st.cctx);
    weft_tls_context_destroy(st.sctx);
    return NULL;
}

static void test_write_with_spent_budget_hands_records_on(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, budget_fiber, NULL);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_timeout_frees_everything),
        cmocka_unit_test(test_handshakes_dropped_at_random),
        cmocka_unit_test(test_fiber_aborted_in_handshake),
        cmocka_unit_test(test_io_dropped_at_random_both_ways),
        cmocka_unit_test(test_dropped_on_full_pipe_then_resumed),
        cmocka_unit_test(test_write_with_spent_budget_hands_records_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
