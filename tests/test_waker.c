/* Wakers: balance, idempotence, wakes during a poll, wakes after completion,
 * wakes from other threads.  weft-test: threaded */
#include "support.h"

/* ---- hand-polled: clone and drop are balanced --------------------------- */

static void test_clone_drop_balanced(void **state) {
    (void)state;
    counting_waker cw = {0};
    gate_state gs;
    gate_state_init(&gs);
    gate g;
    gate_init(&g, &gs);
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    for (int i = 0; i < 5; i++) assert_int_equal(weft_future_poll(&g.base, &cx), WEFT_PENDING);
    /* The same waker is stored once: will_wake avoids re-cloning. */
    assert_int_equal(atomic_load(&cw.clones), 1);
    gate_open(&gs);
    assert_int_equal(atomic_load(&cw.wakes), 1);
    assert_int_equal(weft_future_poll(&g.base, &cx), WEFT_READY);
    assert_int_equal(atomic_load(&cw.clones), atomic_load(&cw.drops));
    gate_state_destroy(&gs);

    weft_waker n = weft_waker_noop();
    weft_waker n2 = weft_waker_clone(&n);
    assert_true(weft_waker_will_wake(&n, &n2));
    weft_waker_wake_by_ref(&n2);
    weft_waker_wake(n2);
    weft_waker_drop(n);
}

/* ---- many wakes before a poll give exactly one poll ---------------------- */

/* The poking runs in a task, so on a one-worker multi_thread runtime (as on
 * current_thread) the poked task cannot be polled between the pokes. */
typedef struct many_wakes {
    WEFT_CORO_FIELDS;
    gate_state *gs;
    weft_join_handle h;
    gate g;
    int out;
    int i;
    int *polls_after_pokes;
} many_wakes;

WEFT_ASYNC(many_wakes, NULL) {
    WEFT_BEGIN();
    gate_init(&self->g, self->gs);
    self->h = WEFT_SPAWN(cx->runtime, &self->g, out, &self->out);
    while (atomic_load(&self->gs->polls) == 0) WEFT_YIELD();
    assert_int_equal(atomic_load(&self->gs->polls), 1);
    for (self->i = 0; self->i < 1000; self->i++) gate_poke(self->gs);
    for (self->i = 0; self->i < 10; self->i++) WEFT_YIELD();
    *self->polls_after_pokes = atomic_load(&self->gs->polls);
    gate_open(self->gs);
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->h.result, 0);
    WEFT_END();
}

static void test_many_wakes_one_poll(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single();
    gate_state gs;
    gate_state_init(&gs);
    int polls_after_pokes = 0;
    many_wakes m;
    many_wakes_start(&m);
    m.gs = &gs;
    m.polls_after_pokes = &polls_after_pokes;
    assert_int_equal(run_as_task(rt, &m, sizeof m), 0);
    assert_int_equal(polls_after_pokes, 2);
    assert_int_equal(atomic_load(&gs.polls), 3);
    weft_runtime_destroy(rt);
    gate_state_destroy(&gs);
}

/* ---- a wake during a poll gives exactly one more poll --------------------- */

typedef struct self_waker {
    int polls;
    weft_waker kept; /* a clone kept past completion */
} self_waker;

static weft_poll self_waker_poll(void *p, weft_context *cx) {
    self_waker *s = p;
    s->polls++;
    if (s->polls == 1) {
        for (int i = 0; i < 3; i++) weft_waker_wake_by_ref(&cx->waker);
        weft_waker w = weft_waker_clone(&cx->waker);
        weft_waker_wake(w);
        return WEFT_PENDING;
    }
    if (s->polls == 2) {
        s->kept = weft_waker_clone(&cx->waker);
        return WEFT_READY;
    }
    return WEFT_READY;
}

typedef struct spawn_and_settle {
    WEFT_CORO_FIELDS;
    weft_poll_fn pf;
    weft_join_handle h;
    int i;
} spawn_and_settle;

WEFT_ASYNC(spawn_and_settle, NULL) {
    WEFT_BEGIN();
    self->h = WEFT_SPAWN(cx->runtime, &self->pf, state, NULL);
    WEFT_AWAIT(&self->h.base);
    for (self->i = 0; self->i < 10; self->i++) WEFT_YIELD();
    WEFT_END();
}

