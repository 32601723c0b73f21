/* Notify and Barrier: the stored permit, FIFO notify_one, notify_waiters
 * (including futures created before it but not yet polled), forwarding of a
 * dropped notification, a plain thread notifying a task; barrier rounds with
 * one leader, un-arriving on drop.  weft-test: threaded */
#include "sync_support.h"

static void test_permit_stored_once(void **state) {
    (void)state;
    weft_notify n;
    weft_notify_init(&n);
    hand h = {0};
    weft_notified a, b;
    weft_notify_one(&n);
    weft_notify_one(&n); /* permits do not accumulate */
    weft_notify_notified_init(&a, &n);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_READY);
    weft_notify_notified_init(&b, &n);
    assert_int_equal(hand_poll(&h, &b.base), WEFT_PENDING);
    weft_notify_one(&n);
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &b.base), WEFT_READY);
    /* Nothing stored now. */
    weft_notify_notified_init(&a, &n);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_PENDING);
    weft_future_drop(&a.base);
    hand_check_balanced(&h);
    weft_notify_destroy(&n);
}

static void test_fifo_and_forwarding(void **state) {
    (void)state;
    weft_notify n;
    weft_notify_init(&n);
    hand h[3] = {0};
    weft_notified f[3];
    for (int i = 0; i < 3; i++) {
        weft_notify_notified_init(&f[i], &n);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
    }
    weft_notify_one(&n);
    assert_int_equal(hand_wakes(&h[0]), 1); /* the oldest */
    assert_int_equal(hand_wakes(&h[1]), 0);
    weft_future_drop(&f[0].base);           /* dropped before it saw it: forwarded */
    assert_int_equal(hand_wakes(&h[1]), 1);
    assert_int_equal(hand_poll(&h[1], &f[1].base), WEFT_READY);
    weft_future_drop(&f[2].base); /* a plain waiter just leaves */
    /* A forwarded notification with no waiter left becomes the permit. */
    weft_notify_notified_init(&f[0], &n);
    assert_int_equal(hand_poll(&h[0], &f[0].base), WEFT_PENDING);
    weft_notify_one(&n);
    weft_future_drop(&f[0].base);
    weft_notify_notified_init(&f[0], &n);
    assert_int_equal(hand_poll(&h[0], &f[0].base), WEFT_READY);
    for (int i = 0; i < 3; i++) hand_check_balanced(&h[i]);
    weft_notify_destroy(&n);
}

static void test_notify_waiters(void **state) {
    (void)state;
    weft_notify n;
    weft_notify_init(&n);
    enum { N = 100 }; /* more than one wake batch */
    static hand h[N];
    static weft_notified f[N];
    memset(h, 0, sizeof h);
    for (int i = 0; i < N; i++) {
        weft_notify_notified_init(&f[i], &n);
        if (i < N - 10) assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
    }
    /* The last 10 were created but never polled: they complete too. */
    weft_notify_waiters(&n);
    for (int i = 0; i < N; i++) {
        assert_int_equal(hand_wakes(&h[i]), i < N - 10 ? 1 : 0);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_READY);
    }
    /* No permit was stored; a later future waits. */
    weft_notify_notified_init(&f[0], &n);
    assert_int_equal(hand_poll(&h[0], &f[0].base), WEFT_PENDING);
    weft_future_drop(&f[0].base);
    for (int i = 0; i < N; i++) hand_check_balanced(&h[i]);
    weft_notify_destroy(&n);
}

/* ---- a plain thread and a task ping-pong through two Notifys --------------- */

#define PINGS 20000

typedef struct pp {
    weft_notify ping, pong;
    long got;
} pp;

typedef struct ponger {
    WEFT_CORO_FIELDS;
    pp *p;
    long i;
    weft_notified nf;
} ponger;

WEFT_ASYNC(ponger, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < PINGS; self->i++) {
        WEFT_AWAIT(weft_notify_notified_init(&self->nf, &self->p->ping));
        self->p->got++;
        weft_notify_one(&self->p->pong);
    }
    WEFT_END();
}

static void *pinger_thread(void *arg) {
    pp *p = arg;
    for (long i = 0; i < PINGS; i++) {
        weft_notify_one(&p->ping);
        weft_notified nf;
        assert_int_equal(weft_wait_blocking(weft_notify_notified_init(&nf, &p->pong)), 0);
    }
    return NULL;
}

