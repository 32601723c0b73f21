/* oneshot: send/recv, closed on every end (sender destroyed, receiver
 * destroyed or shut down), try_recv states, the sender's closed() future, a plain thread
 * replying to a task, request/reply through an mpsc.  weft-test: threaded */
#include "sync_support.h"

typedef struct big {
    char text[40];
    uint64_t n;
} big;

static void test_send_then_recv(void **state) {
    (void)state;
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    assert_int_equal(weft_oneshot_create(sizeof(big), NULL, &tx, &rx), 0);
    hand h = {0};
    big out = {0}, in = {"hello", 7};
    weft_oneshot_recv r;
    weft_oneshot_recv_init(&r, rx, &out);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_PENDING);
    assert_int_equal(weft_oneshot_try_recv(rx, &out), -EAGAIN);
    assert_false(weft_oneshot_tx_is_closed(tx));
    assert_int_equal(weft_oneshot_send(tx, &in), 0);
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
    assert_int_equal(r.result, 0);
    assert_string_equal(out.text, "hello");
    assert_int_equal(out.n, 7);
    /* The value was taken: a second receive reports closed, a second send fails. */
    assert_int_equal(weft_oneshot_try_recv(rx, &out), -WEFT_ECLOSED);
    assert_int_equal(weft_oneshot_send(tx, &in), -WEFT_ECLOSED);
    weft_oneshot_tx_destroy(&tx);
    assert_null(tx);
    weft_oneshot_rx_destroy(&rx);
    assert_null(rx);
    hand_check_balanced(&h);
    assert_int_equal(weft_oneshot_create(0, NULL, &tx, &rx), -EINVAL);
}

static void test_closed_ends(void **state) {
    (void)state;
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    hand h = {0};
    int v = 5, out = 0;

    /* Sender destroyed without sending: the waiting receiver gets closed. */
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &tx, &rx), 0);
    weft_oneshot_recv r;
    weft_oneshot_recv_init(&r, rx, &out);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_PENDING);
    weft_oneshot_tx_destroy(&tx);
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
    assert_int_equal(r.result, -WEFT_ECLOSED);
    assert_int_equal(weft_oneshot_try_recv(rx, &out), -WEFT_ECLOSED);
    weft_oneshot_rx_destroy(&rx);

    /* Receiver destroyed: send fails, closed() completes. */
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &tx, &rx), 0);
    weft_oneshot_closed c;
    weft_oneshot_closed_init(&c, tx);
    assert_int_equal(hand_poll(&h, &c.base), WEFT_PENDING);
    weft_oneshot_rx_destroy(&rx);
    assert_int_equal(hand_wakes(&h), 1);
    assert_true(weft_oneshot_tx_is_closed(tx));
    assert_int_equal(hand_poll(&h, &c.base), WEFT_READY);
    assert_int_equal(weft_oneshot_send(tx, &v), -WEFT_ECLOSED);
    weft_oneshot_tx_destroy(&tx);

    /* Receiver shut down after a send: the value can still be taken. */
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &tx, &rx), 0);
    assert_int_equal(weft_oneshot_send(tx, &v), 0);
    weft_oneshot_tx_destroy(&tx);
    weft_oneshot_rx_shutdown(rx);
    assert_int_equal(weft_oneshot_try_recv(rx, &out), 0);
    assert_int_equal(out, 5);
    weft_oneshot_rx_destroy(&rx);

    /* Receiver shut down before: send fails. A dropped pending recv leaves no waker. */
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &tx, &rx), 0);
    weft_oneshot_recv_init(&r, rx, &out);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_PENDING);
    weft_future_drop(&r.base);
    weft_oneshot_rx_shutdown(rx);
    assert_int_equal(weft_oneshot_send(tx, &v), -WEFT_ECLOSED);
    weft_oneshot_tx_destroy(&tx);
    weft_oneshot_rx_destroy(&rx);
    hand_check_balanced(&h);
}

/* ---- a task asks plain threads, each reply on its own oneshot --------------- */

#define REQUESTS 2000

typedef struct request {
    int x;
    weft_oneshot_tx *reply;
} request;

static void *server_thread(void *p) {
    weft_mpsc_rx *rx = p;
    request rq;
    for (;;) {
        weft_mpsc_recv r;
        assert_int_equal(weft_wait_blocking(weft_mpsc_recv_init(&r, rx, &rq)), 0);
        if (r.result != 0) break;
        int answer = rq.x * 2;
        assert_int_equal(weft_oneshot_send(rq.reply, &answer), 0);
        weft_oneshot_tx_destroy(&rq.reply);
    }
    weft_mpsc_rx_destroy(&rx);
    return NULL;
}

typedef struct client {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    int i, answer;
    long sum;
    request rq;
    weft_oneshot_rx *rrx;
    weft_mpsc_send s;
    weft_oneshot_recv r;
} client;

WEFT_ASYNC(client, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < REQUESTS; self->i++) {
        assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &self->rq.reply, &self->rrx), 0);
        self->rq.x = self->i;
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->rq));
        assert_int_equal(self->s.result, 0);
        WEFT_AWAIT(weft_oneshot_recv_init(&self->r, self->rrx, &self->answer));
        assert_int_equal(self->r.result, 0);
        self->sum += self->answer;
        weft_oneshot_rx_destroy(&self->rrx);
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_END();
}

static void test_request_reply_with_thread(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(request), 4, NULL, &tx, &rx), 0);
    pthread_t th;
    pthread_create(&th, NULL, server_thread, rx);
    client c;
    memset(&c, 0, sizeof c);
    client_start(&c);
    c.tx = tx;
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    pthread_join(th, NULL);
    assert_int_equal(c.sum, (long)REQUESTS * (REQUESTS - 1));
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_then_recv),
        cmocka_unit_test(test_closed_ends),
        cmocka_unit_test(test_request_reply_with_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
