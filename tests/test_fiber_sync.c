/* The blocking-style calls of locks, signals, channels and JoinSets, from
 * fibers: each one works against partners on other tasks, and a fiber
 * cancelled while it waits in one gets -ECANCELED holding nothing (no lock,
 * no permit, no message: its partners see the object as before).
 * weft-test: threaded */
#include "fiber_support.h"

typedef struct world {
    weft_mutex m;
    weft_rwlock rw;
    weft_semaphore sem;
    weft_notify n;
    weft_barrier b;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    weft_oneshot_tx *otx;
    weft_oneshot_rx *orx;
    weft_broadcast_tx *btx;
    weft_broadcast_rx *brx;
    weft_watch_tx *wtx;
    weft_watch_rx *wrx;
    weft_join_set *js;
    atomic_int leaders, inside;
} world;

static void *holder(void *arg) { /* holds the mutex and a write lock for a while */
    world *w = arg;
    FCHECK_EQ(weft_fiber_mutex_lock(&w->m), 0);
    FCHECK_EQ(weft_fiber_rwlock_write(&w->rw), 0);
    FCHECK_EQ(weft_fiber_semaphore_acquire(&w->sem, 3), 0);
    atomic_store(&w->inside, 1);
    FCHECK_EQ(weft_fiber_sleep(20), 0);
    FCHECK_EQ(weft_semaphore_add_permits(&w->sem, 3), 0);
    weft_rwlock_write_unlock(&w->rw);
    weft_mutex_unlock(&w->m);
    return NULL;
}

static void *party(void *arg) {
    world *w = arg;
    bool leader = false;
    FCHECK_EQ(weft_fiber_barrier_wait(&w->b, &leader), 0);
    if (leader) atomic_fetch_add(&w->leaders, 1);
    return NULL;
}

static void *producer(void *arg) { /* sends on every channel */
    world *w = arg;
    for (int i = 0; i < 100; i++) FCHECK_EQ(weft_fiber_mpsc_send(w->tx, &i), 0); /* capacity 2 */
    int v = 7;
    FCHECK_EQ(weft_oneshot_send(w->otx, &v), 0);
    weft_oneshot_tx_destroy(&w->otx);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    FCHECK(weft_broadcast_send(w->btx, &v) > 0);
    FCHECK_EQ(weft_watch_send(w->wtx, &v), 0);
    weft_notify_one(&w->n);
    return NULL;
}

static void *consumer(void *arg) {
    world *w = arg;
    for (int i = 0; i < 100; i++) {
        int got = -1;
        FCHECK_EQ(weft_fiber_mpsc_recv(w->rx, &got), 0);
        FCHECK_EQ(got, i);
    }
    int v = 0;
    FCHECK_EQ(weft_fiber_oneshot_recv(w->orx, &v), 0);
    FCHECK_EQ(v, 7);
    uint64_t missed = 99;
    v = 0;
    FCHECK_EQ(weft_fiber_broadcast_recv(w->brx, &v, &missed), 0);
    FCHECK_EQ(v, 7);
    FCHECK_EQ(missed, 0);
    FCHECK_EQ(weft_fiber_watch_changed(w->wrx), 0);
    FCHECK_EQ(weft_watch_borrow(w->wrx, &v), 0);
    FCHECK_EQ(v, 7);
    FCHECK_EQ(weft_fiber_notified(&w->n), 0);
    return NULL;
}

static void *waiter(void *arg) { /* waits for the holder's locks and permits */
    world *w = arg;
    while (!atomic_load(&w->inside)) FCHECK_EQ(weft_fiber_yield(), 0);
    FCHECK_EQ(weft_fiber_mutex_lock(&w->m), 0);
    weft_mutex_unlock(&w->m);
    FCHECK_EQ(weft_fiber_rwlock_read(&w->rw), 0);
    weft_rwlock_read_unlock(&w->rw);
    FCHECK_EQ(weft_fiber_semaphore_acquire(&w->sem, 2), 0);
    FCHECK_EQ(weft_semaphore_add_permits(&w->sem, 2), 0);
    return NULL;
}

static void *returns_arg(void *arg) { return arg; }

