/* Fibers and coroutine tasks on one executor, waking each other: a
 * ping-pong over two channels between a fiber and a coroutine (and
 * between two fibers), fibers and coroutines contending for one mutex with
 * an await inside the critical section (never two holders, no update
 * lost), a semaphore shared as a pool of permits, notify in both
 * directions. On multi_thread the partners run on different workers.
 * weft-test: threaded  weft-test: timeout=300 */
#include "fiber_support.h"

#define ROUNDS (FIBER_TEST_SANITIZED ? 2000 : 20000)

/* ---- ping-pong ------------------------------------------------------------- */

typedef struct pingpong {
    weft_mpsc_tx *to_b, *to_a;
    weft_mpsc_rx *from_a, *from_b;
} pingpong;

/* The coroutine side: answers n with n + 1 until the channel closes. */
typedef struct coro_ponger {
    WEFT_CORO_FIELDS;
    pingpong *pp;
    weft_mpsc_recv r;
    weft_mpsc_send s;
    int v;
    int out;
} coro_ponger;

WEFT_ASYNC(coro_ponger, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->pp->from_a, &self->v));
        if (self->r.result != 0) break;
        self->v++;
        self->out++;
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->pp->to_a, &self->v));
        if (self->s.result != 0) break;
    }
    WEFT_END();
}

static void *fiber_ponger(void *arg) {
    pingpong *pp = arg;
    uintptr_t answered = 0;
    for (;;) {
        int v;
        weft_mpsc_recv r;
        FCHECK_EQ(weft_await(weft_mpsc_recv_init(&r, pp->from_a, &v)), 0);
        if (r.result != 0) break;
        v++;
        answered++;
        weft_mpsc_send s;
        FCHECK_EQ(weft_await(weft_mpsc_send_init(&s, pp->to_a, &v)), 0);
        if (s.result != 0) break;
    }
    return (void *)answered;
}

static void *fiber_pinger(void *arg) {
    pingpong *pp = arg;
    int v = 0;
    for (int i = 0; i < ROUNDS; i++) {
        weft_mpsc_send s;
        FCHECK_EQ(weft_await(weft_mpsc_send_init(&s, pp->to_b, &v)), 0);
        FCHECK_EQ(s.result, 0);
        weft_mpsc_recv r;
        int got = -1;
        FCHECK_EQ(weft_await(weft_mpsc_recv_init(&r, pp->from_b, &got)), 0);
        FCHECK_EQ(r.result, 0);
        FCHECK_EQ(got, v + 1);
        v = got;
    }
    weft_mpsc_tx_destroy(&pp->to_b); /* the partner sees the channel closed */
    return (void *)(uintptr_t)v;
}

static void pingpong_run(bool partner_is_fiber) {
    weft_runtime *rt = rt_new();
    pingpong pp;
    assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &pp.to_b, &pp.from_a), 0);
    assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &pp.to_a, &pp.from_b), 0);
    weft_join_handle partner;
    weft_fiber_output answered = {NULL, 0};
    int coro_answered = 0;
    if (partner_is_fiber) {
        partner = weft_fiber_spawn(rt, fiber_ponger, &pp, NULL);
        partner.out = &answered;
    } else {
        coro_ponger c;
        coro_ponger_start(&c);
        c.pp = &pp;
        c.out = 0;
        partner = WEFT_SPAWN(rt, &c, out, &coro_answered);
    }
    assert_int_equal((uintptr_t)run_fiber(rt, fiber_pinger, &pp), ROUNDS);
    assert_int_equal(weft_block_on(rt, &partner.base), 0);
    assert_int_equal(partner.result, 0);
    assert_int_equal(partner_is_fiber ? (int)(uintptr_t)answered.value : coro_answered, ROUNDS);
    weft_mpsc_tx_destroy(&pp.to_a);
    weft_mpsc_rx_destroy(&pp.from_a);
    weft_mpsc_rx_destroy(&pp.from_b);
    weft_runtime_destroy(rt);
}

static void test_pingpong_fiber_coroutine(void **state) {
    (void)state;
    pingpong_run(false);
}

static void test_pingpong_fiber_fiber(void **state) {
    (void)state;
    pingpong_run(true);
}

/* ---- one mutex, fibers and coroutines ------------------------------------------ */

#define LOCKERS 8
#define LOCK_ITERS (FIBER_TEST_SANITIZED ? 200 : 1000)

typedef struct locked {
    weft_mutex m;
    atomic_int holders;
    long counter; /* under m */
    atomic_int overlaps;
} locked;

static void *fiber_locker(void *arg) {
    locked *l = arg;
    for (int i = 0; i < LOCK_ITERS; i++) {
        weft_mutex_lock lk;
        FCHECK_EQ(weft_await(weft_mutex_lock_init(&lk, &l->m)), 0);
        if (atomic_fetch_add(&l->holders, 1) != 0) atomic_fetch_add(&l->overlaps, 1);
        long v = l->counter;
        if (i % 3 == 0) FCHECK_EQ(weft_fiber_yield(), 0); /* hold it across an await */
        l->counter = v + 1;
        atomic_fetch_sub(&l->holders, 1);
        weft_mutex_unlock(&l->m);
    }
    return NULL;
}

