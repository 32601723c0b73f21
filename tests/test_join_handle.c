/* Join handles and spawn: output, abort (before the first poll, while
 * pending, after completion), detach, runtime shutdown, 1,000,000 tasks,
 * spawns from other threads.  weft-test: threaded  weft-test: timeout=300 */
#include "support.h"

typedef struct value_task {
    weft_future base;
    int v, out;
    int *drops;
} value_task;

static weft_poll value_poll(weft_future *f, weft_context *cx) {
    value_task *t = (value_task *)f;
    t->out = t->v * 10;
    return WEFT_READY;
}
static void value_drop(weft_future *f) {
    value_task *t = (value_task *)f;
    if (t->drops) (*t->drops)++;
}
static const weft_future_vtable value_vtable = {value_poll, value_drop, "value_task"};

static void value_init(value_task *t, int v, int *drops) {
    weft_future_init(&t->base, &value_vtable);
    t->v = v;
    t->drops = drops;
}

/* ---- output; abort before first poll, while pending, after completion ---- */

typedef struct abort_cases {
    WEFT_CORO_FIELDS;
    value_task vt;
    gate g;
    gate_state *gs;
    int *drops;
    weft_join_handle h;
    int *out;
    int *results;
    weft_yield_now y;
} abort_cases;

WEFT_ASYNC(abort_cases, NULL) {
    WEFT_BEGIN();
    /* Output. */
    value_init(&self->vt, 7, self->drops);
    self->h = WEFT_SPAWN(cx->runtime, &self->vt, out, self->out);
    WEFT_AWAIT(&self->h.base);
    self->results[0] = self->h.result;

    /* Abort before the first poll: the future is dropped, never polled. */
    value_init(&self->vt, 8, self->drops);
    self->h = WEFT_SPAWN(cx->runtime, &self->vt, out, self->out);
    weft_join_handle_abort(&self->h);
    WEFT_AWAIT(&self->h.base);
    self->results[1] = self->h.result;

    /* Abort while pending. */
    gate_init(&self->g, self->gs);
    self->h = WEFT_SPAWN(cx->runtime, &self->g, out, self->out);
    while (atomic_load(&self->gs->polls) == 0) WEFT_AWAIT(weft_yield_now_init(&self->y));
    weft_join_handle_abort(&self->h);
    weft_join_handle_abort(&self->h); /* idempotent */
    WEFT_AWAIT(&self->h.base);
    self->results[2] = self->h.result;

    /* Abort after completion: no effect, output delivered. */
    value_init(&self->vt, 9, self->drops);
    self->h = WEFT_SPAWN(cx->runtime, &self->vt, out, self->out);
    while (!weft_join_handle_is_finished(&self->h)) WEFT_AWAIT(weft_yield_now_init(&self->y));
    weft_join_handle_abort(&self->h);
    WEFT_AWAIT(&self->h.base);
    self->results[3] = self->h.result;
    WEFT_END();
}

static void test_output_and_abort(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single();
    gate_state gs;
    gate_state_init(&gs);
    int drops = 0, out = 0, results[4] = {1, 1, 1, 1};
    abort_cases a;
    abort_cases_start(&a);
    a.gs = &gs;
    a.drops = &drops;
    a.out = &out;
    a.results = results;
    assert_int_equal(run_as_task(rt, &a, sizeof a), 0);
    assert_int_equal(results[0], 0);
    assert_int_equal(results[1], -ECANCELED);
    assert_int_equal(results[2], -ECANCELED);
    assert_int_equal(results[3], 0);
    assert_int_equal(out, 90);
    assert_int_equal(drops, 1);                 /* only the task aborted before its poll */
    assert_int_equal(atomic_load(&gs.drops), 1); /* the pending gate, exactly once */
    assert_int_equal(atomic_load(&gs.polls), 1);
    weft_runtime_destroy(rt);
    gate_state_destroy(&gs);
}

