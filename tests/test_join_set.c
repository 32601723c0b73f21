/* JoinSet: completion order, ids and outputs, abort_all, destroy aborting
 * what is left, detach_all, try_join_next, runtime shutdown under a set,
 * 100,000 tasks with slot recycling, spawns from another thread.
 * weft-test: threaded  weft-test: timeout=300 */
#include "sync_support.h"

/* A task that waits for its Notify, then outputs `v`. */
typedef struct waiter_task {
    WEFT_CORO_FIELDS;
    weft_notify *go;
    int v, out;
    weft_notified nf;
} waiter_task;

WEFT_ASYNC(waiter_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_notify_notified_init(&self->nf, self->go));
    self->out = self->v;
    WEFT_END();
}

/* A task that sleeps `ms` then outputs `v`. */
typedef struct napper {
    WEFT_CORO_FIELDS;
    uint64_t ms;
    int v, out;
    weft_sleep s;
} napper;

WEFT_ASYNC(napper, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, self->ms));
    self->out = self->v;
    WEFT_END();
}

static const int order_expect[5] = {1, 3, 2, 4, 0};

typedef struct order_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js;
    weft_notify go[5];
    waiter_task n;
    weft_join_set_next jn;
    int got[6], out;
    int64_t ids[5];
    uint64_t got_ids[5];
    int results[6];
    int i;
} order_root;

WEFT_ASYNC(order_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 5; self->i++) {
        weft_notify_init(&self->go[self->i]);
        waiter_task_start(&self->n);
        self->n.go = &self->go[self->i];
        self->n.v = self->i;
        self->ids[self->i] = WEFT_JOIN_SET_SPAWN(self->js, &self->n, out);
        assert_true(self->ids[self->i] > 0);
    }
    assert_int_equal(weft_join_set_len(self->js), 5);
    for (self->i = 0; self->i < 6; self->i++) {
        /* Let the tasks finish in the order 1, 3, 2, 4, 0 (a notify_one is
         * stored if its task has not started waiting yet). */
        if (self->i < 5) weft_notify_one(&self->go[order_expect[self->i]]);
        WEFT_AWAIT(weft_join_set_join_next_init(&self->jn, self->js, &self->out));
        self->results[self->i] = self->jn.result;
        self->got[self->i] = self->out;
        if (self->i < 5) self->got_ids[self->i] = self->jn.id;
    }
    WEFT_END();
}

static void test_completion_order(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), 0);
    order_root r;
    order_root_start(&r);
    r.js = js;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r.results[i], 0);
        assert_int_equal(r.got[i], order_expect[i]);
        assert_int_equal(r.got_ids[i], (uint64_t)r.ids[order_expect[i]]);
    }
    assert_int_equal(r.results[5], -WEFT_EEMPTY);
    assert_int_equal(weft_join_set_len(js), 0);
    weft_join_set_destroy(js);
    weft_runtime_destroy(rt);
}

/* ---- abort_all, destroy, detach_all ------------------------------------------ */

typedef struct quick {
    weft_future base;
    int v, out;
} quick;
static weft_poll quick_poll(weft_future *f, weft_context *cx) {
    quick *q = (quick *)f;
    q->out = q->v;
    return WEFT_READY;
}
static const weft_future_vtable quick_vtable = {quick_poll, NULL, "quick"};
static void quick_init(quick *q, int v) {
    weft_future_init(&q->base, &quick_vtable);
    q->v = v;
}

typedef struct abort_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js;
    gate_state *gs;
    quick q;
    gate g;
    weft_join_set_next jn;
    weft_yield_now y;
    int out, ok, cancelled, sum, i;
} abort_root;

WEFT_ASYNC(abort_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 3; self->i++) {
        quick_init(&self->q, 10 + self->i);
        WEFT_JOIN_SET_SPAWN(self->js, &self->q, out);
        gate_init(&self->g, self->gs);
        WEFT_JOIN_SET_SPAWN(self->js, &self->g, out);
    }
    while (atomic_load(&self->gs->polls) < 3) WEFT_AWAIT(weft_yield_now_init(&self->y));
    weft_join_set_abort_all(self->js);
    weft_join_set_abort_all(self->js); /* idempotent */
    for (;;) {
        WEFT_AWAIT(weft_join_set_join_next_init(&self->jn, self->js, &self->out));
        if (self->jn.result == -WEFT_EEMPTY) break;
        if (self->jn.result == 0) {
            self->ok++;
            self->sum += self->out;
        } else {
            assert_int_equal(self->jn.result, -ECANCELED);
            self->cancelled++;
        }
    }
    WEFT_END();
}

