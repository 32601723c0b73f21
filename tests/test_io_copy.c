/* copy_bidirectional: half-closes travel both ways (either side first),
 * byte counts, a reset in the middle, the idle timeout (activity keeps it
 * off, silence ends the copy), the activity hook, buffered destinations
 * flushed while the copy waits, a copy dropped in the middle, bad streams.
 * Over Unix socketpairs and TCP.  weft-test: io */
#include "copy_support.h"

enum { UNIX_PAIRS = 0, TCP_PAIRS = 1 };

/* Two connected pairs: client c <-> a (the proxy's side), b (the proxy's
 * side) <-> s server. */
typedef struct pairs {
    WEFT_CORO_FIELDS;
    int kind;
    weft_tcp_stream t[4];
    weft_unix_stream u[4];
    weft_stream *c, *a, *b, *s;
    tcp_pair tp;
    int result;
} pairs;

WEFT_ASYNC(pairs, NULL) {
    WEFT_BEGIN();
    if (self->kind == UNIX_PAIRS) {
        assert_int_equal(weft_unix_stream_pair(&self->u[0], &self->u[1], cx->runtime), 0);
        assert_int_equal(weft_unix_stream_pair(&self->u[2], &self->u[3], cx->runtime), 0);
        self->c = &self->u[0].stream, self->a = &self->u[1].stream;
        self->b = &self->u[2].stream, self->s = &self->u[3].stream;
    } else {
        WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
        assert_int_equal(self->tp.result, 0);
        WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[2], &self->t[3]));
        assert_int_equal(self->tp.result, 0);
        self->c = &self->t[0].stream, self->a = &self->t[1].stream;
        self->b = &self->t[2].stream, self->s = &self->t[3].stream;
    }
    WEFT_END();
}

static void pairs_close(pairs *p) {
    for (int i = 0; i < 4; i++) {
        weft_tcp_stream_close(&p->t[i]);
        weft_unix_stream_close(&p->u[i]);
    }
}

/* ---- half-closes, both ways ----------------------------------------------------------- */

typedef struct activity {
    uint64_t bytes[2];
    unsigned calls;
} activity;

static void on_activity(void *arg, weft_copy_direction dir, size_t n) {
    activity *a = arg;
    a->bytes[dir] += n;
    a->calls++;
}

typedef struct half_close_case {
    WEFT_CORO_FIELDS;
    int kind;
    bool client_first;
    uint64_t x, y; /* client -> server, server -> client */
    pairs p;
    peer cl, sv;
    peer_report clr, svr;
    weft_join_handle hc, hs;
    weft_copy_bidirectional cp;
    weft_copy_bidirectional_options o;
    activity act;
} half_close_case;

WEFT_ASYNC(half_close_case, NULL) {
    WEFT_BEGIN();
    pairs_start(&self->p);
    self->p.kind = self->kind;
    WEFT_AWAIT(&self->p.base);
    /* The side that closes first writes everything and shuts down, then
     * reads; the other reads to EOF first (so it sees the half-close while
     * its own direction is still open), then answers. */
    peer_setup(&self->cl, &self->clr, self->p.c, self->client_first ? PEER_WRITE_FIRST : PEER_READ_FIRST,
               2, 1, self->x);
    peer_setup(&self->sv, &self->svr, self->p.s, self->client_first ? PEER_READ_FIRST : PEER_WRITE_FIRST,
               1, 2, self->y);
    self->hc = WEFT_SPAWN(cx->runtime, &self->cl, result, NULL);
    self->hs = WEFT_SPAWN(cx->runtime, &self->sv, result, NULL);
    self->o = (weft_copy_bidirectional_options){.buf_size = 4096, .on_activity = on_activity,
                                                .activity_arg = &self->act};
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.b, &self->o));
    WEFT_AWAIT(&self->hc.base);
    WEFT_AWAIT(&self->hs.base);
    assert_int_equal(self->cp.result, 0);
    assert_int_equal(self->cp.a_to_b, self->x);
    assert_int_equal(self->cp.b_to_a, self->y);
    assert_int_equal(self->act.bytes[WEFT_COPY_A_TO_B], self->x);
    assert_int_equal(self->act.bytes[WEFT_COPY_B_TO_A], self->y);
    assert_true(self->act.calls > 0 || (self->x == 0 && self->y == 0));
    assert_int_equal(self->svr.result, 0);
    assert_int_equal(self->clr.result, 0);
    assert_int_equal(self->svr.got, self->x);
    assert_int_equal(self->clr.got, self->y);
    assert_int_equal(self->svr.bad, 0);
    assert_int_equal(self->clr.bad, 0);
    pairs_close(&self->p);
    WEFT_END();
}