typedef struct coro_locker {
    WEFT_CORO_FIELDS;
    locked *l;
    int i;
    long v;
    weft_mutex_lock lk;
    weft_yield_now y;
    int out;
} coro_locker;

WEFT_ASYNC(coro_locker, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < LOCK_ITERS; self->i++) {
        WEFT_AWAIT(weft_mutex_lock_init(&self->lk, &self->l->m));
        if (atomic_fetch_add(&self->l->holders, 1) != 0) atomic_fetch_add(&self->l->overlaps, 1);
        self->v = self->l->counter;
        if (self->i % 3 == 1) WEFT_AWAIT(weft_yield_now_init(&self->y));
        self->l->counter = self->v + 1;
        atomic_fetch_sub(&self->l->holders, 1);
        weft_mutex_unlock(&self->l->m);
    }
    WEFT_END();
}

static void test_mutex_shared(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    locked l;
    weft_mutex_init(&l.m);
    atomic_init(&l.holders, 0);
    atomic_init(&l.overlaps, 0);
    l.counter = 0;
    weft_join_handle hs[2 * LOCKERS];
    for (int i = 0; i < LOCKERS; i++) {
        hs[i] = weft_fiber_spawn(rt, fiber_locker, &l, NULL);
        coro_locker c;
        coro_locker_start(&c);
        c.l = &l;
        hs[LOCKERS + i] = WEFT_SPAWN(rt, &c, out, NULL);
    }
    for (int i = 0; i < 2 * LOCKERS; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    assert_int_equal(l.counter, 2L * LOCKERS * LOCK_ITERS);
    assert_int_equal(atomic_load(&l.overlaps), 0);
    weft_runtime_destroy(rt);
    weft_mutex_destroy(&l.m);
}

/* ---- a semaphore as a pool; notify both ways ------------------------------------- */

typedef struct pool {
    weft_semaphore sem;
    atomic_int in_use, max_in_use;
    weft_notify to_fiber, to_coro;
} pool;

static void *pool_user(void *arg) {
    pool *p = arg;
    for (int i = 0; i < 200; i++) {
        weft_semaphore_acquire a;
        FCHECK_EQ(weft_await(weft_semaphore_acquire_init(&a, &p->sem)), 0);
        FCHECK_EQ(a.result, 0);
        int now = atomic_fetch_add(&p->in_use, 1) + 1;
        int max = atomic_load(&p->max_in_use);
        while (now > max && !atomic_compare_exchange_weak(&p->max_in_use, &max, now)) {}
        FCHECK_EQ(weft_fiber_yield(), 0);
        atomic_fetch_sub(&p->in_use, 1);
        weft_semaphore_add_permits(&p->sem, 1);
    }
    return NULL;
}

typedef struct coro_notifier {
    WEFT_CORO_FIELDS;
    pool *p;
    int i;
    weft_notified n;
    int out;
} coro_notifier;

/* Notifies the fiber, waits to be notified back, 500 times. */
WEFT_ASYNC(coro_notifier, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 500; self->i++) {
        weft_notify_one(&self->p->to_fiber);
        WEFT_AWAIT(weft_notify_notified_init(&self->n, &self->p->to_coro));
    }
    self->out = self->i;
    WEFT_END();
}

static void *fiber_notified(void *arg) {
    pool *p = arg;
    for (int i = 0; i < 500; i++) {
        weft_notified n;
        FCHECK_EQ(weft_await(weft_notify_notified_init(&n, &p->to_fiber)), 0);
        weft_notify_one(&p->to_coro);
    }
    return NULL;
}

static void test_semaphore_and_notify(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    pool p;
    weft_semaphore_init(&p.sem, 3);
    atomic_init(&p.in_use, 0);
    atomic_init(&p.max_in_use, 0);
    weft_notify_init(&p.to_fiber);
    weft_notify_init(&p.to_coro);
    weft_join_handle hs[10];
    for (int i = 0; i < 8; i++) hs[i] = weft_fiber_spawn(rt, pool_user, &p, NULL);
    coro_notifier c;
    coro_notifier_start(&c);
    c.p = &p;
    int rounds = 0;
    hs[8] = WEFT_SPAWN(rt, &c, out, &rounds);
    hs[9] = weft_fiber_spawn(rt, fiber_notified, &p, NULL);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    assert_int_equal(rounds, 500);
    assert_true(atomic_load(&p.max_in_use) <= 3);
    assert_int_equal(weft_semaphore_available(&p.sem), 3);
    weft_runtime_destroy(rt);
    weft_semaphore_destroy(&p.sem);
    weft_notify_destroy(&p.to_fiber);
    weft_notify_destroy(&p.to_coro);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pingpong_fiber_coroutine),
        cmocka_unit_test(test_pingpong_fiber_fiber),
        cmocka_unit_test(test_mutex_shared),
        cmocka_unit_test(test_semaphore_and_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
