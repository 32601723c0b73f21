/* broadcast and watch: every receiver sees every message, exact lag counts,
 * closed after the senders go (drained first), no receivers; a thread
 * broadcasting to tasks; watch's latest value, changed() coalescing,
 * borrow_and_update, closed ends, a thread sending to waiting tasks.
 * weft-test: threaded */
#include "sync_support.h"

static void test_broadcast_every_receiver(void **state) {
    (void)state;
    weft_broadcast_tx *tx;
    weft_broadcast_rx *a, *b;
    assert_int_equal(weft_broadcast_create(sizeof(int), 8, NULL, &tx, &a), 0);
    b = weft_broadcast_subscribe(tx);
    hand ha = {0}, hb = {0};
    int va, vb;
    weft_broadcast_recv ra, rb;
    weft_broadcast_recv_init(&ra, a, &va);
    weft_broadcast_recv_init(&rb, b, &vb);
    assert_int_equal(hand_poll(&ha, &ra.base), WEFT_PENDING);
    assert_int_equal(hand_poll(&hb, &rb.base), WEFT_PENDING);
    assert_int_equal(weft_broadcast_send(tx, &(int){1}), 2);
    assert_int_equal(hand_wakes(&ha), 1);
    assert_int_equal(hand_wakes(&hb), 1);
    assert_int_equal(weft_broadcast_send(tx, &(int){2}), 2);
    assert_int_equal(hand_poll(&ha, &ra.base), WEFT_READY);
    assert_int_equal(va, 1);
    assert_int_equal(hand_poll(&hb, &rb.base), WEFT_READY);
    assert_int_equal(vb, 1);
    assert_int_equal(weft_broadcast_try_recv(a, &va, NULL), 0);
    assert_int_equal(va, 2);
    assert_int_equal(weft_broadcast_try_recv(a, &va, NULL), -EAGAIN);
    assert_int_equal(weft_broadcast_rx_pending(b), 1);
    /* A late subscriber sees only what comes after. */
    weft_broadcast_rx *c = weft_broadcast_subscribe(tx);
    assert_int_equal(weft_broadcast_try_recv(c, &va, NULL), -EAGAIN);
    /* A clone starts where its original stands. */
    weft_broadcast_rx *b2 = weft_broadcast_rx_clone(b);
    assert_int_equal(weft_broadcast_try_recv(b2, &vb, NULL), 0);
    assert_int_equal(vb, 2);
    weft_broadcast_rx_destroy(&b2);
    weft_broadcast_rx_destroy(&c);
    /* A dropped pending receive leaves the list and its waker. */
    weft_broadcast_recv_init(&ra, a, &va);
    assert_int_equal(hand_poll(&ha, &ra.base), WEFT_PENDING);
    weft_future_drop(&ra.base);
    assert_int_equal(weft_broadcast_send(tx, &(int){3}), 2);
    assert_int_equal(hand_wakes(&ha), 0);
    weft_broadcast_rx_destroy(&a);
    weft_broadcast_rx_destroy(&b);
    assert_int_equal(weft_broadcast_send(tx, &(int){4}), -WEFT_ECLOSED); /* no receivers */
    weft_broadcast_tx_destroy(&tx);
    hand_check_balanced(&ha);
    hand_check_balanced(&hb);
}