static void test_thread_ping_pong(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    pp p;
    weft_notify_init(&p.ping);
    weft_notify_init(&p.pong);
    p.got = 0;
    pthread_t th;
    pthread_create(&th, NULL, pinger_thread, &p);
    ponger g;
    ponger_start(&g);
    g.p = &p;
    assert_int_equal(weft_block_on(rt, &g.base), 0);
    pthread_join(th, NULL);
    assert_int_equal(p.got, PINGS);
    weft_notify_destroy(&p.ping);
    weft_notify_destroy(&p.pong);
    weft_runtime_destroy(rt);
}

/* ---- Barrier ------------------------------------------------------------------ */

static void test_barrier_hand(void **state) {
    (void)state;
    weft_barrier b;
    weft_barrier_init(&b, 3);
    hand h[3] = {0};
    weft_barrier_wait w[3];
    for (int round = 0; round < 3; round++) {
        weft_barrier_wait_init(&w[0], &b);
        weft_barrier_wait_init(&w[1], &b);
        weft_barrier_wait_init(&w[2], &b);
        assert_int_equal(hand_poll(&h[0], &w[0].base), WEFT_PENDING);
        assert_int_equal(hand_poll(&h[1], &w[1].base), WEFT_PENDING);
        if (round == 1) { /* one party leaves before the round completes */
            weft_future_drop(&w[1].base);
            assert_int_equal(hand_poll(&h[2], &w[2].base), WEFT_PENDING);
            weft_barrier_wait_init(&w[1], &b);
            assert_int_equal(hand_poll(&h[1], &w[1].base), WEFT_READY);
            assert_true(w[1].is_leader);
            assert_int_equal(hand_wakes(&h[0]), 1);
            assert_int_equal(hand_wakes(&h[2]), 1);
            assert_int_equal(hand_poll(&h[0], &w[0].base), WEFT_READY);
            assert_int_equal(hand_poll(&h[2], &w[2].base), WEFT_READY);
            assert_false(w[0].is_leader || w[2].is_leader);
            continue;
        }
        assert_int_equal(hand_poll(&h[2], &w[2].base), WEFT_READY);
        assert_true(w[2].is_leader);
        assert_int_equal(hand_poll(&h[0], &w[0].base), WEFT_READY);
        assert_int_equal(hand_poll(&h[1], &w[1].base), WEFT_READY);
        assert_false(w[0].is_leader || w[1].is_leader);
        hand_wakes(&h[0]);
        hand_wakes(&h[1]);
    }
    for (int i = 0; i < 3; i++) hand_check_balanced(&h[i]);
    weft_barrier_destroy(&b);
}

#define PARTIES 50
#define ROUNDS 20

typedef struct party {
    WEFT_CORO_FIELDS;
    weft_barrier *b;
    atomic_int *arrived; /* per round */
    atomic_int *leaders;
    int round;
    weft_barrier_wait w;
    int out;
} party;

WEFT_ASYNC(party, NULL) {
    WEFT_BEGIN();
    for (self->round = 0; self->round < ROUNDS; self->round++) {
        atomic_fetch_add(&self->arrived[self->round], 1);
        WEFT_AWAIT(weft_barrier_wait_init(&self->w, self->b));
        /* Nobody passes before everybody arrived. */
        assert_int_equal(atomic_load(&self->arrived[self->round]), PARTIES);
        if (self->w.is_leader) atomic_fetch_add(&self->leaders[self->round], 1);
    }
    WEFT_END();
}

typedef struct party_root {
    WEFT_CORO_FIELDS;
    weft_barrier b;
    atomic_int arrived[ROUNDS], leaders[ROUNDS];
    party p;
    weft_join_handle hs[PARTIES];
    int i;
} party_root;

WEFT_ASYNC(party_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < PARTIES; self->i++) {
        party_start(&self->p);
        self->p.b = &self->b;
        self->p.arrived = self->arrived;
        self->p.leaders = self->leaders;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->p, out, NULL);
    }
    for (self->i = 0; self->i < PARTIES; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_barrier_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    party_root r;
    memset(&r, 0, sizeof r);
    party_root_start(&r);
    weft_barrier_init(&r.b, PARTIES);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    for (int i = 0; i < ROUNDS; i++) assert_int_equal(atomic_load(&r.leaders[i]), 1);
    weft_barrier_destroy(&r.b);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permit_stored_once),
        cmocka_unit_test(test_fifo_and_forwarding),
        cmocka_unit_test(test_notify_waiters),
        cmocka_unit_test(test_thread_ping_pong),
        cmocka_unit_test(test_barrier_hand),
        cmocka_unit_test(test_barrier_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
