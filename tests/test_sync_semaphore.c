/* Semaphore: try_acquire, acquire, acquire_many (FIFO, partial assignment),
 * add_permits, shutdown, cancellation (hand-off passed on), 100,000 random
 * cancellations with the permit count conserved (one thread, then racing
 * threads), tasks contending.  weft-test: threaded  weft-test: timeout=300 */
#include "sync_support.h"

static void test_try_and_release(void **state) {
    (void)state;
    weft_semaphore s;
    weft_semaphore_init(&s, 3);
    assert_int_equal(weft_semaphore_available(&s), 3);
    assert_int_equal(weft_semaphore_try_acquire(&s, 2), 0);
    assert_int_equal(weft_semaphore_try_acquire(&s, 2), -EAGAIN);
    assert_int_equal(weft_semaphore_try_acquire(&s, 1), 0);
    assert_int_equal(weft_semaphore_try_acquire(&s, 0), 0);
    assert_int_equal(weft_semaphore_available(&s), 0);
    weft_semaphore_add_permits(&s, 3);
    weft_semaphore_add_permits(&s, 2);
    assert_int_equal(weft_semaphore_available(&s), 5);
    assert_int_equal(weft_semaphore_try_acquire(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
    weft_semaphore_destroy(&s);
}

static void test_acquire_waits_and_fifo(void **state) {
    (void)state;
    weft_semaphore s;
    weft_semaphore_init(&s, 1);
    hand h = {0};
    weft_semaphore_acquire a, big, small;
    weft_semaphore_acquire_init(&a, &s);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_READY);
    assert_int_equal(a.result, 0);
    assert_int_equal(weft_semaphore_available(&s), 0);

    /* big wants 3, small wants 1: small queues behind big (no overtaking). */
    weft_semaphore_acquire_many_init(&big, &s, 3);
    weft_semaphore_acquire_init(&small, &s);
    assert_int_equal(hand_poll(&h, &big.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&h, &small.base), WEFT_PENDING);
    assert_int_equal(weft_semaphore_try_acquire(&s, 1), -EAGAIN);

    weft_semaphore_add_permits(&s, 1); /* 1 of 3 assigned to big; nothing for small */
    assert_int_equal(hand_wakes(&h), 0);
    assert_int_equal(weft_semaphore_available(&s), 0);
    weft_semaphore_add_permits(&s, 3); /* big complete (3), 1 left for small */
    assert_int_equal(hand_wakes(&h), 2);
    assert_int_equal(hand_poll(&h, &big.base), WEFT_READY);
    assert_int_equal(big.result, 0);
    assert_int_equal(hand_poll(&h, &small.base), WEFT_READY);
    assert_int_equal(weft_semaphore_available(&s), 0);
    weft_semaphore_add_permits(&s, 4);
    assert_int_equal(weft_semaphore_available(&s), 4);

    /* n == 0 is ready at once; n > max is -EINVAL. */
    weft_semaphore_acquire_many_init(&a, &s, 0);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_READY);
    assert_int_equal(a.result, 0);
    weft_semaphore_acquire_many_init(&a, &s, WEFT_SEMAPHORE_MAX_PERMITS + 1);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_READY);
    assert_int_equal(a.result, -EINVAL);
    weft_future_drop(&a.base);
    weft_future_drop(&big.base);
    weft_future_drop(&small.base);
    hand_check_balanced(&h);
    weft_semaphore_destroy(&s);
}

static void test_shutdown(void **state) {
    (void)state;
    weft_semaphore s;
    weft_semaphore_init(&s, 2);
    hand h = {0};
    weft_semaphore_acquire w1, w2;
    weft_semaphore_acquire_many_init(&w1, &s, 5); /* takes the 2 available as a partial */
    weft_semaphore_acquire_init(&w2, &s);
    assert_int_equal(hand_poll(&h, &w1.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&h, &w2.base), WEFT_PENDING);
    assert_int_equal(weft_semaphore_available(&s), 0);
    weft_semaphore_shutdown(&s);
    weft_semaphore_shutdown(&s); /* idempotent */
    assert_true(weft_semaphore_is_closed(&s));
    assert_int_equal(hand_wakes(&h), 2);
    assert_int_equal(hand_poll(&h, &w1.base), WEFT_READY);
    assert_int_equal(w1.result, -WEFT_ECLOSED);
    assert_int_equal(hand_poll(&h, &w2.base), WEFT_READY);
    assert_int_equal(w2.result, -WEFT_ECLOSED);
    assert_int_equal(weft_semaphore_available(&s), 2); /* the partial came back */
    assert_int_equal(weft_semaphore_try_acquire(&s, 1), -WEFT_ECLOSED);
    weft_semaphore_acquire_init(&w1, &s);
    assert_int_equal(hand_poll(&h, &w1.base), WEFT_READY);
    assert_int_equal(w1.result, -WEFT_ECLOSED);
    weft_semaphore_add_permits(&s, 1); /* still counted after shutdown */
    assert_int_equal(weft_semaphore_available(&s), 3);
    hand_check_balanced(&h);
}