static void world_init(world *w, weft_runtime *rt) {
    memset(w, 0, sizeof *w);
    weft_mutex_init(&w->m);
    assert_int_equal(weft_rwlock_init(&w->rw, 0), 0);
    assert_int_equal(weft_semaphore_init(&w->sem, 3), 0);
    weft_notify_init(&w->n);
    weft_barrier_init(&w->b, 3);
    assert_int_equal(weft_mpsc_create(sizeof(int), 2, NULL, &w->tx, &w->rx), 0);
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &w->otx, &w->orx), 0);
    assert_int_equal(weft_broadcast_create(sizeof(int), 4, NULL, &w->btx, &w->brx), 0);
    int zero = 0;
    assert_int_equal(weft_watch_create(sizeof(int), &zero, NULL, &w->wtx, &w->wrx), 0);
    assert_int_equal(weft_join_set_create(&w->js, rt, sizeof(weft_fiber_output), NULL), 0);
}

static void world_destroy(world *w) {
    weft_mutex_destroy(&w->m); /* each aborts if a waiter or holder were left */
    weft_rwlock_destroy(&w->rw);
    weft_semaphore_destroy(&w->sem);
    weft_notify_destroy(&w->n);
    weft_barrier_destroy(&w->b);
    weft_mpsc_tx_destroy(&w->tx);
    weft_mpsc_rx_destroy(&w->rx);
    weft_oneshot_tx_destroy(&w->otx);
    weft_oneshot_rx_destroy(&w->orx);
    weft_broadcast_tx_destroy(&w->btx);
    weft_broadcast_rx_destroy(&w->brx);
    weft_watch_tx_destroy(&w->wtx);
    weft_watch_rx_destroy(&w->wrx);
    weft_join_set_destroy(w->js);
}

typedef struct all_root {
    WEFT_CORO_FIELDS;
    world *w;
    weft_join_handle h[7];
    int i;
} all_root;

WEFT_ASYNC(all_root, NULL) {
    WEFT_BEGIN();
    self->h[0] = weft_fiber_spawn(cx->runtime, holder, self->w, NULL);
    self->h[1] = weft_fiber_spawn(cx->runtime, waiter, self->w, NULL);
    self->h[2] = weft_fiber_spawn(cx->runtime, producer, self->w, NULL);
    self->h[3] = weft_fiber_spawn(cx->runtime, consumer, self->w, NULL);
    for (self->i = 4; self->i < 7; self->i++) self->h[self->i] = weft_fiber_spawn(cx->runtime, party, self->w, NULL);
    for (self->i = 0; self->i < 7; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
    }
    WEFT_END();
}

static void *join_set_user(void *arg) {
    world *w = arg;
    for (uintptr_t i = 1; i <= 5; i++) FCHECK(weft_join_set_spawn_fiber(w->js, returns_arg, (void *)i, NULL) > 0);
    uintptr_t sum = 0;
    for (int i = 0; i < 5; i++) {
        weft_fiber_output out = {0};
        uint64_t id = 0;
        FCHECK_EQ(weft_fiber_join_set_next(w->js, &out, &id), 0);
        FCHECK(id > 0);
        sum += (uintptr_t)out.value;
    }
    FCHECK_EQ(weft_fiber_join_set_next(w->js, NULL, NULL), -WEFT_EEMPTY);
    return (void *)sum;
}

static void every_call_works(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    world w;
    world_init(&w, rt);
    all_root r;
    all_root_start(&r);
    r.w = &w;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(atomic_load(&w.leaders), 1);
    assert_int_equal((uintptr_t)run_fiber(rt, join_set_user, &w), 15);
    assert_int_equal(weft_semaphore_available(&w.sem), 3);
    world_destroy(&w);
    weft_runtime_destroy(rt);
}

/* ---- cancelled while waiting in each call --------------------------------------- */

typedef struct stuck {
    world *w;
    int which;
    atomic_int result;
    atomic_bool waiting;
} stuck;