/* ---- detach; shutdown drops every unfinished task exactly once ----------- */

typedef struct detacher {
    WEFT_CORO_FIELDS;
    gate_state *gs;
    gate g;
    value_task vt;
    int *drops;
    int i;
    weft_join_handle kept;
} detacher;

WEFT_ASYNC(detacher, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 100; self->i++) {
        gate_init(&self->g, self->gs);
        weft_join_handle h = WEFT_SPAWN(cx->runtime, &self->g, out, NULL);
        weft_join_handle_detach(&h);
        value_init(&self->vt, self->i, self->drops);
        WEFT_SPAWN_DETACHED(cx->runtime, &self->vt);
    }
    gate_init(&self->g, self->gs);
    self->kept = WEFT_SPAWN(cx->runtime, &self->g, out, NULL);
    while (atomic_load(&self->gs->polls) < 101) WEFT_YIELD();
    WEFT_END();
}

static void test_detach_and_shutdown(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_state gs;
    gate_state_init(&gs);
    int drops = 0;
    detacher d;
    detacher_start(&d);
    d.gs = &gs;
    d.drops = &drops;
    assert_int_equal(weft_block_on(rt, &d.base), 0);
    assert_int_equal(drops, 0); /* the value tasks completed; nothing dropped */
    assert_false(weft_join_handle_is_finished(&d.kept));
    weft_runtime_destroy(rt); /* 101 gates still pending: each dropped once */
    assert_int_equal(atomic_load(&gs.drops), 101);
    assert_true(weft_join_handle_is_finished(&d.kept));
    /* The handle outlives the runtime: it reports the cancellation. */
    weft_context cx = weft_context_make(weft_waker_noop());
    assert_int_equal(weft_future_poll(&d.kept.base, &cx), WEFT_READY);
    assert_int_equal(d.kept.result, -ECANCELED);
    gate_state_destroy(&gs);
}

/* A future whose drop tries to spawn: during shutdown the spawn is refused
 * with -ESHUTDOWN and the new future is dropped, not leaked. */
typedef struct spawn_in_drop {
    weft_future base;
    weft_runtime *rt;
    int *result;
    int *inner_drops;
} spawn_in_drop;

static weft_poll pending_poll(weft_future *f, weft_context *cx) {
    ((spawn_in_drop *)f)->rt = cx->runtime;
    return WEFT_PENDING;
}
static void spawn_in_drop_drop(weft_future *f) {
    spawn_in_drop *s = (spawn_in_drop *)f;
    value_task vt;
    value_init(&vt, 1, s->inner_drops);
    weft_join_handle h = WEFT_SPAWN(s->rt, &vt, out, NULL);
    *s->result = h.result;
    weft_future_drop(&h.base);
}
static const weft_future_vtable spawn_in_drop_vtable = {pending_poll, spawn_in_drop_drop,
                                                        "spawn_in_drop"};

typedef struct spawn_once {
    WEFT_CORO_FIELDS;
    spawn_in_drop sd;
    weft_yield_now y;
} spawn_once;

WEFT_ASYNC(spawn_once, NULL) {
    WEFT_BEGIN();
    WEFT_SPAWN_DETACHED(cx->runtime, &self->sd);
    WEFT_AWAIT(weft_yield_now_init(&self->y));
    WEFT_END();
}

