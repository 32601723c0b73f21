/* Task trackers: close before and after the tasks finish, tasks spawned
 * while a wait is pending (from tasks and from other threads), aborted
 * tasks and a destroyed runtime count out, outputs and their destructors,
 * spawn_blocking, failed spawns, a tracker destroyed before its tasks,
 * the misuse check.  weft-test: threaded */
#include <pthread.h>

#include "sync_support.h"

static void test_close_and_wait(void **state) {
    (void)state;
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    assert_int_equal(weft_task_tracker_create(NULL), -EINVAL);
    hand h = {0};
    weft_task_tracker_wait w;
    weft_task_tracker_wait_init(&w, t);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_PENDING); /* open: not done even when empty */
    assert_false(weft_task_tracker_is_closed(t));
    assert_true(weft_task_tracker_close(t));
    assert_false(weft_task_tracker_close(t));
    assert_true(weft_task_tracker_is_closed(t));
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    assert_int_equal(w.result, 0);
    /* Closed and empty: ready at once. */
    weft_task_tracker_wait_init(&w, t);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    /* Reopened: waits again; a dropped wait leaves. */
    assert_true(weft_task_tracker_reopen(t));
    assert_false(weft_task_tracker_reopen(t));
    weft_task_tracker_wait_init(&w, t);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_PENDING);
    weft_future_drop(&w.base);
    weft_task_tracker_close(t);
    assert_int_equal(hand_wakes(&h), 0);
    hand_check_balanced(&h);
    /* NULL. */
    weft_task_tracker_wait_init(&w, NULL);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    assert_int_equal(w.result, -EINVAL);
    assert_false(weft_task_tracker_close(NULL));
    assert_int_equal(weft_task_tracker_len(NULL), 0);
    weft_task_tracker_destroy(t);
    weft_task_tracker_destroy(NULL);
}

/* ---- tracked tasks ------------------------------------------------------------------ */

typedef struct gated {
    WEFT_CORO_FIELDS;
    gate_state *gs;
    gate g;
    atomic_int *finished;
    int out;
} gated;

WEFT_ASYNC(gated, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, self->gs));
    atomic_fetch_add(self->finished, 1);
    self->out = self->g.out + 1;
    WEFT_END();
}

static weft_join_handle spawn_gated(weft_task_tracker *t, weft_runtime *rt, gate_state *gs,
                                    atomic_int *finished, int *dst) {
    gated g;
    memset(&g, 0, sizeof g);
    gated_start(&g);
    g.gs = gs;
    g.finished = finished;
    return WEFT_TRACKER_SPAWN(t, rt, &g, out, dst);
}

typedef struct opener {
    gate_state *gs;
    int n;
} opener;

static void *open_all(void *arg) {
    opener *o = arg;
    for (int i = o->n - 1; i >= 0; i--) {
        if (i % 7 == 0) usleep(200);
        gate_open(&o->gs[i]);
    }
    return NULL;
}

typedef struct close_first {
    WEFT_CORO_FIELDS;
    weft_task_tracker *t;
    gate_state *gs;
    int n;
    atomic_int *finished;
    weft_join_handle *h;
    int *outs;
    weft_task_tracker_wait w;
    pthread_t th;
    opener o;
    int i;
} close_first;

WEFT_ASYNC(close_first, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++)
        self->h[self->i] = spawn_gated(self->t, cx->runtime, &self->gs[self->i], self->finished,
                                       &self->outs[self->i]);
    assert_int_equal(weft_task_tracker_len(self->t), self->n);
    weft_task_tracker_close(self->t);
    self->o = (opener){self->gs, self->n};
    pthread_create(&self->th, NULL, open_all, &self->o);
    WEFT_AWAIT(weft_task_tracker_wait_init(&self->w, self->t));
    /* Every task had finished when the wait completed. */
    assert_int_equal(atomic_load(self->finished), self->n);
    assert_int_equal(weft_task_tracker_len(self->t), 0);
    pthread_join(self->th, NULL);
    for (self->i = 0; self->i < self->n; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
        assert_int_equal(self->outs[self->i], 43);
    }
    WEFT_END();
}