/* A waiter that was handed its permits but is dropped before it saw them
 * passes them on; a dropped partially-assigned head gives back its part. */
static void test_cancel_passes_on(void **state) {
    (void)state;
    weft_semaphore s;
    weft_semaphore_init(&s, 0);
    hand h1 = {0}, h2 = {0}, h3 = {0};
    weft_semaphore_acquire a, b, c;
    weft_semaphore_acquire_many_init(&a, &s, 2);
    weft_semaphore_acquire_many_init(&b, &s, 2);
    weft_semaphore_acquire_init(&c, &s);
    assert_int_equal(hand_poll(&h1, &a.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&h2, &b.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&h3, &c.base), WEFT_PENDING);

    weft_semaphore_add_permits(&s, 2); /* a is handed 2 */
    assert_int_equal(hand_wakes(&h1), 1);
    weft_future_drop(&a.base);     /* never saw them: b gets them */
    assert_int_equal(hand_wakes(&h2), 1);
    assert_int_equal(hand_wakes(&h3), 0);
    assert_int_equal(hand_poll(&h2, &b.base), WEFT_READY);

    weft_semaphore_acquire_many_init(&a, &s, 3); /* queues behind c */
    assert_int_equal(hand_poll(&h1, &a.base), WEFT_PENDING);
    weft_future_drop(&c.base); /* c leaves: a is head */
    weft_semaphore_add_permits(&s, 2); /* a collects 2 of 3 */
    assert_int_equal(hand_wakes(&h1), 0);
    weft_semaphore_acquire_init(&c, &s);
    assert_int_equal(hand_poll(&h3, &c.base), WEFT_PENDING);
    weft_future_drop(&a.base); /* its 2 go to c (1) and the pool (1) */
    assert_int_equal(hand_wakes(&h3), 1);
    assert_int_equal(hand_poll(&h3, &c.base), WEFT_READY);
    assert_int_equal(weft_semaphore_available(&s), 1);
    weft_future_drop(&b.base); /* ready futures hold nothing: no effect */
    weft_future_drop(&c.base);
    assert_int_equal(weft_semaphore_available(&s), 1);
    hand_check_balanced(&h1);
    hand_check_balanced(&h2);
    hand_check_balanced(&h3);
    weft_semaphore_destroy(&s);
}

/* ---- 100,000 random cancellations, one thread ---------------------------- */

#define SLOTS 64

typedef struct rslot {
    enum { R_EMPTY, R_PENDING, R_HELD } st;
    weft_semaphore_acquire f;
    size_t n;
    hand h;
} rslot;

static void test_random_cancellations(void **state) {
    (void)state;
    enum { INITIAL = 10 };
    weft_semaphore s;
    weft_semaphore_init(&s, INITIAL);
    static rslot slots[SLOTS];
    memset(slots, 0, sizeof slots);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t added = 0;
    long cancellations = 0, granted_then_dropped = 0, completed = 0;
    while (cancellations < 100000) {
        rslot *r = &slots[rng_next(&rng) % SLOTS];
        unsigned op = rng_next(&rng) % 100;
        switch (r->st) {
        case R_EMPTY:
            r->n = 1 + rng_next(&rng) % 4;
            weft_semaphore_acquire_many_init(&r->f, &s, r->n);
            r->st = hand_poll(&r->h, &r->f.base) == WEFT_READY ? R_HELD : R_PENDING;
            if (r->st == R_HELD) {
                assert_int_equal(r->f.result, 0);
                completed++;
            }
            break;
        case R_PENDING:
            if (op < 55) { /* cancel: maybe after a hand-off it has not seen */
                if (hand_wakes(&r->h)) granted_then_dropped++;
                weft_future_drop(&r->f.base);
                hand_check_balanced(&r->h);
                r->st = R_EMPTY;
                cancellations++;
            } else if (hand_wakes(&r->h) || op < 60) {
                if (hand_poll(&r->h, &r->f.base) == WEFT_READY) {
                    r->st = R_HELD;
                    completed++;
                }
            }
            break;
        case R_HELD:
            if (op < 50) {
                weft_future_drop(&r->f.base);
                weft_semaphore_add_permits(&s, r->n);
                hand_check_balanced(&r->h);
                r->st = R_EMPTY;
            }
            break;
        }
        if (op == 99 && added < 50) {
            weft_semaphore_add_permits(&s, 1);
            added++;
        }
    }
    size_t held = 0;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].st == R_PENDING) weft_future_drop(&slots[i].f.base);
        if (slots[i].st == R_HELD) held += slots[i].n;
    }
    for (int i = 0; i < SLOTS; i++) hand_check_balanced(&slots[i].h);
    assert_int_equal(weft_semaphore_available(&s) + held, INITIAL + added);
    weft_semaphore_add_permits(&s, held);
    assert_int_equal(weft_semaphore_available(&s), INITIAL + added);
    assert_true(granted_then_dropped > 100); /* the interesting race was exercised */
    assert_true(completed > 1000);
    weft_semaphore_destroy(&s);
}