static void test_broadcast_lag(void **state) {
    (void)state;
    weft_broadcast_tx *tx;
    weft_broadcast_rx *slow, *fast;
    assert_int_equal(weft_broadcast_create(sizeof(int), 3, NULL, &tx, &slow), 0); /* capacity 4 */
    fast = weft_broadcast_subscribe(tx);
    int v;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(weft_broadcast_send(tx, &i), 2);
        assert_int_equal(weft_broadcast_try_recv(fast, &v, NULL), 0);
        assert_int_equal(v, i);
    }
    /* slow missed 0..5 (6 messages) and now reads 6..9. */
    hand h = {0};
    weft_broadcast_recv r;
    weft_broadcast_recv_init(&r, slow, &v);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
    assert_int_equal(r.result, -WEFT_ELAGGED);
    assert_int_equal(r.result, -WEFT_ELAGGED);
    assert_int_equal(r.missed, 6);
    for (int i = 6; i < 10; i++) {
        weft_broadcast_recv_init(&r, slow, &v);
        assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
        assert_int_equal(r.result, 0);
        assert_int_equal(v, i);
    }
    /* try_recv reports the count too. */
    for (int i = 0; i < 9; i++) weft_broadcast_send(tx, &i);
    uint64_t missed = 0;
    assert_int_equal(weft_broadcast_try_recv(slow, &v, &missed), -WEFT_ELAGGED);
    assert_int_equal(missed, 5);
    assert_int_equal(weft_broadcast_try_recv(slow, &v, &missed), 0);
    assert_int_equal(v, 5);
    /* Senders gone: receivers drain, then see closed. */
    weft_broadcast_tx_destroy(&tx);
    for (int i = 6; i < 9; i++) {
        assert_int_equal(weft_broadcast_try_recv(slow, &v, NULL), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(weft_broadcast_try_recv(slow, &v, NULL), -WEFT_ECLOSED);
    weft_broadcast_rx_destroy(&slow);
    weft_broadcast_rx_destroy(&fast);
    hand_check_balanced(&h);
}

/* ---- a thread broadcasts to many waiting tasks -------------------------- */

#define LISTENERS 40
#define BROADCASTS 3000

typedef struct listener {
    WEFT_CORO_FIELDS;
    weft_broadcast_rx *rx;
    int v, expect;
    long sum, lagged;
    weft_broadcast_recv r;
    long out;
} listener;

WEFT_ASYNC(listener, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_broadcast_recv_init(&self->r, self->rx, &self->v));
        if (self->r.result == -WEFT_ECLOSED) break;
        if (self->r.result == -WEFT_ELAGGED) {
            self->lagged += (long)self->r.missed;
            self->expect += (int)self->r.missed;
            continue;
        }
        assert_int_equal(self->v, self->expect); /* in order, none skipped silently */
        self->expect++;
        self->sum++;
    }
    self->out = self->sum + self->lagged;
    weft_broadcast_rx_destroy(&self->rx);
    WEFT_END();
}

typedef struct listen_root {
    WEFT_CORO_FIELDS;
    weft_broadcast_rx **rxs;
    listener l;
    weft_join_handle hs[LISTENERS];
    long totals[LISTENERS];
    int i;
} listen_root;

WEFT_ASYNC(listen_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < LISTENERS; self->i++) {
        listener_start(&self->l);
        self->l.rx = self->rxs[self->i];
        self->l.expect = 0;
        self->l.sum = self->l.lagged = 0;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->l, out, &self->totals[self->i]);
    }
    for (self->i = 0; self->i < LISTENERS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void *broadcaster(void *p) {
    weft_broadcast_tx *tx = p;
    for (int i = 0; i < BROADCASTS; i++) {
        assert_true(weft_broadcast_send(tx, &i) > 0);
        if (i % 16 == 0) sched_yield();
    }
    weft_broadcast_tx_destroy(&tx);
    return NULL;
}

static void test_broadcast_thread_to_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_broadcast_tx *tx;
    assert_int_equal(weft_broadcast_create(sizeof(int), 64, NULL, &tx, NULL), 0);
    weft_broadcast_rx *rxs[LISTENERS];
    for (int i = 0; i < LISTENERS; i++) rxs[i] = weft_broadcast_subscribe(tx);
    pthread_t th;
    pthread_create(&th, NULL, broadcaster, tx);
    listen_root r;
    listen_root_start(&r);
    r.rxs = rxs;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    pthread_join(th, NULL);
    /* Every message was either received or counted as missed. */
    for (int i = 0; i < LISTENERS; i++) assert_int_equal(r.totals[i], BROADCASTS);
    weft_runtime_destroy(rt);
}

/* ---- watch ---------------------------------------------------------------- */

