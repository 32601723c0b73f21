/* Mutex and RwLock: try_lock, FIFO fairness and hand-off (no barging), a lock
 * held across an await while other tasks run, cancellation passing the lock
 * on, tasks and threads sharing a counter; RwLock readers together,
 * writers never starved, downgrade (misuse: test_sync_misuse.c).  weft-test: threaded  weft-test: timeout=300 */
#include "sync_support.h"

static void test_try_lock(void **state) {
    (void)state;
    weft_mutex m;
    weft_mutex_init(&m);
    assert_false(weft_mutex_is_locked(&m));
    assert_int_equal(weft_mutex_try_lock(&m), 0);
    assert_true(weft_mutex_is_locked(&m));
    assert_int_equal(weft_mutex_try_lock(&m), -EBUSY);
    weft_mutex_unlock(&m);
    assert_int_equal(weft_mutex_try_lock(&m), 0);
    weft_mutex_unlock(&m);
    weft_mutex_destroy(&m);
}

/* Unlock hands the lock to the oldest waiter before it even runs: a
 * try_lock in between fails; dropping the handed-to waiter passes it on. */
static void test_handoff_and_cancel(void **state) {
    (void)state;
    weft_mutex m;
    weft_mutex_init(&m);
    hand h[3] = {0};
    weft_mutex_lock l[3];
    assert_int_equal(weft_mutex_try_lock(&m), 0);
    for (int i = 0; i < 3; i++) {
        weft_mutex_lock_init(&l[i], &m);
        assert_int_equal(hand_poll(&h[i], &l[i].base), WEFT_PENDING);
        assert_int_equal(hand_poll(&h[i], &l[i].base), WEFT_PENDING); /* re-poll keeps its place */
    }
    weft_mutex_unlock(&m);
    assert_int_equal(hand_wakes(&h[0]), 1);
    assert_int_equal(weft_mutex_try_lock(&m), -EBUSY); /* no barging */
    weft_future_drop(&l[0].base);                      /* handed the lock, never saw it */
    assert_int_equal(hand_wakes(&h[1]), 1);
    weft_future_drop(&l[2].base); /* a queued waiter just leaves */
    assert_int_equal(hand_poll(&h[1], &l[1].base), WEFT_READY);
    weft_mutex_unlock(&m);
    assert_int_equal(hand_wakes(&h[2]), 0);
    assert_false(weft_mutex_is_locked(&m));
    weft_future_drop(&l[1].base);
    for (int i = 0; i < 3; i++) hand_check_balanced(&h[i]);
    weft_mutex_destroy(&m);
}

/* ---- fairness: tasks get the lock in the order they asked ------------------ */

#define FAIR_TASKS 10
#define FAIR_ROUNDS 5

typedef struct fair_state {
    weft_mutex m;
    int asked[FAIR_TASKS * FAIR_ROUNDS]; /* the order the tasks asked (= queued) */
    atomic_int n_asked;
    int order[FAIR_TASKS * FAIR_ROUNDS]; /* the order they got it (under the lock) */
    int n;
    int holder;
} fair_state;

typedef struct fair_task {
    WEFT_CORO_FIELDS;
    fair_state *st;
    int id, round;
    weft_mutex_lock lk;
    weft_yield_now y;
    int out;
} fair_task;

WEFT_ASYNC(fair_task, NULL) {
    WEFT_BEGIN();
    for (self->round = 0; self->round < FAIR_ROUNDS; self->round++) {
        /* On one worker nothing runs between this and the lock's first poll. */
        self->st->asked[atomic_fetch_add(&self->st->n_asked, 1)] = self->id;
        WEFT_AWAIT(weft_mutex_lock_init(&self->lk, &self->st->m));
        assert_int_equal(self->st->holder, -1);
        self->st->holder = self->id;
        self->st->order[self->st->n++] = self->id;
        /* Hold it across two awaits: everybody else queues meanwhile. */
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        self->st->holder = -1;
        weft_mutex_unlock(&self->st->m);
    }
    WEFT_END();
}

typedef struct fair_root {
    WEFT_CORO_FIELDS;
    fair_state *st;
    fair_task t;
    weft_join_handle hs[FAIR_TASKS];
    int i;
} fair_root;