static void test_close_before_tasks_finish(void **state) {
    (void)state;
    enum { N = 300 };
    for (int round = 0; round < 5; round++) {
        weft_runtime *rt = rt_new();
        weft_task_tracker *t;
        assert_int_equal(weft_task_tracker_create(&t), 0);
        gate_state *gs = calloc(N, sizeof *gs);
        for (int i = 0; i < N; i++) gate_state_init(&gs[i]);
        weft_join_handle *h = calloc(N, sizeof *h);
        int *outs = calloc(N, sizeof *outs);
        atomic_int finished = 0;
        close_first c;
        close_first_start(&c);
        c.t = t, c.gs = gs, c.n = N, c.finished = &finished, c.h = h, c.outs = outs;
        assert_int_equal(weft_block_on(rt, &c.base), 0);
        weft_runtime_destroy(rt);
        weft_task_tracker_destroy(t);
        for (int i = 0; i < N; i++) gate_state_destroy(&gs[i]);
        free(gs);
        free(h);
        free(outs);
    }
}

typedef struct quick {
    WEFT_CORO_FIELDS;
    int out;
} quick;

WEFT_ASYNC(quick, NULL) {
    WEFT_BEGIN();
    self->out = 7;
    WEFT_END();
}

typedef struct close_after {
    WEFT_CORO_FIELDS;
    weft_task_tracker *t;
    weft_join_handle h[10];
    weft_task_tracker_wait w;
    weft_select sel;
    weft_future *kids[2];
    weft_yield_now y;
    int i;
} close_after;

WEFT_ASYNC(close_after, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 10; self->i++) {
        quick q;
        quick_start(&q);
        self->h[self->i] = WEFT_TRACKER_SPAWN(self->t, cx->runtime, &q, out, NULL);
    }
    for (self->i = 0; self->i < 10; self->i++) WEFT_AWAIT(&self->h[self->i].base);
    assert_int_equal(weft_task_tracker_len(self->t), 0);
    /* Empty but open: the wait does not complete (a yield wins the select). */
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           weft_task_tracker_wait_init(&self->w, self->t),
                           weft_yield_now_init(&self->y)));
    assert_int_equal(self->sel.winner, 1);
    weft_task_tracker_close(self->t);
    WEFT_AWAIT(weft_task_tracker_wait_init(&self->w, self->t));
    assert_int_equal(self->w.result, 0);
    WEFT_END();
}

static void test_close_after_tasks_finish(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    close_after c;
    close_after_start(&c);
    c.t = t;
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    weft_task_tracker_destroy(t);
}

/* ---- tasks spawned while a wait is pending ---------------------------------------------- */

typedef struct spawner {
    WEFT_CORO_FIELDS;
    weft_task_tracker *t;
    int depth;
    atomic_int *finished;
    weft_yield_now y;
} spawner;

WEFT_ASYNC(spawner, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_yield_now_init(&self->y));
    if (self->depth > 0) {
        /* Two children, spawned through the (closed) tracker before this
         * task finishes: the wait must cover them too. */
        for (int k = 0; k < 2; k++) {
            spawner s;
            spawner_start(&s);
            s.t = self->t;
            s.depth = self->depth - 1;
            s.finished = self->finished;
            WEFT_TRACKER_SPAWN_DETACHED(self->t, cx->runtime, &s);
        }
    }
    WEFT_AWAIT(weft_yield_now_init(&self->y));
    atomic_fetch_add(self->finished, 1);
    WEFT_END();
}

typedef struct spawn_while_waiting {
    WEFT_CORO_FIELDS;
    weft_task_tracker *t;
    atomic_int *finished;
    weft_task_tracker_wait w;
} spawn_while_waiting;

WEFT_ASYNC(spawn_while_waiting, NULL) {
    WEFT_BEGIN();
    {
        spawner s;
        spawner_start(&s);
        s.t = self->t;
        s.depth = 9; /* 2^10 - 1 tasks in all */
        s.finished = self->finished;
        WEFT_TRACKER_SPAWN_DETACHED(self->t, cx->runtime, &s);
    }
    weft_task_tracker_close(self->t);
    WEFT_AWAIT(weft_task_tracker_wait_init(&self->w, self->t));
    assert_int_equal(atomic_load(self->finished), 1023);
    WEFT_END();
}

static void test_spawned_while_waiting(void **state) {
    (void)state;
    for (int round = 0; round < 10; round++) {
        weft_runtime *rt = rt_new();
        weft_task_tracker *t;
        assert_int_equal(weft_task_tracker_create(&t), 0);
        atomic_int finished = 0;
        spawn_while_waiting s;
        spawn_while_waiting_start(&s);
        s.t = t;
        s.finished = &finished;
        assert_int_equal(weft_block_on(rt, &s.base), 0);
        weft_runtime_destroy(rt);
        weft_task_tracker_destroy(t);
    }
}