static void test_wake_during_poll_and_after_completion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    self_waker sw = {0, WEFT_WAKER_NONE};
    spawn_and_settle s;
    spawn_and_settle_start(&s);
    weft_poll_fn_init(&s.pf, self_waker_poll, &sw, NULL);
    assert_int_equal(weft_block_on(rt, &s.base), 0);
    assert_int_equal(sw.polls, 2);
    /* A wake after completion does nothing (and must not poll again). */
    weft_waker_wake_by_ref(&sw.kept);
    spawn_and_settle s2;
    spawn_and_settle_start(&s2);
    self_waker other = {1, WEFT_WAKER_NONE};
    weft_poll_fn_init(&s2.pf, self_waker_poll, &other, NULL);
    assert_int_equal(weft_block_on(rt, &s2.base), 0);
    assert_int_equal(sw.polls, 2);
    weft_waker_wake(sw.kept); /* consumes the last reference: the task is freed */
    weft_waker_drop(other.kept);
    weft_runtime_stats st;
    weft_runtime_stats_get(rt, &st);
    assert_int_equal(st.tasks_spawned, 2);
    assert_int_equal(st.tasks_completed, 2);
    weft_runtime_destroy(rt);
}

/* ---- wakes from another thread reach the task ---------------------------- */

typedef struct remote_opener {
    gate_state *gs;
    int rounds;
} remote_opener;

static void *open_from_thread(void *p) {
    gate_state *gs = p;
    usleep(1000);
    gate_open(gs);
    return NULL;
}

typedef struct await_gate {
    WEFT_CORO_FIELDS;
    gate_state *gs;
    gate g;
} await_gate;

WEFT_ASYNC(await_gate, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, self->gs));
    WEFT_END();
}

static void test_remote_wake(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    for (int round = 0; round < 200; round++) {
        gate_state gs;
        gate_state_init(&gs);
        await_gate a;
        await_gate_start(&a);
        a.gs = &gs;
        pthread_t th;
        pthread_create(&th, NULL, open_from_thread, &gs);
        assert_int_equal(weft_block_on(rt, &a.base), 0); /* parks until the thread wakes it */
        pthread_join(th, NULL);
        gate_state_destroy(&gs);
    }
    weft_runtime_destroy(rt);
}

/* A spawned task woken many times from another thread while the runtime
 * parks and runs: every wake either finds it notified or queues it once. */
typedef struct ping_state {
    atomic_int target, seen;
    weft_waker waker;
    pthread_mutex_t lock;
} ping_state;

static weft_poll counter_task_poll(void *p, weft_context *cx) {
    ping_state *ps = p;
    pthread_mutex_lock(&ps->lock);
    weft_waker_store(&ps->waker, &cx->waker);
    pthread_mutex_unlock(&ps->lock);
    int t = atomic_load(&ps->target);
    atomic_store(&ps->seen, t);
    return t >= 10000 ? WEFT_READY : WEFT_PENDING;
}

static void *waker_thread(void *p) {
    ping_state *ps = p;
    for (int i = 1; i <= 10000; i++) {
        atomic_store(&ps->target, i);
        pthread_mutex_lock(&ps->lock);
        weft_waker w = weft_waker_clone(&ps->waker);
        pthread_mutex_unlock(&ps->lock);
        weft_waker_wake(w);
        if (i % 1000 == 0) usleep(100);
    }
    return NULL;
}

typedef struct remote_many {
    WEFT_CORO_FIELDS;
    weft_poll_fn pf;
    weft_join_handle h;
} remote_many;

WEFT_ASYNC(remote_many, NULL) {
    WEFT_BEGIN();
    self->h = WEFT_SPAWN(cx->runtime, &self->pf, state, NULL);
    WEFT_AWAIT(&self->h.base);
    WEFT_END();
}

static void test_remote_wake_stress(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    ping_state ps = {0};
    pthread_mutex_init(&ps.lock, NULL);
    remote_many r;
    remote_many_start(&r);
    weft_poll_fn_init(&r.pf, counter_task_poll, &ps, NULL);
    pthread_t th;
    pthread_create(&th, NULL, waker_thread, &ps);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&ps.seen), 10000);
    weft_waker_drop(ps.waker);
    weft_runtime_destroy(rt);
    pthread_mutex_destroy(&ps.lock);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_drop_balanced),
        cmocka_unit_test(test_many_wakes_one_poll),
        cmocka_unit_test(test_wake_during_poll_and_after_completion),
        cmocka_unit_test(test_remote_wake),
        cmocka_unit_test(test_remote_wake_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