static void *stuck_fiber(void *arg) {
    stuck *s = arg;
    world *w = s->w;
    int v;
    atomic_store(&s->waiting, true);
    int rc;
    switch (s->which) {
    case 0: rc = weft_fiber_mutex_lock(&w->m); break;
    case 1: rc = weft_fiber_rwlock_read(&w->rw); break;
    case 2: rc = weft_fiber_rwlock_write(&w->rw); break;
    case 3: rc = weft_fiber_semaphore_acquire(&w->sem, 2); break;
    case 4: rc = weft_fiber_notified(&w->n); break;
    case 5: rc = weft_fiber_barrier_wait(&w->b, NULL); break;
    case 6: rc = weft_fiber_oneshot_recv(w->orx, &v); break;
    case 7: rc = weft_fiber_mpsc_recv(w->rx, &v); break;
    case 8: v = 1; rc = weft_fiber_mpsc_send(w->tx, &v); break; /* the channel is full */
    case 9: rc = weft_fiber_broadcast_recv(w->brx, &v, NULL); break;
    case 10: rc = weft_fiber_watch_changed(w->wrx); break;
    default: rc = weft_fiber_join_set_next(w->js, NULL, NULL); break; /* a task that never ends */
    }
    atomic_store(&s->result, rc);
    return NULL;
}

static void *forever(void *arg) {
    (void)arg;
    while (weft_fiber_sleep(1000) == 0) {
    }
    return NULL;
}

typedef struct cancel_root {
    WEFT_CORO_FIELDS;
    stuck *s;
    weft_join_handle h;
    weft_sleep pause;
} cancel_root;

WEFT_ASYNC(cancel_root, NULL) {
    WEFT_BEGIN();
    self->h = weft_fiber_spawn(cx->runtime, stuck_fiber, self->s, NULL);
    while (!atomic_load(&self->s->waiting)) WEFT_AWAIT(weft_sleep_init(&self->pause, 1));
    WEFT_AWAIT(weft_sleep_init(&self->pause, 5)); /* now it waits inside the call */
    weft_join_handle_abort(&self->h);
    WEFT_AWAIT(&self->h.base);
    WEFT_END();
}

static void cancelled_calls_hold_nothing(void **state) {
    (void)state;
    for (int which = 0; which < 12; which++) {
        weft_runtime *rt = rt_new();
        world w;
        world_init(&w, rt);
        /* Make every call wait: the locks held, the permits taken, the
         * channel full, the barrier one party short, a task that never ends. */
        assert_int_equal(weft_mutex_try_lock(&w.m), 0);
        assert_int_equal(weft_rwlock_try_write(&w.rw), 0);
        assert_int_equal(weft_semaphore_try_acquire(&w.sem, 3), 0);
        int v = 0;
        if (which == 8) { /* a full channel for the send; an empty one for the receive */
            assert_int_equal(weft_mpsc_try_send(w.tx, &v), 0);
            assert_int_equal(weft_mpsc_try_send(w.tx, &v), 0);
        }
        if (which == 11) assert_true(weft_join_set_spawn_fiber(w.js, forever, NULL, NULL) > 0);
        stuck s = {&w, which, 1, false};
        cancel_root r;
        cancel_root_start(&r);
        r.s = &s;
        assert_int_equal(weft_block_on(rt, &r.base), 0);
        if (atomic_load(&s.result) != -ECANCELED) fail_msg("call %d returned %d, not -ECANCELED", which, atomic_load(&s.result));
        /* It holds nothing: what we hold is all there is. */
        weft_mutex_unlock(&w.m);
        assert_int_equal(weft_mutex_try_lock(&w.m), 0);
        weft_mutex_unlock(&w.m);
        weft_rwlock_write_unlock(&w.rw);
        assert_int_equal(weft_rwlock_try_write(&w.rw), 0);
        weft_rwlock_write_unlock(&w.rw);
        assert_int_equal(weft_semaphore_add_permits(&w.sem, 3), 0);
        assert_int_equal(weft_semaphore_available(&w.sem), 3);
        assert_int_equal(weft_mpsc_len(w.rx), which == 8 ? 2 : 0); /* nothing received, nothing added */
        weft_join_set_abort_all(w.js);
        weft_runtime_destroy(rt);
        world_destroy(&w);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_call_works),
        cmocka_unit_test(cancelled_calls_hold_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