/* Plain threads spawn into a closed tracker while a plain thread waits. */
typedef struct outside {
    weft_task_tracker *t;
    weft_runtime *rt;
    gate_state *gs;
    atomic_int *finished;
    int n;
} outside;

static void *spawn_from_outside(void *arg) {
    outside *o = arg;
    for (int i = 0; i < o->n; i++) {
        weft_join_handle h = spawn_gated(o->t, o->rt, &o->gs[i], o->finished, NULL);
        weft_join_handle_detach(&h);
        gate_open(&o->gs[i]);
    }
    return NULL;
}

static void *wait_from_outside(void *arg) {
    weft_task_tracker_wait w;
    weft_task_tracker_wait_init(&w, arg);
    return (void *)(uintptr_t)(weft_wait_blocking(&w.base) == 0 && w.result == 0);
}

static void test_spawn_from_threads(void **state) {
    (void)state;
    enum { THREADS = 3, N = 300 };
    for (int round = 0; round < 20; round++) {
        weft_runtime *rt = rt_new();
        weft_task_tracker *t;
        assert_int_equal(weft_task_tracker_create(&t), 0);
        atomic_int finished = 0;
        static gate_state gs[THREADS][N];
        outside o[THREADS];
        /* A first task keeps the tracker busy until every spawner is done. */
        gate_state hold;
        gate_state_init(&hold);
        weft_join_handle hh = spawn_gated(t, rt, &hold, &finished, NULL);
        weft_task_tracker_close(t);
        pthread_t waiter, th[THREADS];
        pthread_create(&waiter, NULL, wait_from_outside, t); /* a plain thread waits */
        for (int k = 0; k < THREADS; k++) {
            for (int i = 0; i < N; i++) gate_state_init(&gs[k][i]);
            o[k] = (outside){t, rt, gs[k], &finished, N};
            pthread_create(&th[k], NULL, spawn_from_outside, &o[k]);
        }
        for (int k = 0; k < THREADS; k++) pthread_join(th[k], NULL);
        gate_open(&hold);
        /* This thread runs the runtime (current_thread needs one) until the
         * first task is done; then the tracker drains. */
        assert_int_equal(weft_block_on(rt, &hh.base), 0);
        weft_task_tracker_wait w;
        weft_task_tracker_wait_init(&w, t);
        assert_int_equal(weft_block_on(rt, &w.base), 0);
        void *ok;
        pthread_join(waiter, &ok);
        assert_true(ok != NULL);
        assert_int_equal(atomic_load(&finished), THREADS * N + 1);
        weft_runtime_destroy(rt);
        weft_task_tracker_destroy(t);
        gate_state_destroy(&hold);
        for (int k = 0; k < THREADS; k++)
            for (int i = 0; i < N; i++) gate_state_destroy(&gs[k][i]);
    }
}

/* ---- aborts, runtime shutdown, outputs ------------------------------------------------ */

typedef struct aborter {
    WEFT_CORO_FIELDS;
    weft_task_tracker *t;
    gate_state gs[20];
    weft_join_handle h[20];
    atomic_int finished;
    weft_task_tracker_wait w;
    int i;
} aborter;

WEFT_ASYNC(aborter, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 20; self->i++)
        self->h[self->i] = spawn_gated(self->t, cx->runtime, &self->gs[self->i], &self->finished, NULL);
    weft_task_tracker_close(self->t);
    for (self->i = 0; self->i < 20; self->i++) {
        if (self->i % 2) gate_open(&self->gs[self->i]);
        else weft_join_handle_abort(&self->h[self->i]);
    }
    WEFT_AWAIT(weft_task_tracker_wait_init(&self->w, self->t));
    for (self->i = 0; self->i < 20; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, self->i % 2 ? 0 : -ECANCELED);
    }
    assert_int_equal(atomic_load(&self->finished), 10);
    WEFT_END();
}

static void test_aborted_tasks_count_out(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    aborter *a = calloc(1, sizeof *a);
    aborter_start(a);
    a->t = t;
    for (int i = 0; i < 20; i++) gate_state_init(&a->gs[i]);
    assert_int_equal(weft_block_on(rt, &a->base), 0);
    weft_runtime_destroy(rt);
    for (int i = 0; i < 20; i++) gate_state_destroy(&a->gs[i]);
    free(a);
    weft_task_tracker_destroy(t);
}

static atomic_int g_out_drops;
static void free_out(void *p) {
    free(*(void **)p);
    atomic_fetch_add(&g_out_drops, 1);
}