WEFT_ASYNC(fair_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < FAIR_TASKS; self->i++) {
        fair_task_start(&self->t);
        self->t.st = self->st;
        self->t.id = self->i;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->t, out, NULL);
    }
    for (self->i = 0; self->i < FAIR_TASKS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_fifo_fairness(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single(); /* the tasks ask in a known order */
    fair_state st;
    memset(&st, 0, sizeof st);
    weft_mutex_init(&st.m);
    st.holder = -1;
    fair_root r;
    fair_root_start(&r);
    r.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(st.n, FAIR_TASKS * FAIR_ROUNDS);
    /* FIFO: the lock went to the tasks exactly in the order they asked. */
    for (int i = 0; i < st.n; i++) assert_int_equal(st.order[i], st.asked[i]);
    /* On current_thread the tasks start in spawn order, so that is a strict
     * round robin: 0..9, 0..9, ... (an unlocking task that asks again goes
     * to the back of the queue). */
    if (!test_is_multi_thread())
        for (int i = 0; i < st.n; i++) assert_int_equal(st.order[i], i % FAIR_TASKS);
    weft_runtime_destroy(rt);
    weft_mutex_destroy(&st.m);
}

/* ---- held across a sleep: the other tasks keep running -------------------- */

/* The first holder keeps the lock across two awaits: a sleep, then a
 * Notify that only the ticker task fires, after five ticks. With a
 * blocking lock this could never finish (the ticker could not run); the
 * second holder waits its turn meanwhile. */
typedef struct held_state {
    weft_mutex m;
    weft_notify ticked;
    atomic_int ticks;
    atomic_int ticks_seen_by[2]; /* ticks when each holder got the lock */
} held_state;

typedef struct holder {
    WEFT_CORO_FIELDS;
    held_state *st;
    int id;
    weft_mutex_lock lk;
    weft_sleep s;
    weft_notified nf;
    int out;
} holder;

WEFT_ASYNC(holder, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_mutex_lock_init(&self->lk, &self->st->m));
    atomic_store(&self->st->ticks_seen_by[self->id], atomic_load(&self->st->ticks));
    WEFT_AWAIT(weft_sleep_init(&self->s, 5));
    if (self->id == 0) WEFT_AWAIT(weft_notify_notified_init(&self->nf, &self->st->ticked));
    weft_mutex_unlock(&self->st->m);
    WEFT_END();
}

typedef struct ticker_task {
    WEFT_CORO_FIELDS;
    held_state *st;
    weft_sleep s;
    int out;
} ticker_task;

WEFT_ASYNC(ticker_task, NULL) {
    WEFT_BEGIN();
    while (atomic_load(&self->st->ticks) < 5) {
        WEFT_AWAIT(weft_sleep_init(&self->s, 1));
        atomic_fetch_add(&self->st->ticks, 1);
    }
    weft_notify_one(&self->st->ticked); /* stored if the holder is not waiting yet */
    WEFT_END();
}

typedef struct held_root {
    WEFT_CORO_FIELDS;
    held_state *st;
    holder h1, h2;
    ticker_task tk;
    weft_join_handle j1, j2, jt;
    weft_yield_now y;
} held_root;

WEFT_ASYNC(held_root, NULL) {
    WEFT_BEGIN();
    self->j1 = WEFT_SPAWN(cx->runtime, &self->h1, out, NULL);
    while (!weft_mutex_is_locked(&self->st->m)) WEFT_AWAIT(weft_yield_now_init(&self->y));
    self->j2 = WEFT_SPAWN(cx->runtime, &self->h2, out, NULL);
    self->jt = WEFT_SPAWN(cx->runtime, &self->tk, out, NULL);
    WEFT_AWAIT(&self->j1.base);
    WEFT_AWAIT(&self->j2.base);
    WEFT_AWAIT(&self->jt.base);
    WEFT_END();
}

static void test_held_across_await(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    held_state st;
    memset(&st, 0, sizeof st);
    weft_mutex_init(&st.m);
    weft_notify_init(&st.ticked);
    held_root r;
    held_root_start(&r);
    r.st = &st;
    holder_start(&r.h1);
    r.h1.st = &st;
    r.h1.id = 0;
    holder_start(&r.h2);
    r.h2.st = &st;
    r.h2.id = 1;
    ticker_task_start(&r.tk);
    r.tk.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(atomic_load(&st.ticks_seen_by[0]), 0);
    /* The second holder got the lock only after the ticker ran 5 times
     * while the first one held it. */
    assert_int_equal(atomic_load(&st.ticks_seen_by[1]), 5);
    assert_false(weft_mutex_is_locked(&st.m));
    weft_notify_destroy(&st.ticked);
    weft_mutex_destroy(&st.m);
    weft_runtime_destroy(rt);
}

/* ---- tasks and threads share a plain counter -------------------------------- */

#define SHARE_TASKS 8
#define SHARE_THREADS 3
#define SHARE_EACH 5000

typedef struct shared {
    weft_mutex m;
    long counter; /* plain: the mutex is the only protection (TSan checks) */
} shared;