/* ---- the same, with threads racing hand-offs against drops ------------------ */

typedef struct race_ctx {
    weft_semaphore *s;
    pthread_barrier_t *start;
    atomic_long cancellations;
    atomic_long acquired;
    int seed;
    hand h; /* checked after every thread is joined: a waker another thread
             * took from the list is woken after that thread unlocks */
} race_ctx;

static void *racer(void *p) {
    race_ctx *rc = p;
    uint64_t rng = 0x1234567ull * (uint64_t)(rc->seed + 1);
    pthread_barrier_wait(rc->start); /* all at once: real contention */
    hand *h = &rc->h;
    weft_semaphore_acquire f;
    for (int i = 0; i < 40000; i++) {
        size_t n = 1 + rng_next(&rng) % 3;
        weft_semaphore_acquire_many_init(&f, rc->s, n);
        weft_poll p1 = hand_poll(h, &f.base);
        if (p1 == WEFT_PENDING) {
            for (unsigned spin = rng_next(&rng) % 200; spin; spin--) weft__cpu_relax_test();
            if (rng_next(&rng) % 4 == 0 && hand_poll(h, &f.base) == WEFT_READY) {
                p1 = WEFT_READY;
            } else {
                weft_future_drop(&f.base); /* may race with a release handing it permits */
                atomic_fetch_add(&rc->cancellations, 1);
                continue;
            }
        }
        atomic_fetch_add(&rc->acquired, 1);
        weft_future_drop(&f.base);
        for (unsigned spin = rng_next(&rng) % 100; spin; spin--) weft__cpu_relax_test(); /* hold */
        weft_semaphore_add_permits(rc->s, n);
    }
    return NULL;
}

static void test_threads_race_cancellations(void **state) {
    (void)state;
    enum { THREADS = 4, INITIAL = 3 };
    weft_semaphore s;
    weft_semaphore_init(&s, INITIAL);
    race_ctx ctx[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = (race_ctx){.s = &s, .start = &start, .seed = i};
        pthread_create(&th[i], NULL, racer, &ctx[i]);
    }
    long cancels = 0, acquired = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cancels += atomic_load(&ctx[i].cancellations);
        acquired += atomic_load(&ctx[i].acquired);
    }
    for (int i = 0; i < THREADS; i++) hand_check_balanced(&ctx[i].h);
    pthread_barrier_destroy(&start);
    print_message("threads: %ld cancellations, %ld acquisitions\n", cancels, acquired);
    assert_true(cancels > 0);
    assert_int_equal(weft_semaphore_available(&s), INITIAL);
    weft_semaphore_destroy(&s);
}

/* ---- tasks contending: never more than `permits` inside ---------------------- */

typedef struct worker {
    WEFT_CORO_FIELDS;
    weft_semaphore *s;
    atomic_int *inside, *max_inside, *done;
    weft_semaphore_acquire acq;
    weft_yield_now y;
    int i;
    int out;
} worker;

WEFT_ASYNC(worker, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 20; self->i++) {
        WEFT_AWAIT(weft_semaphore_acquire_init(&self->acq, self->s));
        assert_int_equal(self->acq.result, 0);
        int now = atomic_fetch_add(self->inside, 1) + 1;
        int max = atomic_load(self->max_inside);
        while (now > max && !atomic_compare_exchange_weak(self->max_inside, &max, now)) {}
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        atomic_fetch_sub(self->inside, 1);
        weft_semaphore_add_permits(self->s, 1);
    }
    atomic_fetch_add(self->done, 1);
    WEFT_END();
}