typedef struct owner {
    WEFT_CORO_FIELDS;
    gate_state *gs;
    gate g;
    void *out;
} owner;

WEFT_ASYNC(owner, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, self->gs));
    self->out = malloc(32);
    WEFT_END();
}

static void test_runtime_destroyed_and_outputs(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    atomic_store(&g_out_drops, 0);
    gate_state open_gs, shut_gs;
    gate_state_init(&open_gs);
    gate_state_init(&shut_gs);
    gate_open(&open_gs);
    /* Outputs: one joined (ours), one detached (destroyed by weft), and
     * tasks that never finish (dropped by the runtime's destruction). */
    void *mine = NULL;
    owner o;
    memset(&o, 0, sizeof o);
    owner_start(&o);
    o.gs = &open_gs;
    weft_join_handle joined = WEFT_TRACKER_SPAWN_WITH_DROP(t, rt, &o, out, &mine, free_out);
    owner_start(&o);
    weft_join_handle detached = WEFT_TRACKER_SPAWN_WITH_DROP(t, rt, &o, out, NULL, free_out);
    weft_join_handle_detach(&detached);
    for (int i = 0; i < 5; i++) {
        owner_start(&o);
        o.gs = &shut_gs;
        weft_join_handle h = WEFT_TRACKER_SPAWN_WITH_DROP(t, rt, &o, out, NULL, free_out);
        weft_join_handle_detach(&h);
    }
    assert_int_equal(weft_block_on(rt, &joined.base), 0);
    assert_int_equal(joined.result, 0);
    assert_non_null(mine);
    free(mine);
    /* Run the runtime until the detached task is done too. */
    while (weft_task_tracker_len(t) > 5) {
        weft_yield_now y;
        assert_int_equal(weft_block_on(rt, weft_yield_now_init(&y)), 0);
    }
    assert_int_equal(weft_task_tracker_len(t), 5);
    weft_runtime_destroy(rt); /* drops the five waiting tasks */
    assert_int_equal(weft_task_tracker_len(t), 0);
    assert_int_equal(atomic_load(&g_out_drops), 1); /* the detached output, exactly once */
    weft_task_tracker_close(t);
    hand h = {0};
    weft_task_tracker_wait w;
    weft_task_tracker_wait_init(&w, t);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    weft_task_tracker_destroy(t);
    gate_state_destroy(&open_gs);
    gate_state_destroy(&shut_gs);
}

/* ---- failed spawns ---------------------------------------------------------------- */

static atomic_int g_arg_drops, g_calls, g_started, g_release;

static void arg_free(void *p) {
    free(p);
    atomic_fetch_add(&g_arg_drops, 1);
}

static void *blocking_fn(void *p) {
    atomic_store(&g_started, 1);
    while (!atomic_load(&g_release)) usleep(100);
    free(p);
    atomic_fetch_add(&g_calls, 1);
    return (void *)42;
}

#define WEFT_SPAWN_BLOCKING_TRACKED(t, rt, fn, arg, arg_drop, dst) \
    weft__join_handle_with_out(weft_task_tracker_spawn_blocking((t), (rt), (fn), (arg), (arg_drop)), (dst))

static void test_failed_spawns(void **state) {
    (void)state;
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    gate_state gs;
    gate_state_init(&gs);
    gate g;
    gate_init(&g, &gs);
    weft_join_handle h = WEFT_TRACKER_SPAWN(t, NULL, &g, out, NULL);
    assert_int_equal(h.result, -EINVAL);
    assert_int_equal(atomic_load(&gs.drops), 1); /* the future was dropped */
    assert_int_equal(weft_task_tracker_len(t), 0);

    weft_runtime *rt = rt_new();
    weft_runtime *ref = weft_runtime_ref(rt);
    gate_init(&g, &gs);
    h = WEFT_TRACKER_SPAWN(NULL, rt, &g, out, NULL);
    assert_int_equal(h.result, -EINVAL);
    weft_runtime_destroy(rt);
    gate_init(&g, &gs);
    h = WEFT_TRACKER_SPAWN(t, ref, &g, out, NULL);
    assert_int_equal(h.result, -ESHUTDOWN);
    assert_int_equal(atomic_load(&gs.drops), 3);
    assert_int_equal(weft_task_tracker_len(t), 0);
    /* A blocking call on a runtime that is gone, or without a function:
     * arg_drop runs, nothing is counted. */
    atomic_store(&g_arg_drops, 0);
    h = weft_task_tracker_spawn_blocking(t, ref, blocking_fn, malloc(8), arg_free);
    assert_int_equal(h.result, -ESHUTDOWN);
    h = weft_task_tracker_spawn_blocking(t, ref, NULL, malloc(8), arg_free);
    assert_int_equal(h.result, -EINVAL);
    h = weft_task_tracker_spawn_blocking(NULL, ref, blocking_fn, malloc(8), arg_free);
    assert_int_equal(h.result, -EINVAL);
    assert_int_equal(atomic_load(&g_arg_drops), 3);
    assert_int_equal(weft_task_tracker_len(t), 0);
    weft_runtime_unref(ref);
    gate_state_destroy(&gs);
    weft_task_tracker_destroy(t);
}