typedef struct incr_task {
    WEFT_CORO_FIELDS;
    shared *sh;
    int i;
    long v; /* read before the await, written after: lives in the struct */
    weft_mutex_lock lk;
    weft_yield_now y;
    int out;
} incr_task;

WEFT_ASYNC(incr_task, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < SHARE_EACH; self->i++) {
        WEFT_AWAIT(weft_mutex_lock_init(&self->lk, &self->sh->m));
        self->v = self->sh->counter;
        if (self->i % 7 == 0) WEFT_AWAIT(weft_yield_now_init(&self->y)); /* hold across an await */
        self->sh->counter = self->v + 1;
        weft_mutex_unlock(&self->sh->m);
    }
    WEFT_END();
}

static void *incr_thread(void *p) {
    shared *sh = p;
    for (int i = 0; i < SHARE_EACH; i++) {
        if (i % 2) {
            weft_mutex_lock lk;
            assert_int_equal(weft_wait_blocking(weft_mutex_lock_init(&lk, &sh->m)), 0);
        } else {
            while (weft_mutex_try_lock(&sh->m) != 0) sched_yield();
        }
        sh->counter++;
        weft_mutex_unlock(&sh->m);
    }
    return NULL;
}

typedef struct share_root {
    WEFT_CORO_FIELDS;
    shared *sh;
    incr_task t;
    weft_join_handle hs[SHARE_TASKS];
    int i;
} share_root;

WEFT_ASYNC(share_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < SHARE_TASKS; self->i++) {
        incr_task_start(&self->t);
        self->t.sh = self->sh;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->t, out, NULL);
    }
    for (self->i = 0; self->i < SHARE_TASKS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_tasks_and_threads(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    shared sh;
    weft_mutex_init(&sh.m);
    sh.counter = 0;
    pthread_t th[SHARE_THREADS];
    for (int i = 0; i < SHARE_THREADS; i++) pthread_create(&th[i], NULL, incr_thread, &sh);
    share_root r;
    share_root_start(&r);
    r.sh = &sh;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    for (int i = 0; i < SHARE_THREADS; i++) pthread_join(th[i], NULL);
    assert_int_equal(sh.counter, (long)(SHARE_TASKS + SHARE_THREADS) * SHARE_EACH);
    weft_mutex_destroy(&sh.m);
    weft_runtime_destroy(rt);
}

/* weft_wait_blocking refuses to block a runtime thread. */
static weft_poll blocking_inside(void *p, weft_context *cx) {
    weft_mutex_lock lk;
    *(int *)p = weft_wait_blocking(weft_mutex_lock_init(&lk, NULL));
    return WEFT_READY;
}

static void test_wait_blocking_in_runtime(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    int rc = 0;
    weft_poll_fn pf;
    weft_poll_fn_init(&pf, blocking_inside, &rc, NULL);
    assert_int_equal(weft_block_on(rt, &pf.base), 0);
    assert_int_equal(rc, -EDEADLK);
    weft_runtime_destroy(rt);
}

/* ---- RwLock ----------------------------------------------------------------- */

static void test_rwlock_basics(void **state) {
    (void)state;
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    hand hr = {0}, hw = {0}, hr2 = {0};
    assert_int_equal(weft_rwlock_try_read(&rw), 0);
    assert_int_equal(weft_rwlock_try_read(&rw), 0);
    assert_int_equal(weft_rwlock_try_write(&rw), -EBUSY);

    /* A writer queues behind the two readers; a later reader queues behind
     * the writer (no writer starvation), even though readers are inside. */
    weft_rwlock_lock w, r;
    weft_rwlock_write_init(&w, &rw);
    weft_rwlock_read_init(&r, &rw);
    assert_int_equal(hand_poll(&hw, &w.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_PENDING);
    assert_int_equal(weft_rwlock_try_read(&rw), -EBUSY);
    weft_rwlock_read_unlock(&rw);
    assert_int_equal(hand_wakes(&hw), 0);
    weft_rwlock_read_unlock(&rw);
    assert_int_equal(hand_wakes(&hw), 1);
    assert_int_equal(hand_poll(&hw, &w.base), WEFT_READY);
    assert_int_equal(hand_wakes(&hr), 0);

    /* Downgrade: the writer becomes a reader; the queued reader enters. */
    weft_rwlock_lock r2;
    weft_rwlock_read_init(&r2, &rw);
    assert_int_equal(hand_poll(&hr2, &r2.base), WEFT_PENDING);
    weft_rwlock_downgrade(&rw);
    assert_int_equal(hand_wakes(&hr), 1);
    assert_int_equal(hand_wakes(&hr2), 1);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_READY);
    assert_int_equal(hand_poll(&hr2, &r2.base), WEFT_READY);
    assert_int_equal(weft_rwlock_try_write(&rw), -EBUSY);
    weft_rwlock_read_unlock(&rw);
    weft_rwlock_read_unlock(&rw);
    weft_rwlock_read_unlock(&rw);
    assert_int_equal(weft_rwlock_try_write(&rw), 0);
    weft_rwlock_write_unlock(&rw);

    /* A writer handed the lock but dropped passes it on to the readers. */
    assert_int_equal(weft_rwlock_try_read(&rw), 0);
    weft_rwlock_write_init(&w, &rw);
    weft_rwlock_read_init(&r, &rw);
    assert_int_equal(hand_poll(&hw, &w.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_PENDING);
    weft_rwlock_read_unlock(&rw); /* writer handed the lock */
    assert_int_equal(hand_wakes(&hw), 1);
    weft_future_drop(&w.base);
    assert_int_equal(hand_wakes(&hr), 1);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_READY);
    weft_rwlock_read_unlock(&rw);
    weft_future_drop(&r.base);
    weft_future_drop(&r2.base);
    hand_check_balanced(&hr);
    hand_check_balanced(&hw);
    hand_check_balanced(&hr2);
    weft_rwlock_destroy(&rw);
}

/* Readers keep streaming in, a writer still gets in. */
typedef struct rw_state {
    weft_rwlock rw;
    atomic_int readers_inside;
    atomic_bool writer_done;
    atomic_int reads_after_writer_queued;
    atomic_bool writer_waiting;
} rw_state;

typedef struct reader_task {
    WEFT_CORO_FIELDS;
    rw_state *st;
    int i;
    weft_rwlock_lock lk;
    weft_yield_now y;
    int out;
} reader_task;

WEFT_ASYNC(reader_task, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 200 && !atomic_load(&self->st->writer_done); self->i++) {
        WEFT_AWAIT(weft_rwlock_read_init(&self->lk, &self->st->rw));
        atomic_fetch_add(&self->st->readers_inside, 1);
        if (atomic_load(&self->st->writer_waiting)) atomic_fetch_add(&self->st->reads_after_writer_queued, 1);
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        atomic_fetch_sub(&self->st->readers_inside, 1);
        weft_rwlock_read_unlock(&self->st->rw);
    }
    WEFT_END();
}