typedef struct spawner {
    WEFT_CORO_FIELDS;
    weft_semaphore *s;
    atomic_int inside, max_inside, done;
    int i;
    worker w;
    weft_join_handle hs[100];
} spawner;

WEFT_ASYNC(spawner, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 100; self->i++) {
        worker_start(&self->w);
        self->w.s = self->s;
        self->w.inside = &self->inside;
        self->w.max_inside = &self->max_inside;
        self->w.done = &self->done;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->w, out, NULL);
    }
    for (self->i = 0; self->i < 100; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_tasks_contend(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_semaphore s;
    weft_semaphore_init(&s, 3);
    spawner sp;
    spawner_start(&sp);
    sp.s = &s;
    sp.inside = sp.max_inside = sp.done = 0;
    assert_int_equal(weft_block_on(rt, &sp.base), 0);
    assert_int_equal(atomic_load(&sp.done), 100);
    if (test_is_multi_thread()) assert_true(atomic_load(&sp.max_inside) <= 3);
    else assert_int_equal(atomic_load(&sp.max_inside), 3);
    assert_int_equal(weft_semaphore_available(&s), 3);
    weft_runtime_destroy(rt);
    weft_semaphore_destroy(&s);
}

/* The cooperative budget: a task whose acquires are always ready still
 * yields to its neighbours. */
typedef struct greedy {
    WEFT_CORO_FIELDS;
    weft_semaphore *s;
    atomic_int *other_ran, *other_spawned;
    int *seen_other_at;
    int i;
    int out;
    weft_semaphore_acquire acq;
    weft_yield_now y;
} greedy;

WEFT_ASYNC(greedy, NULL) {
    WEFT_BEGIN();
    *self->seen_other_at = -1;
    /* Start once the neighbour is queued too (on multi_thread the root
     * spawns from another thread). */
    while (!atomic_load(self->other_spawned)) WEFT_AWAIT(weft_yield_now_init(&self->y));
    for (self->i = 0; self->i < 1000; self->i++) {
        WEFT_AWAIT(weft_semaphore_acquire_init(&self->acq, self->s));
        weft_semaphore_add_permits(self->s, 1);
        if (*self->seen_other_at < 0 && atomic_load(self->other_ran)) *self->seen_other_at = self->i;
    }
    WEFT_END();
}

typedef struct bump_once {
    weft_future base;
    atomic_int *flag;
    int out;
} bump_once;
static weft_poll bump_once_poll(weft_future *f, weft_context *cx) {
    atomic_store(((bump_once *)f)->flag, 1);
    return WEFT_READY;
}
static const weft_future_vtable bump_once_vtable = {bump_once_poll, NULL, "bump_once"};

typedef struct coop_root {
    WEFT_CORO_FIELDS;
    greedy g;
    bump_once b;
    atomic_int *spawned;
    weft_join_handle hg;
} coop_root;

WEFT_ASYNC(coop_root, NULL) {
    WEFT_BEGIN();
    self->hg = WEFT_SPAWN(cx->runtime, &self->g, out, NULL);
    WEFT_SPAWN_DETACHED(cx->runtime, &self->b);
    atomic_store(self->spawned, 1);
    WEFT_AWAIT(&self->hg.base);
    WEFT_END();
}

static void test_coop_budget(void **state) {
    (void)state;
    /* One task at a time, and the scenario itself runs as a task, so that
     * both tasks sit in the same run queue. */
    weft_runtime *rt = rt_new_single();
    int seen = -2;
    weft_semaphore s;
    weft_semaphore_init(&s, 1);
    atomic_int other = 0, spawned = 0;
    coop_root r;
    coop_root_start(&r);
    r.spawned = &spawned;
    greedy_start(&r.g);
    r.g.s = &s;
    r.g.other_ran = &other;
    r.g.other_spawned = &spawned;
    r.g.seen_other_at = &seen;
    weft_future_init(&r.b.base, &bump_once_vtable);
    r.b.flag = &other;
    assert_int_equal(run_as_task(rt, &r, sizeof r), 0);
    /* The neighbour ran after at most one budget's worth of acquires
     * (exactly one budget on current_thread). */
    print_message("neighbour ran after %d acquires\n", seen);
    assert_true(seen >= 0 && seen <= WEFT_COOP_BUDGET + 1);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_and_release),
        cmocka_unit_test(test_acquire_waits_and_fifo),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_cancel_passes_on),
        cmocka_unit_test(test_random_cancellations),
        cmocka_unit_test(test_threads_race_cancellations),
        cmocka_unit_test(test_tasks_contend),
        cmocka_unit_test(test_coop_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