static void test_watch_basics(void **state) {
    (void)state;
    weft_watch_tx *tx;
    weft_watch_rx *rx;
    int init = 1, v = 0;
    assert_int_equal(weft_watch_create(sizeof(int), &init, NULL, &tx, &rx), 0);
    weft_watch_borrow(rx, &v);
    assert_int_equal(v, 1);
    assert_int_equal(weft_watch_has_changed(rx), 0);
    hand h = {0};
    weft_watch_changed c;
    weft_watch_changed_init(&c, rx);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_PENDING);
    assert_int_equal(weft_watch_send(tx, &(int){2}), 0);
    assert_int_equal(weft_watch_send(tx, &(int){3}), 0); /* coalesced into one change */
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_READY);
    assert_int_equal(c.result, 0);
    weft_watch_borrow(rx, &v);
    assert_int_equal(v, 3);
    weft_watch_changed_init(&c, rx);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_PENDING); /* 3 was seen */
    weft_future_drop(&c.base);

    /* borrow_and_update marks seen; a new receiver starts at the current value. */
    weft_watch_send_replace(tx, &(int){4}, &v);
    assert_int_equal(v, 3);
    weft_watch_rx *rx2 = weft_watch_subscribe(tx);
    assert_int_equal(weft_watch_has_changed(rx2), 0);
    weft_watch_rx *rx3 = weft_watch_rx_clone(rx);
    assert_int_equal(weft_watch_has_changed(rx3), 1);
    assert_int_equal(weft_watch_has_changed(rx), 1);
    weft_watch_borrow_and_update(rx, &v);
    assert_int_equal(v, 4);
    assert_int_equal(weft_watch_has_changed(rx), 0);
    assert_int_equal(weft_watch_receiver_count(tx), 3);

    /* Sender destroyed: changed() reports closed (after a pending change). */
    weft_watch_changed_init(&c, rx);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_PENDING);
    weft_watch_tx_destroy(&tx);
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_READY);
    assert_int_equal(c.result, -WEFT_ECLOSED);
    assert_int_equal(weft_watch_has_changed(rx), -WEFT_ECLOSED);
    assert_int_equal(weft_watch_has_changed(rx3), 1);
    weft_watch_changed_init(&c, rx3);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_READY);
    assert_int_equal(c.result, 0);
    weft_watch_rx_destroy(&rx);
    weft_watch_rx_destroy(&rx2);
    weft_watch_rx_destroy(&rx3);

    /* No receivers: send fails and does not store. */
    assert_int_equal(weft_watch_create(sizeof(int), NULL, NULL, &tx, &rx), 0);
    weft_watch_rx_destroy(&rx);
    assert_int_equal(weft_watch_send(tx, &(int){9}), -WEFT_ECLOSED);
    weft_watch_tx_borrow(tx, &v);
    assert_int_equal(v, 0);
    weft_watch_tx_destroy(&tx);
    hand_check_balanced(&h);
}

/* A thread publishes increasing values; tasks wait for changes and must
 * end up seeing the final one. */
#define WATCHERS 10
#define UPDATES 5000

typedef struct watcher {
    WEFT_CORO_FIELDS;
    weft_watch_rx *rx;
    int last, v;
    weft_watch_changed c;
    int out;
} watcher;

WEFT_ASYNC(watcher, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_watch_changed_init(&self->c, self->rx));
        if (self->c.result != 0) break;
        /* borrow_and_update: the value read is the one marked seen, so the
         * next change is a strictly newer value. */
        weft_watch_borrow_and_update(self->rx, &self->v);
        assert_true(self->v > self->last); /* values only move forward */
        self->last = self->v;
    }
    weft_watch_borrow(self->rx, &self->v);
    self->out = self->v;
    weft_watch_rx_destroy(&self->rx);
    WEFT_END();
}

static bool add_one(void *value, void *arg) {
    (void)arg;
    (*(int *)value)++;
    return true;
}

static void *updater(void *p) {
    weft_watch_tx *tx = p;
    for (int i = 1; i <= UPDATES; i++) {
        if (i % 2) weft_watch_send_modify(tx, add_one, NULL);
        else assert_int_equal(weft_watch_send(tx, &i), 0);
    }
    weft_watch_tx_destroy(&tx);
    return NULL;
}

typedef struct watch_root {
    WEFT_CORO_FIELDS;
    weft_watch_rx **rxs;
    watcher w;
    weft_join_handle hs[WATCHERS];
    int finals[WATCHERS];
    int i;
} watch_root;

WEFT_ASYNC(watch_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < WATCHERS; self->i++) {
        watcher_start(&self->w);
        self->w.rx = self->rxs[self->i];
        self->w.last = 0;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->w, out, &self->finals[self->i]);
    }
    for (self->i = 0; self->i < WATCHERS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_watch_thread_to_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_watch_tx *tx;
    assert_int_equal(weft_watch_create(sizeof(int), NULL, NULL, &tx, NULL), 0);
    /* Subscribe before the thread starts so no send is refused. */
    weft_watch_rx *rxs[WATCHERS];
    for (int i = 0; i < WATCHERS; i++) rxs[i] = weft_watch_subscribe(tx);
    weft_watch_rx *keep = weft_watch_subscribe(tx);
    watch_root r;
    watch_root_start(&r);
    r.rxs = rxs;
    pthread_t th;
    pthread_create(&th, NULL, updater, tx);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    pthread_join(th, NULL);
    for (int i = 0; i < WATCHERS; i++) assert_int_equal(r.finals[i], UPDATES);
    weft_watch_rx_destroy(&keep);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_every_receiver),
        cmocka_unit_test(test_broadcast_lag),
        cmocka_unit_test(test_broadcast_thread_to_tasks),
        cmocka_unit_test(test_watch_basics),
        cmocka_unit_test(test_watch_thread_to_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