typedef struct writer_task {
    WEFT_CORO_FIELDS;
    rw_state *st;
    weft_rwlock_lock lk;
    weft_yield_now y;
    int i;
    int out;
} writer_task;

WEFT_ASYNC(writer_task, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 5; self->i++) WEFT_AWAIT(weft_yield_now_init(&self->y));
    atomic_store(&self->st->writer_waiting, true);
    WEFT_AWAIT(weft_rwlock_write_init(&self->lk, &self->st->rw));
    assert_int_equal(atomic_load(&self->st->readers_inside), 0);
    atomic_store(&self->st->writer_done, true);
    weft_rwlock_write_unlock(&self->st->rw);
    WEFT_END();
}

typedef struct rw_root {
    WEFT_CORO_FIELDS;
    rw_state *st;
    reader_task r;
    writer_task w;
    weft_join_handle hs[9];
    int i;
} rw_root;

WEFT_ASYNC(rw_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 8; self->i++) {
        reader_task_start(&self->r);
        self->r.st = self->st;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->r, out, NULL);
    }
    writer_task_start(&self->w);
    self->w.st = self->st;
    self->hs[8] = WEFT_SPAWN(cx->runtime, &self->w, out, NULL);
    for (self->i = 0; self->i < 9; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_rwlock_writer_not_starved(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single(); /* no reader can slip in between the flag and the queue */
    rw_state st;
    memset(&st, 0, sizeof st);
    weft_rwlock_init(&st.rw, 0);
    rw_root r;
    rw_root_start(&r);
    r.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_true(atomic_load(&st.writer_done));
    /* Readers already inside (at most 8) may finish; no new ones overtake. */
    assert_true(atomic_load(&st.reads_after_writer_queued) <= 8);
    weft_rwlock_destroy(&st.rw);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_lock),
        cmocka_unit_test(test_handoff_and_cancel),
        cmocka_unit_test(test_fifo_fairness),
        cmocka_unit_test(test_held_across_await),
        cmocka_unit_test(test_tasks_and_threads),
        cmocka_unit_test(test_wait_blocking_in_runtime),
        cmocka_unit_test(test_rwlock_basics),
        cmocka_unit_test(test_rwlock_writer_not_starved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