static void test_abort_all(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_state gs;
    gate_state_init(&gs);
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), 0);
    abort_root r;
    memset(&r, 0, sizeof r);
    abort_root_start(&r);
    r.js = js;
    r.gs = &gs;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.ok, 3);
    assert_int_equal(r.sum, 10 + 11 + 12);
    assert_int_equal(r.cancelled, 3);
    assert_int_equal(atomic_load(&gs.drops), 3);
    weft_join_set_destroy(js);
    weft_runtime_destroy(rt);
    gate_state_destroy(&gs);
}

typedef struct fill_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js, *js2;
    gate_state *gs, *gs2;
    gate g;
    quick q;
    weft_yield_now y;
    int i;
} fill_root;

WEFT_ASYNC(fill_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 10; self->i++) {
        gate_init(&self->g, self->gs);
        WEFT_JOIN_SET_SPAWN(self->js, &self->g, out);
        quick_init(&self->q, self->i);
        WEFT_JOIN_SET_SPAWN(self->js, &self->q, out); /* completed, never joined */
    }
    gate_init(&self->g, self->gs2);
    WEFT_JOIN_SET_SPAWN(self->js2, &self->g, out);
    while (atomic_load(&self->gs->polls) < 10 || atomic_load(&self->gs2->polls) < 1)
        WEFT_AWAIT(weft_yield_now_init(&self->y));
    assert_int_equal(weft_join_set_len(self->js), 20);
    weft_join_set_destroy(self->js); /* aborts the 10 gates, discards 10 results */
    weft_join_set_detach_all(self->js2);
    assert_int_equal(weft_join_set_len(self->js2), 0);
    /* The aborted tasks are dropped on the runtime, as it gets to them. */
    while (atomic_load(&self->gs->drops) < 10) WEFT_AWAIT(weft_yield_now_init(&self->y));
    WEFT_END();
}

static void test_destroy_aborts_detach_keeps(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_state gs, gs2;
    gate_state_init(&gs);
    gate_state_init(&gs2);
    fill_root r;
    fill_root_start(&r);
    assert_int_equal(weft_join_set_create(&r.js, rt, sizeof(int), NULL), 0);
    assert_int_equal(weft_join_set_create(&r.js2, rt, sizeof(int), NULL), 0);
    r.gs = &gs;
    r.gs2 = &gs2;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(atomic_load(&gs.drops), 10);
    /* The detached gate still runs: opening it lets it finish. */
    gate_open(&gs2);
    while (atomic_load(&gs2.polls) < 2) {
        weft_yield_now y;
        assert_int_equal(weft_block_on(rt, weft_yield_now_init(&y)), 0);
    }
    weft_join_set_destroy(r.js2);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&gs2.drops), 0); /* it completed: never dropped */
    gate_state_destroy(&gs);
    gate_state_destroy(&gs2);
}

/* Runtime destroyed with tasks still in a set: each is cancelled, and the set
 * reports it. try_join_next in every state. */
typedef struct shut_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js;
    gate_state *gs;
    gate g;
    quick q;
    weft_yield_now y;
    int i;
} shut_root;

WEFT_ASYNC(shut_root, NULL) {
    WEFT_BEGIN();
    quick_init(&self->q, 77);
    WEFT_JOIN_SET_SPAWN(self->js, &self->q, out); /* runs before the gates (FIFO) */
    for (self->i = 0; self->i < 4; self->i++) {
        gate_init(&self->g, self->gs);
        WEFT_JOIN_SET_SPAWN(self->js, &self->g, out);
    }
    while (atomic_load(&self->gs->polls) < 4) WEFT_AWAIT(weft_yield_now_init(&self->y));
    WEFT_END();
}

static void test_runtime_shutdown_and_try(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_state gs;
    gate_state_init(&gs);
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), 0);
    int out = 0;
    uint64_t id = 0;
    assert_int_equal(weft_join_set_try_join_next(js, &out, &id), -WEFT_EEMPTY);
    shut_root r;
    shut_root_start(&r);
    r.js = js;
    r.gs = &gs;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    int rc;
    while ((rc = weft_join_set_try_join_next(js, &out, &id)) == -EAGAIN) sched_yield(); /* multi_thread: may be finishing */
    assert_int_equal(rc, 0);
    assert_int_equal(out, 77);
    assert_int_equal(id, 1);
    assert_int_equal(weft_join_set_try_join_next(js, &out, &id), -EAGAIN);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&gs.drops), 4);
    for (int i = 0; i < 4; i++) assert_int_equal(weft_join_set_try_join_next(js, &out, &id), -ECANCELED);
    assert_int_equal(weft_join_set_try_join_next(js, &out, &id), -WEFT_EEMPTY);
    weft_join_set_destroy(js);
    gate_state_destroy(&gs);
}