static void run_half_close(int kind, bool client_first, uint64_t x, uint64_t y) {
    weft_runtime *rt = rt_new();
    half_close_case *c = calloc(1, sizeof *c);
    half_close_case_start(c);
    c->kind = kind;
    c->client_first = client_first;
    c->x = x;
    c->y = y;
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
}

static void test_half_close_client_first(void **state) {
    (void)state;
    int fds = fd_count();
    run_half_close(UNIX_PAIRS, true, 1 << 20, 300000);
    run_half_close(TCP_PAIRS, true, 1 << 20, 300000);
    run_half_close(UNIX_PAIRS, true, 0, 5);  /* nothing one way */
    run_half_close(TCP_PAIRS, true, 5, 0);
    assert_int_equal(fd_count_settled(fds), fds);
}

static void test_half_close_server_first(void **state) {
    (void)state;
    int fds = fd_count();
    run_half_close(UNIX_PAIRS, false, 300000, 1 << 20);
    run_half_close(TCP_PAIRS, false, 300000, 1 << 20);
    run_half_close(TCP_PAIRS, false, 0, 0);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- a reset in the middle -------------------------------------------------------------- */

/* Reads `n` bytes, then resets the connection (SO_LINGER 0 and close). */
typedef struct resetter {
    WEFT_CORO_FIELDS;
    weft_tcp_stream *s;
    uint64_t n, got;
    weft_read rd;
    unsigned char buf[4096];
} resetter;

WEFT_ASYNC(resetter, NULL) {
    WEFT_BEGIN();
    while (self->got < self->n) {
        WEFT_AWAIT(weft_read_init(&self->rd, &self->s->stream, self->buf, sizeof self->buf));
        if (self->rd.result <= 0) break;
        self->got += (uint64_t)self->rd.result;
    }
    {
        struct linger lg = {1, 0};
        setsockopt(weft_tcp_stream_fd(self->s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    weft_tcp_stream_close(self->s);
    WEFT_END();
}

typedef struct reset_case {
    WEFT_CORO_FIELDS;
    pairs p;
    peer cl;
    peer_report clr;
    resetter rs;
    weft_join_handle hc, hr;
    weft_copy_bidirectional cp;
} reset_case;

WEFT_ASYNC(reset_case, NULL) {
    WEFT_BEGIN();
    pairs_start(&self->p);
    self->p.kind = TCP_PAIRS;
    WEFT_AWAIT(&self->p.base);
    /* The client sends far more than the server takes before it resets. */
    peer_setup(&self->cl, &self->clr, self->p.c, PEER_WRITE_ONLY, 0, 1, 64u << 20);
    self->hc = WEFT_SPAWN(cx->runtime, &self->cl, result, NULL);
    resetter_start(&self->rs);
    self->rs.s = &self->p.t[3];
    self->rs.n = 100000;
    self->hr = WEFT_SPAWN(cx->runtime, &self->rs, got, NULL);
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.b, NULL));
    assert_true(self->cp.result == -ECONNRESET || self->cp.result == -EPIPE);
    assert_true(self->cp.a_to_b >= 100000);
    assert_true(self->cp.a_to_b < 64u << 20);
    WEFT_AWAIT(&self->hr.base);
    /* The client is stuck writing into a proxy that stopped: close its peer. */
    weft_tcp_stream_close(&self->p.t[1]);
    weft_tcp_stream_close(&self->p.t[2]);
    WEFT_AWAIT(&self->hc.base);
    assert_true(self->clr.result < 0);
    assert_true(self->clr.sent >= self->cp.a_to_b);
    pairs_close(&self->p);
    WEFT_END();
}

static void test_reset_mid_copy(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    reset_case *c = calloc(1, sizeof *c);
    reset_case_start(c);
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- the idle timeout ----------------------------------------------------------------- */

typedef struct idle_case {
    WEFT_CORO_FIELDS;
    pairs p;
    weft_copy_bidirectional cp;
    weft_copy_bidirectional_options o;
    weft_join_handle hcp;
    weft_sleep sl;
    weft_write_all w;
    weft_read rd;
    unsigned char buf[64];
    int i;
    uint64_t last_ms, end_ms;
} idle_case;

typedef struct copy_task {
    WEFT_CORO_FIELDS;
    weft_copy_bidirectional *cp;
    uint64_t *end_ms;
    int result;
} copy_task;

WEFT_ASYNC(copy_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(&self->cp->base);
    *self->end_ms = weft_clock_ms();
    self->result = self->cp->result;
    WEFT_END();
}

enum { IDLE_MS = 1000, TICK_MS = 50, TICKS = 30 };

WEFT_ASYNC(idle_case, NULL) {
    WEFT_BEGIN();
    pairs_start(&self->p);
    self->p.kind = UNIX_PAIRS;
    WEFT_AWAIT(&self->p.base);
    self->o.idle_timeout_ms = IDLE_MS;
    weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.b, &self->o);
    {
        copy_task t;
        copy_task_start(&t);
        t.cp = &self->cp;
        t.end_ms = &self->end_ms;
        self->hcp = WEFT_SPAWN(cx->runtime, &t, result, NULL);
    }
    /* 1.5 s of traffic, a byte every 50 ms, alternating directions: longer
     * than the timeout, so only the activity keeps the copy alive. */
    for (self->i = 0; self->i < TICKS; self->i++) {
        WEFT_AWAIT(weft_sleep_init(&self->sl, TICK_MS));
        if (self->i % 2) {
            WEFT_AWAIT(weft_write_all_init(&self->w, self->p.c, "x", 1));
            WEFT_AWAIT(weft_read_init(&self->rd, self->p.s, self->buf, sizeof self->buf));
        } else {
            WEFT_AWAIT(weft_write_all_init(&self->w, self->p.s, "y", 1));
            WEFT_AWAIT(weft_read_init(&self->rd, self->p.c, self->buf, sizeof self->buf));
        }
        assert_int_equal(self->rd.result, 1);
        assert_false(weft_join_handle_is_finished(&self->hcp));
    }
    self->last_ms = weft_clock_ms();
    /* Then silence: the copy ends by itself. */
    WEFT_AWAIT(&self->hcp.base);
    assert_int_equal(self->hcp.result, 0);
    assert_int_equal(self->cp.result, -ETIMEDOUT);
    assert_int_equal(self->cp.a_to_b, TICKS / 2);
    assert_int_equal(self->cp.b_to_a, TICKS / 2);
    assert_true(self->end_ms - self->last_ms >= IDLE_MS - 1); /* never early */
    /* The streams are untouched: they still carry bytes. */
    WEFT_AWAIT(weft_write_all_init(&self->w, self->p.c, "z", 1));
    WEFT_AWAIT(weft_read_init(&self->rd, self->p.a, self->buf, sizeof self->buf));
    assert_int_equal(self->rd.result, 1);
    pairs_close(&self->p);
    WEFT_END();
}

static void test_idle_timeout(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    idle_case *c = calloc(1, sizeof *c);
    idle_case_start(c);
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
}

/* ---- a buffered destination is flushed while the copy waits ------------------------------- */

typedef struct flush_case {
    WEFT_CORO_FIELDS;
    pairs p;
    weft_bufwriter bw;
    weft_copy_bidirectional cp;
    weft_join_handle hcp;
    weft_write_all w;
    weft_read_exact rx;
    weft_flush sh;
    unsigned char buf[16];
} flush_case;

typedef struct copy_only {
    WEFT_CORO_FIELDS;
    weft_copy_bidirectional *cp;
    int result;
} copy_only;

WEFT_ASYNC(copy_only, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(&self->cp->base);
    self->result = self->cp->result;
    WEFT_END();
}

WEFT_ASYNC(flush_case, NULL) {
    WEFT_BEGIN();
    pairs_start(&self->p);
    self->p.kind = UNIX_PAIRS;
    WEFT_AWAIT(&self->p.base);
    /* b is a buffered writer over the socket (reads pass through). */
    assert_int_equal(weft_bufwriter_init(&self->bw, self->p.b, NULL, 4096), 0);
    weft_copy_bidirectional_init(&self->cp, self->p.a, &self->bw.stream, NULL);
    {
        copy_only t;
        copy_only_start(&t);
        t.cp = &self->cp;
        self->hcp = WEFT_SPAWN(cx->runtime, &t, result, NULL);
    }
    /* Ten bytes reach the server although the buffer is far from full. */
    WEFT_AWAIT(weft_write_all_init(&self->w, self->p.c, "0123456789", 10));
    WEFT_AWAIT(weft_read_exact_init(&self->rx, self->p.s, self->buf, 10));
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->buf, "0123456789", 10);
    /* And back, then both sides close. */
    WEFT_AWAIT(weft_write_all_init(&self->w, self->p.s, "ab", 2));
    WEFT_AWAIT(weft_read_exact_init(&self->rx, self->p.c, self->buf, 2));
    assert_memory_equal(self->buf, "ab", 2);
    WEFT_AWAIT(weft_shutdown_init(&self->sh, self->p.c));
    WEFT_AWAIT(weft_shutdown_init(&self->sh, self->p.s));
    WEFT_AWAIT(&self->hcp.base);
    assert_int_equal(self->cp.result, 0);
    assert_int_equal(self->cp.a_to_b, 10);
    assert_int_equal(self->cp.b_to_a, 2);
    weft_bufwriter_destroy(&self->bw);
    pairs_close(&self->p);
    WEFT_END();
}

static void test_buffered_destination_flushed(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    flush_case *c = calloc(1, sizeof *c);
    flush_case_start(c);
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
}

/* ---- dropped in the middle; bad streams ------------------------------------------------- */

typedef struct drop_case {
    WEFT_CORO_FIELDS;
    pairs p;
    weft_copy_bidirectional cp;
    weft_copy_bidirectional_options o;
    weft_timeout t;
    weft_write_all w;
    weft_read rd;
    weft_stream empty;
    unsigned char buf[64];
} drop_case;

WEFT_ASYNC(drop_case, NULL) {
    WEFT_BEGIN();
    pairs_start(&self->p);
    self->p.kind = TCP_PAIRS;
    WEFT_AWAIT(&self->p.base);
    WEFT_AWAIT(weft_write_all_init(&self->w, self->p.c, "hello", 5));
    /* The copy runs with an idle timer armed, and is dropped by a timeout. */
    self->o.idle_timeout_ms = 60000;
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.b, &self->o), 50));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_int_equal(self->cp.a_to_b, 5); /* the counts stay valid after a drop */
    WEFT_AWAIT(weft_read_init(&self->rd, self->p.s, self->buf, sizeof self->buf));
    assert_int_equal(self->rd.result, 5);
    /* Bad streams. */
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, NULL, self->p.b, NULL));
    assert_int_equal(self->cp.result, -EINVAL);
    self->empty.vt = NULL;
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, self->p.a, &self->empty, NULL));
    assert_int_equal(self->cp.result, -EBADF);
    weft_tcp_stream_close(&self->p.t[2]);
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.b, NULL));
    assert_int_equal(self->cp.result, -EBADF);
    /* A buffer size that cannot be allocated. */
    self->o = (weft_copy_bidirectional_options){.buf_size = SIZE_MAX / 2 + 1};
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, self->p.a, self->p.c, &self->o));
    assert_int_equal(self->cp.result, -ENOMEM);
    pairs_close(&self->p);
    WEFT_END();
}

static void test_dropped_and_bad_streams(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    drop_case *c = calloc(1, sizeof *c);
    drop_case_start(c);
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_close_client_first),
        cmocka_unit_test(test_half_close_server_first),
        cmocka_unit_test(test_reset_mid_copy),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_buffered_destination_flushed),
        cmocka_unit_test(test_dropped_and_bad_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
