/* Channel ends after they end, in every build, release included: a destroy
 * empties the caller's handle, so destroying it again does nothing and
 * every operation on the emptied handle fails with -WEFT_ECLOSED (or
 * answers "closed"); sends on a shut-down channel fail and leave the
 * message with the caller; an mpsc permit used twice is refused; an end
 * destroyed while its future is pending aborts (oneshot, mpsc: every
 * build; broadcast, watch: debug builds). Each case runs in a child
 * process so that a crash or an abort is reported, not fatal.
 * weft-test: release */
#include "sync_support.h"

static void oneshot_ends(void) {
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    int v = 1, out = 0;
    CHILD_CHECK(weft_oneshot_create(sizeof v, NULL, &tx, &rx) == 0);
    weft_oneshot_tx_destroy(&tx);
    CHILD_CHECK(tx == NULL);
    weft_oneshot_tx_destroy(&tx); /* again: nothing */
    weft_oneshot_tx_destroy(NULL);
    CHILD_CHECK(weft_oneshot_send(tx, &v) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_oneshot_tx_is_closed(tx));
    hand h = {0};
    weft_oneshot_closed c;
    CHILD_CHECK(hand_poll(&h, weft_oneshot_closed_init(&c, tx)) == WEFT_READY);
    weft_oneshot_rx_destroy(&rx);
    weft_oneshot_rx_destroy(&rx);
    CHILD_CHECK(weft_oneshot_try_recv(rx, &out) == -WEFT_ECLOSED);
    weft_oneshot_rx_shutdown(rx);
    weft_oneshot_recv r;
    CHILD_CHECK(hand_poll(&h, weft_oneshot_recv_init(&r, rx, &out)) == WEFT_READY && r.result == -WEFT_ECLOSED);
    weft_future_drop(&r.base);
}

static void mpsc_ends(void) {
    weft_mpsc_tx *tx, *tx2;
    weft_mpsc_rx *rx;
    int v = 1, out = 0;
    hand h = {0};
    CHILD_CHECK(weft_mpsc_create(sizeof v, 2, NULL, &tx, &rx) == 0);
    tx2 = weft_mpsc_tx_clone(tx);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_tx_destroy(&tx); /* again: the channel still has one sender */
    CHILD_CHECK(weft_mpsc_try_send(tx2, &v) == 0);
    CHILD_CHECK(weft_mpsc_try_recv(rx, &out) == 0 && out == 1);
    CHILD_CHECK(weft_mpsc_try_recv(rx, &out) == -EAGAIN); /* not closed: tx2 lives */
    CHILD_CHECK(weft_mpsc_try_send(tx, &v) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_mpsc_tx_is_closed(tx) && weft_mpsc_tx_clone(tx) == NULL);
    weft_mpsc_permit p;
    CHILD_CHECK(weft_mpsc_try_reserve(tx, &p) == -WEFT_ECLOSED && p.chan == NULL);
    weft_mpsc_send s;
    CHILD_CHECK(hand_poll(&h, weft_mpsc_send_init(&s, tx, &v)) == WEFT_READY && s.result == -WEFT_ECLOSED);
    weft_mpsc_reserve rs;
    CHILD_CHECK(hand_poll(&h, weft_mpsc_reserve_init(&rs, tx)) == WEFT_READY && rs.result == -WEFT_ECLOSED);
    weft_mpsc_tx_destroy(&tx2);
    CHILD_CHECK(weft_mpsc_try_recv(rx, &out) == -WEFT_ECLOSED);
    weft_mpsc_rx_destroy(&rx);
    weft_mpsc_rx_destroy(&rx);
    CHILD_CHECK(weft_mpsc_try_recv(rx, &out) == -WEFT_ECLOSED && weft_mpsc_len(rx) == 0);
    weft_mpsc_rx_shutdown(rx);
    weft_mpsc_recv r;
    CHILD_CHECK(hand_poll(&h, weft_mpsc_recv_init(&r, rx, &out)) == WEFT_READY && r.result == -WEFT_ECLOSED);
}