/* Output too large for the set: refused, the future dropped. */
static void test_output_too_large(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, 1, NULL), 0);
    gate_state gs;
    gate_state_init(&gs);
    gate g;
    gate_init(&g, &gs);
    assert_int_equal(WEFT_JOIN_SET_SPAWN(js, &g, out), -EINVAL);
    assert_int_equal(atomic_load(&gs.drops), 1);
    assert_int_equal(weft_join_set_len(js), 0);
    weft_join_set_destroy(js);
    weft_runtime_destroy(rt);
    gate_state_destroy(&gs);
}

/* ---- 100,000 tasks, in waves (slots recycled) ---------------------------------- */

typedef struct many_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js;
    quick q;
    napper n;
    weft_join_set_next jn;
    int out, wave, i;
    long sum, count;
} many_root;

WEFT_ASYNC(many_root, NULL) {
    WEFT_BEGIN();
    for (self->wave = 0; self->wave < 10; self->wave++) {
        for (self->i = 0; self->i < 10000; self->i++) {
            if (self->i % 100 == 0) {
                napper_start(&self->n);
                self->n.ms = 1;
                self->n.v = self->i;
                WEFT_JOIN_SET_SPAWN(self->js, &self->n, out);
            } else {
                quick_init(&self->q, self->i);
                WEFT_JOIN_SET_SPAWN(self->js, &self->q, out);
            }
        }
        for (;;) {
            WEFT_AWAIT(weft_join_set_join_next_init(&self->jn, self->js, &self->out));
            if (self->jn.result == -WEFT_EEMPTY) break;
            assert_int_equal(self->jn.result, 0);
            self->sum += self->out;
            self->count++;
        }
    }
    WEFT_END();
}

static void test_many_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    many_root r;
    memset(&r, 0, sizeof r);
    many_root_start(&r);
    assert_int_equal(weft_join_set_create(&r.js, rt, sizeof(int), NULL), 0);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.count, 100000);
    assert_int_equal(r.sum, 10L * (9999L * 10000 / 2));
    weft_join_set_destroy(r.js);
    weft_runtime_destroy(rt);
}

/* ---- a plain thread spawns into the set while a task joins ------------------ */

typedef struct remote_args {
    weft_join_set *js;
    int n;
} remote_args;

static void *remote_spawner(void *p) {
    remote_args *a = p;
    for (int i = 0; i < a->n; i++) {
        quick q;
        quick_init(&q, 1);
        assert_true(WEFT_JOIN_SET_SPAWN(a->js, &q, out) > 0);
    }
    return NULL;
}

typedef struct remote_root {
    WEFT_CORO_FIELDS;
    weft_join_set *js;
    weft_join_set_next jn;
    weft_sleep s;
    int out, target, got;
} remote_root;

WEFT_ASYNC(remote_root, NULL) {
    WEFT_BEGIN();
    while (self->got < self->target) {
        WEFT_AWAIT(weft_join_set_join_next_init(&self->jn, self->js, &self->out));
        if (self->jn.result == -WEFT_EEMPTY) { /* nothing spawned yet */
            WEFT_AWAIT(weft_sleep_init(&self->s, 1));
            continue;
        }
        assert_int_equal(self->jn.result, 0);
        self->got += self->out;
    }
    WEFT_END();
}

static void test_spawn_from_thread(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), 0);
    remote_args a = {js, 20000};
    pthread_t th;
    pthread_create(&th, NULL, remote_spawner, &a);
    remote_root r;
    memset(&r, 0, sizeof r);
    remote_root_start(&r);
    r.js = js;
    r.target = a.n;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    pthread_join(th, NULL);
    assert_int_equal(r.got, a.n);
    weft_join_set_destroy(js);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completion_order),
        cmocka_unit_test(test_abort_all),
        cmocka_unit_test(test_destroy_aborts_detach_keeps),
        cmocka_unit_test(test_runtime_shutdown_and_try),
        cmocka_unit_test(test_output_too_large),
        cmocka_unit_test(test_many_tasks),
        cmocka_unit_test(test_spawn_from_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