/* ---- spawn_blocking ------------------------------------------------------------------ */

static void test_spawn_blocking(void **state) {
    (void)state;
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 1; /* one pool thread: the second call queues behind the first */
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    atomic_store(&g_arg_drops, 0);
    atomic_store(&g_calls, 0);
    atomic_store(&g_release, 0);
    void *r1 = NULL;
    weft_join_handle h1 = WEFT_SPAWN_BLOCKING_TRACKED(t, rt, blocking_fn, malloc(8), arg_free, &r1);
    weft_join_handle h2 = weft_task_tracker_spawn_blocking(t, rt, blocking_fn, malloc(8), arg_free);
    assert_int_equal(weft_task_tracker_len(t), 2);
    while (!atomic_load(&g_started)) usleep(100); /* the first call runs; the second is queued */
    weft_join_handle_abort(&h2); /* cancelled before it starts (seen when the pool reaches it) */
    weft_task_tracker_close(t);
    hand h = {0};
    weft_task_tracker_wait w;
    weft_task_tracker_wait_init(&w, t);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_PENDING); /* the first still runs */
    atomic_store(&g_release, 1);
    assert_int_equal(weft_wait_blocking(&h1.base), 0);
    assert_ptr_equal(r1, (void *)42);
    assert_int_equal(weft_wait_blocking(&h2.base), 0);
    assert_int_equal(h2.result, -ECANCELED);
    assert_int_equal(atomic_load(&g_arg_drops), 1);
    /* The call had returned when the tracker let the wait go. */
    while (hand_wakes(&h) == 0) usleep(100);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    assert_int_equal(atomic_load(&g_calls), 1);
    hand_check_balanced(&h);
    weft_runtime_destroy(rt);
    weft_task_tracker_destroy(t);
}

/* ---- destroyed before its tasks, and the misuse check ------------------------------------ */

static void test_destroyed_before_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_state gs[50];
    atomic_int finished = 0;
    weft_join_handle h[50];
    weft_task_tracker *t;
    assert_int_equal(weft_task_tracker_create(&t), 0);
    for (int i = 0; i < 50; i++) {
        gate_state_init(&gs[i]);
        h[i] = spawn_gated(t, rt, &gs[i], &finished, NULL);
    }
    weft_task_tracker_destroy(t); /* the tasks keep what they need */
    for (int i = 0; i < 50; i++) gate_open(&gs[i]);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(weft_block_on(rt, &h[i].base), 0);
        assert_int_equal(h[i].result, 0);
    }
    assert_int_equal(atomic_load(&finished), 50);
    weft_runtime_destroy(rt);
    for (int i = 0; i < 50; i++) gate_state_destroy(&gs[i]);
}

static void destroy_waited_on(void) {
    weft_task_tracker *t;
    weft_task_tracker_create(&t);
    hand h = {0};
    weft_task_tracker_wait w;
    weft_task_tracker_wait_init(&w, t);
    hand_poll(&h, &w.base);
    weft_task_tracker_destroy(t);
}

static void test_misuse(void **state) {
    (void)state;
    expect_misuse(destroy_waited_on, "weft_task_tracker_destroy");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_and_wait),
        cmocka_unit_test(test_close_before_tasks_finish),
        cmocka_unit_test(test_close_after_tasks_finish),
        cmocka_unit_test(test_spawned_while_waiting),
        cmocka_unit_test(test_spawn_from_threads),
        cmocka_unit_test(test_aborted_tasks_count_out),
        cmocka_unit_test(test_runtime_destroyed_and_outputs),
        cmocka_unit_test(test_failed_spawns),
        cmocka_unit_test(test_spawn_blocking),
        cmocka_unit_test(test_destroyed_before_tasks),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