static void mpsc_permit_twice(void) {
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    int v = 7, out = 0;
    CHILD_CHECK(weft_mpsc_create(sizeof v, 1, NULL, &tx, &rx) == 0);
    weft_mpsc_permit p = {0};
    weft_mpsc_permit_destroy(&p); /* an empty permit: nothing */
    CHILD_CHECK(weft_mpsc_permit_send(&p, &v) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_mpsc_try_reserve(tx, &p) == 0);
    CHILD_CHECK(weft_mpsc_permit_send(&p, &v) == 0);
    CHILD_CHECK(weft_mpsc_permit_send(&p, &v) == -WEFT_ECLOSED); /* used: not sent twice */
    weft_mpsc_permit_destroy(&p);                                  /* gives back nothing */
    CHILD_CHECK(weft_mpsc_len(rx) == 1);
    CHILD_CHECK(weft_mpsc_try_recv(rx, &out) == 0 && out == 7);
    /* The slot count is intact: exactly one slot again. */
    CHILD_CHECK(weft_mpsc_try_send(tx, &v) == 0 && weft_mpsc_try_send(tx, &v) == -EAGAIN);
    CHILD_CHECK(weft_mpsc_try_reserve(tx, &p) == -EAGAIN);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_rx_destroy(&rx);
}

static void broadcast_ends(void) {
    weft_broadcast_tx *tx;
    weft_broadcast_rx *rx, *rx2;
    int v = 1, out = 0;
    hand h = {0};
    CHILD_CHECK(weft_broadcast_create(sizeof v, 2, NULL, &tx, &rx) == 0);
    rx2 = weft_broadcast_rx_clone(rx);
    weft_broadcast_rx_destroy(&rx);
    weft_broadcast_rx_destroy(&rx);
    CHILD_CHECK(weft_broadcast_send(tx, &v) == 1); /* rx2 only */
    CHILD_CHECK(weft_broadcast_try_recv(rx, &out, NULL) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_broadcast_rx_clone(rx) == NULL && weft_broadcast_rx_pending(rx) == 0);
    weft_broadcast_recv r;
    CHILD_CHECK(hand_poll(&h, weft_broadcast_recv_init(&r, rx, &out)) == WEFT_READY && r.result == -WEFT_ECLOSED);
    weft_broadcast_tx_destroy(&tx);
    weft_broadcast_tx_destroy(&tx);
    CHILD_CHECK(weft_broadcast_send(tx, &v) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_broadcast_subscribe(tx) == NULL && weft_broadcast_tx_clone(tx) == NULL);
    CHILD_CHECK(weft_broadcast_try_recv(rx2, &out, NULL) == 0 && out == 1);
    CHILD_CHECK(weft_broadcast_try_recv(rx2, &out, NULL) == -WEFT_ECLOSED);
    weft_broadcast_rx_destroy(&rx2);
}

static void watch_ends(void) {
    weft_watch_tx *tx;
    weft_watch_rx *rx;
    int v = 1, out = 0;
    hand h = {0};
    CHILD_CHECK(weft_watch_create(sizeof v, &v, NULL, &tx, &rx) == 0);
    weft_watch_rx *rx2 = weft_watch_rx_clone(rx);
    weft_watch_rx_destroy(&rx);
    weft_watch_rx_destroy(&rx);
    CHILD_CHECK(weft_watch_borrow(rx, &out) == -WEFT_ECLOSED && weft_watch_borrow_and_update(rx, &out) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_watch_has_changed(rx) == -WEFT_ECLOSED && weft_watch_rx_clone(rx) == NULL);
    weft_watch_changed c;
    CHILD_CHECK(hand_poll(&h, weft_watch_changed_init(&c, rx)) == WEFT_READY && c.result == -WEFT_ECLOSED);
    CHILD_CHECK(weft_watch_receiver_count(tx) == 1);
    weft_watch_tx_destroy(&tx);
    weft_watch_tx_destroy(&tx);
    CHILD_CHECK(weft_watch_send(tx, &v) == -WEFT_ECLOSED && weft_watch_send_replace(tx, &v, NULL) == -WEFT_ECLOSED);
    CHILD_CHECK(weft_watch_tx_borrow(tx, &out) == -WEFT_ECLOSED && weft_watch_subscribe(tx) == NULL);
    CHILD_CHECK(weft_watch_receiver_count(tx) == 0);
    CHILD_CHECK(weft_watch_borrow(rx2, &out) == 0 && out == 1);
    weft_watch_rx_destroy(&rx2);
}