static void test_spawn_during_shutdown(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    int result = 1, inner_drops = 0;
    spawn_once so;
    spawn_once_start(&so);
    weft_future_init(&so.sd.base, &spawn_in_drop_vtable);
    so.sd.rt = rt; /* on multi_thread it may be dropped before its first poll */
    so.sd.result = &result;
    so.sd.inner_drops = &inner_drops;
    assert_int_equal(weft_block_on(rt, &so.base), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(result, -ESHUTDOWN);
    assert_int_equal(inner_drops, 1);
}

/* ---- 1,000,000 tasks run and are freed ------------------------------------ */

typedef struct million {
    WEFT_CORO_FIELDS;
    value_task vt;
    weft_join_handle *handles;
    int out;
    long sum;
    int i;
} million;

#define MILLION 1000000

WEFT_ASYNC(million, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < MILLION; self->i++) {
        value_init(&self->vt, self->i % 7, NULL);
        self->handles[self->i] = WEFT_SPAWN(cx->runtime, &self->vt, out, &self->out);
    }
    self->sum = 0;
    for (self->i = 0; self->i < MILLION; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        self->sum += self->out;
    }
    WEFT_END();
}

static void test_million_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    million m;
    million_start(&m);
    m.handles = malloc(sizeof(weft_join_handle) * MILLION);
    assert_int_equal(weft_block_on(rt, &m.base), 0);
    long expect = 0;
    for (int i = 0; i < MILLION; i++) expect += (i % 7) * 10;
    assert_int_equal(m.sum, expect);
    weft_runtime_stats st;
    weft_runtime_stats_get(rt, &st);
    assert_int_equal(st.tasks_spawned, MILLION);
    assert_int_equal(st.tasks_completed, MILLION);
    free(m.handles);
    weft_runtime_destroy(rt); /* LeakSanitizer checks every task was freed */
}

/* ---- spawns from other threads -------------------------------------------- */

typedef struct remote_ctx {
    weft_runtime *rt;
    atomic_int *done;
    int n;
} remote_ctx;

typedef struct bump {
    weft_future base;
    atomic_int *done;
} bump;
static weft_poll bump_poll(weft_future *f, weft_context *cx) {
    atomic_fetch_add(((bump *)f)->done, 1);
    return WEFT_READY;
}
static const weft_future_vtable bump_vtable = {bump_poll, NULL, "bump"};

static void *remote_spawner(void *p) {
    remote_ctx *rc = p;
    for (int i = 0; i < rc->n; i++) {
        bump b;
        weft_future_init(&b.base, &bump_vtable);
        b.done = rc->done;
        WEFT_SPAWN_DETACHED(rc->rt, &b);
    }
    return NULL;
}

typedef struct wait_count {
    WEFT_CORO_FIELDS;
    atomic_int *done;
    int target;
    weft_sleep s;
} wait_count;

WEFT_ASYNC(wait_count, NULL) {
    WEFT_BEGIN();
    while (atomic_load(self->done) < self->target) WEFT_AWAIT(weft_sleep_init(&self->s, 1));
    WEFT_END();
}

static void test_spawn_from_threads(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    atomic_int done = 0;
    enum { THREADS = 4, PER = 20000 };
    remote_ctx rc = {rt, &done, PER};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, remote_spawner, &rc);
    wait_count w;
    wait_count_start(&w);
    w.done = &done;
    w.target = THREADS * PER;
    assert_int_equal(weft_block_on(rt, &w.base), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&done), THREADS * PER);
    weft_runtime_destroy(rt);
}

/* block_on inside a task is refused with -EDEADLK. */
static weft_poll nested_block_on(void *p, weft_context *cx) {
    value_task vt;
    value_init(&vt, 1, NULL);
    *(int *)p = weft_block_on(cx->runtime, &vt.base);
    return WEFT_READY;
}

static void test_block_on_inside_runtime(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    int rc = 0;
    weft_poll_fn pf;
    weft_poll_fn_init(&pf, nested_block_on, &rc, NULL);
    assert_int_equal(weft_block_on(rt, &pf.base), 0);
    assert_int_equal(rc, -EDEADLK);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_abort),
        cmocka_unit_test(test_detach_and_shutdown),
        cmocka_unit_test(test_spawn_during_shutdown),
        cmocka_unit_test(test_million_tasks),
        cmocka_unit_test(test_spawn_from_threads),
        cmocka_unit_test(test_block_on_inside_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