static void test_ends_after_destroy(void **state) {
    (void)state;
    void (*cases[])(void) = {oneshot_ends, mpsc_ends, mpsc_permit_twice, broadcast_ends, watch_ends};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_no_misuse(cases[i]);
}

/* Sends on a channel that was shut down fail and take nothing. */
static void test_send_after_shutdown(void **state) {
    (void)state;
    hand h = {0};
    int v = 5, out = 0;

    weft_oneshot_tx *otx;
    weft_oneshot_rx *orx;
    assert_int_equal(weft_oneshot_create(sizeof v, NULL, &otx, &orx), 0);
    weft_oneshot_rx_shutdown(orx);
    weft_oneshot_rx_shutdown(orx); /* idempotent */
    assert_true(weft_oneshot_tx_is_closed(otx));
    assert_int_equal(weft_oneshot_send(otx, &v), -WEFT_ECLOSED);
    assert_int_equal(weft_oneshot_try_recv(orx, &out), -EAGAIN); /* the sender lives: nothing came */
    weft_oneshot_tx_destroy(&otx);
    assert_int_equal(weft_oneshot_try_recv(orx, &out), -WEFT_ECLOSED);
    weft_oneshot_rx_destroy(&orx);

    for (int bounded = 0; bounded < 2; bounded++) {
        weft_mpsc_tx *tx;
        weft_mpsc_rx *rx;
        assert_int_equal(weft_mpsc_create(sizeof v, bounded ? 4 : WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
        weft_mpsc_rx_shutdown(rx);
        weft_mpsc_rx_shutdown(rx);
        assert_true(weft_mpsc_tx_is_closed(tx));
        assert_int_equal(weft_mpsc_try_send(tx, &v), -WEFT_ECLOSED);
        weft_mpsc_send s;
        assert_int_equal(hand_poll(&h, weft_mpsc_send_init(&s, tx, &v)), WEFT_READY);
        assert_int_equal(s.result, -WEFT_ECLOSED);
        weft_mpsc_permit p;
        assert_int_equal(weft_mpsc_try_reserve(tx, &p), -WEFT_ECLOSED);
        assert_int_equal(weft_mpsc_try_recv(rx, &out), -WEFT_ECLOSED);
        weft_mpsc_tx_destroy(&tx);
        weft_mpsc_rx_destroy(&rx);
    }

    weft_semaphore sem;
    weft_semaphore_init(&sem, 1);
    weft_semaphore_shutdown(&sem);
    assert_int_equal(weft_semaphore_try_acquire(&sem, 1), -WEFT_ECLOSED);
    weft_semaphore_acquire a;
    assert_int_equal(hand_poll(&h, weft_semaphore_acquire_init(&a, &sem)), WEFT_READY);
    assert_int_equal(a.result, -WEFT_ECLOSED);
    weft_semaphore_destroy(&sem);
    hand_check_balanced(&h);
}

/* ---- destroying an end whose future is still pending ----------------------- */

static void oneshot_rx_destroy_pending(void) {
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    int out;
    hand h = {0};
    weft_oneshot_create(sizeof out, NULL, &tx, &rx);
    weft_oneshot_recv r;
    hand_poll(&h, weft_oneshot_recv_init(&r, rx, &out));
    weft_oneshot_rx_destroy(&rx);
}

static void oneshot_tx_destroy_pending(void) {
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    hand h = {0};
    weft_oneshot_create(sizeof(int), NULL, &tx, &rx);
    weft_oneshot_closed c;
    hand_poll(&h, weft_oneshot_closed_init(&c, tx));
    weft_oneshot_tx_destroy(&tx);
}

static void mpsc_rx_destroy_pending(void) {
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    int out;
    hand h = {0};
    weft_mpsc_create(sizeof out, 1, NULL, &tx, &rx);
    weft_mpsc_recv r;
    hand_poll(&h, weft_mpsc_recv_init(&r, rx, &out));
    weft_mpsc_rx_destroy(&rx);
}

static void broadcast_rx_destroy_pending(void) {
    weft_broadcast_tx *tx;
    weft_broadcast_rx *rx;
    int out;
    hand h = {0};
    weft_broadcast_create(sizeof out, 1, NULL, &tx, &rx);
    weft_broadcast_recv r;
    hand_poll(&h, weft_broadcast_recv_init(&r, rx, &out));
    weft_broadcast_rx_destroy(&rx);
}

static void watch_rx_destroy_pending(void) {
    weft_watch_tx *tx;
    weft_watch_rx *rx;
    hand h = {0};
    weft_watch_create(sizeof(int), NULL, NULL, &tx, &rx);
    weft_watch_changed c;
    hand_poll(&h, weft_watch_changed_init(&c, rx));
    weft_watch_rx_destroy(&rx);
}

/* The same ends destroyed after their futures were dropped: fine. */
static void destroy_after_drop(void) {
    weft_oneshot_tx *otx;
    weft_oneshot_rx *orx;
    weft_mpsc_tx *mtx;
    weft_mpsc_rx *mrx;
    int out;
    hand h = {0};
    weft_oneshot_create(sizeof out, NULL, &otx, &orx);
    weft_mpsc_create(sizeof out, 1, NULL, &mtx, &mrx);
    weft_oneshot_recv r;
    weft_oneshot_closed c;
    weft_mpsc_recv mr;
    CHILD_CHECK(hand_poll(&h, weft_oneshot_recv_init(&r, orx, &out)) == WEFT_PENDING);
    CHILD_CHECK(hand_poll(&h, weft_oneshot_closed_init(&c, otx)) == WEFT_PENDING);
    CHILD_CHECK(hand_poll(&h, weft_mpsc_recv_init(&mr, mrx, &out)) == WEFT_PENDING);
    weft_future_drop(&r.base);
    weft_future_drop(&c.base);
    weft_future_drop(&mr.base);
    weft_oneshot_rx_destroy(&orx);
    weft_oneshot_tx_destroy(&otx);
    weft_mpsc_rx_destroy(&mrx);
    weft_mpsc_tx_destroy(&mtx);
}

static void test_destroy_with_pending_future(void **state) {
    (void)state;
    /* Every build: the end's waker slot shows the pending future (a compare). */
    expect_misuse(oneshot_rx_destroy_pending, "weft_oneshot_rx_destroy of a receiver whose receive future is still pending");
    expect_misuse(oneshot_tx_destroy_pending, "weft_oneshot_tx_destroy of a sender whose closed() future is still pending");
    expect_misuse(mpsc_rx_destroy_pending, "weft_mpsc_rx_destroy of a receiver whose receive future is still pending");
    expect_no_misuse(destroy_after_drop);
#if WEFT_CHECKS
    /* Debug builds only: finding the receiver's future is a walk of the wait list. */
    expect_misuse(broadcast_rx_destroy_pending, "weft_broadcast_rx_destroy of a receiver whose receive future is still pending");
    expect_misuse(watch_rx_destroy_pending, "weft_watch_rx_destroy of a receiver whose changed() future is still pending");
#else
    (void)broadcast_rx_destroy_pending;
    (void)watch_rx_destroy_pending;
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ends_after_destroy),
        cmocka_unit_test(test_send_after_shutdown),
        cmocka_unit_test(test_destroy_with_pending_future),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
