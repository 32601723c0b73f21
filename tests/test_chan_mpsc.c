/* mpsc: bounded FIFO and wrap-around, senders waiting in FIFO order with no
 * overtaking, reserve/permit, cancellation without loss (random, 100,000
 * operations), closed behaviour on every end, unbounded growth and shrink,
 * odd element sizes, many producers (threads and tasks) into one consumer
 * task, and a consumer thread fed by tasks.  weft-test: threaded  weft-test: timeout=300 */
#include "sync_support.h"

static void test_bounded_basics(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(int), 3, NULL, &tx, &rx), 0);
    int next_in = 0, next_out = 0, v;
    for (int round = 0; round < 10; round++) { /* wraps around many times */
        int k = 1 + round % 3;
        for (int i = 0; i < k; i++) assert_int_equal(weft_mpsc_try_send(tx, &(int){next_in++}), 0);
        if (k == 3) assert_int_equal(weft_mpsc_try_send(tx, &v), -EAGAIN);
        assert_int_equal(weft_mpsc_len(rx), (size_t)k);
        for (int i = 0; i < k; i++) {
            assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
            assert_int_equal(v, next_out++);
        }
        assert_int_equal(weft_mpsc_try_recv(rx, &v), -EAGAIN);
    }
    weft_mpsc_tx_destroy(&tx);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -WEFT_ECLOSED);
    weft_mpsc_rx_destroy(&rx);
    assert_int_equal(weft_mpsc_create(0, 3, NULL, &tx, &rx), -EINVAL);
    assert_int_equal(weft_mpsc_create(4, 0, NULL, &tx, &rx), -EINVAL);
}

static void test_senders_wait_fifo(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &tx, &rx), 0);
    hand h[3] = {0}, hr = {0};
    int msgs[3] = {10, 11, 12}, v;
    weft_mpsc_send s[3];
    assert_int_equal(weft_mpsc_try_send(tx, &(int){9}), 0);
    for (int i = 0; i < 3; i++) {
        weft_mpsc_send_init(&s[i], tx, &msgs[i]);
        assert_int_equal(hand_poll(&h[i], &s[i].base), WEFT_PENDING);
    }
    assert_int_equal(weft_mpsc_try_send(tx, &v), -EAGAIN);
    /* Receiving frees the slot: it is reserved for the oldest sender, so a
     * try_send cannot take it. */
    weft_mpsc_recv r;
    weft_mpsc_recv_init(&r, rx, &v);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_READY);
    assert_int_equal(v, 9);
    assert_int_equal(hand_wakes(&h[0]), 1);
    assert_int_equal(hand_wakes(&h[1]), 0);
    assert_int_equal(weft_mpsc_try_send(tx, &v), -EAGAIN);
    /* Sender 0 is dropped before it used its slot: sender 1 gets it. Its
     * message was never sent. */
    weft_future_drop(&s[0].base);
    assert_int_equal(hand_wakes(&h[1]), 1);
    assert_int_equal(hand_poll(&h[1], &s[1].base), WEFT_READY);
    assert_int_equal(s[1].result, 0);
    weft_mpsc_recv_init(&r, rx, &v);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_READY);
    assert_int_equal(v, 11);
    assert_int_equal(hand_poll(&h[2], &s[2].base), WEFT_READY);
    weft_mpsc_recv_init(&r, rx, &v);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_READY);
    assert_int_equal(v, 12);
    /* A pending receive is woken by a send; dropping one leaves no waker. */
    weft_mpsc_recv_init(&r, rx, &v);
    assert_int_equal(hand_poll(&hr, &r.base), WEFT_PENDING);
    assert_int_equal(weft_mpsc_try_send(tx, &(int){13}), 0);
    assert_int_equal(hand_wakes(&hr), 1);
    weft_future_drop(&r.base);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), 0); /* the dropped recv took nothing */
    assert_int_equal(v, 13);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_rx_destroy(&rx);
    for (int i = 0; i < 3; i++) hand_check_balanced(&h[i]);
    hand_check_balanced(&hr);
}

static void test_reserve_permits(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(int), 2, NULL, &tx, &rx), 0);
    hand h = {0};
    weft_mpsc_permit p1, p2, p3;
    int v;
    assert_int_equal(weft_mpsc_try_reserve(tx, &p1), 0);
    assert_int_equal(weft_mpsc_try_reserve(tx, &p2), 0);
    assert_int_equal(weft_mpsc_try_reserve(tx, &p3), -EAGAIN);
    assert_int_equal(weft_mpsc_try_send(tx, &v), -EAGAIN); /* reserved slots count */
    weft_mpsc_reserve r;
    weft_mpsc_reserve_init(&r, tx);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_PENDING);
    weft_mpsc_permit_destroy(&p1); /* the freed slot goes to the waiting reserve */
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
    assert_int_equal(r.result, 0);
    assert_int_equal(weft_mpsc_permit_send(&p2, &(int){1}), 0);
    /* Permits keep the channel open for the receiver after the senders go. */
    weft_mpsc_tx_destroy(&tx);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -EAGAIN);
    assert_int_equal(weft_mpsc_permit_send(&r.permit, &(int){2}), 0);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -WEFT_ECLOSED);
    weft_mpsc_rx_destroy(&rx);
    hand_check_balanced(&h);
}

static void test_closed_every_end(void **state) {
    (void)state;
    weft_mpsc_tx *tx, *tx2;
    weft_mpsc_rx *rx;
    hand h = {0}, hs = {0};
    int v;

    /* Every sender destroyed: the receiver drains, then sees closed. */
    assert_int_equal(weft_mpsc_create(sizeof(int), 4, NULL, &tx, &rx), 0);
    tx2 = weft_mpsc_tx_clone(tx);
    assert_int_equal(weft_mpsc_try_send(tx, &(int){1}), 0);
    assert_int_equal(weft_mpsc_try_send(tx2, &(int){2}), 0);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_recv r;
    for (int i = 1; i <= 2; i++) {
        weft_mpsc_recv_init(&r, rx, &v);
        assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
        assert_int_equal(v, i);
    }
    weft_mpsc_recv_init(&r, rx, &v);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_PENDING);
    weft_mpsc_tx_destroy(&tx2); /* the last sender wakes the waiting receiver */
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &r.base), WEFT_READY);
    assert_int_equal(r.result, -WEFT_ECLOSED);
    weft_mpsc_rx_destroy(&rx);

    /* Receiver destroyed: sends (waiting or new), reserves and permits fail. */
    assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &tx, &rx), 0);
    weft_mpsc_permit p;
    assert_int_equal(weft_mpsc_try_reserve(tx, &p), 0);
    weft_mpsc_send s;
    weft_mpsc_send_init(&s, tx, &(int){3});
    assert_int_equal(hand_poll(&hs, &s.base), WEFT_PENDING);
    assert_false(weft_mpsc_tx_is_closed(tx));
    weft_mpsc_rx_destroy(&rx);
    assert_true(weft_mpsc_tx_is_closed(tx));
    assert_int_equal(hand_wakes(&hs), 1);
    assert_int_equal(hand_poll(&hs, &s.base), WEFT_READY);
    assert_int_equal(s.result, -WEFT_ECLOSED);
    assert_int_equal(weft_mpsc_try_send(tx, &v), -WEFT_ECLOSED);
    weft_mpsc_permit p2;
    assert_int_equal(weft_mpsc_try_reserve(tx, &p2), -WEFT_ECLOSED);
    assert_null(p2.chan);
    assert_int_equal(weft_mpsc_permit_send(&p, &v), -WEFT_ECLOSED); /* reserved before: not sent, still ours */
    weft_mpsc_reserve rs;
    weft_mpsc_reserve_init(&rs, tx);
    assert_int_equal(hand_poll(&hs, &rs.base), WEFT_READY);
    assert_int_equal(rs.result, -WEFT_ECLOSED);
    weft_mpsc_tx_destroy(&tx);

    /* Receiver shut down: no new messages, but what is in (and permits
     * reserved before) can still be received. */
    assert_int_equal(weft_mpsc_create(sizeof(int), 2, NULL, &tx, &rx), 0);
    assert_int_equal(weft_mpsc_try_send(tx, &(int){4}), 0);
    assert_int_equal(weft_mpsc_try_reserve(tx, &p), 0);
    weft_mpsc_rx_shutdown(rx);
    assert_int_equal(weft_mpsc_try_send(tx, &v), -WEFT_ECLOSED);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -EAGAIN); /* the permit may still send */
    assert_int_equal(weft_mpsc_permit_send(&p, &(int){5}), 0);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -WEFT_ECLOSED);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_rx_destroy(&rx);
    hand_check_balanced(&h);
    hand_check_balanced(&hs);
}

static void test_unbounded(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(uint64_t), WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
    uint64_t in = 0, out = 0, v;
    /* Grow while the ring is wrapped: interleave sends and receives. */
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < round * 7 % 101; i++) assert_int_equal(weft_mpsc_try_send(tx, &(uint64_t){in++}), 0);
        for (int i = 0; i < round * 3 % 53; i++) {
            if (weft_mpsc_try_recv(rx, &v) != 0) break;
            assert_int_equal(v, out++);
        }
    }
    /* A big burst (grows past the shrink threshold), drained, then more. */
    for (int i = 0; i < 100000; i++) assert_int_equal(weft_mpsc_try_send(tx, &(uint64_t){in++}), 0);
    while (weft_mpsc_try_recv(rx, &v) == 0) assert_int_equal(v, out++);
    assert_int_equal(in, out);
    for (int i = 0; i < 10; i++) assert_int_equal(weft_mpsc_try_send(tx, &(uint64_t){in++}), 0);
    hand h = {0};
    weft_mpsc_send s; /* the send future works on unbounded channels too */
    weft_mpsc_send_init(&s, tx, &(uint64_t){in++});
    assert_int_equal(hand_poll(&h, &s.base), WEFT_READY);
    assert_int_equal(s.result, 0);
    while (weft_mpsc_try_recv(rx, &v) == 0) assert_int_equal(v, out++);
    assert_int_equal(in, out);
    weft_mpsc_tx_destroy(&tx);
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -WEFT_ECLOSED);
    weft_mpsc_rx_destroy(&rx);
}

static void test_element_sizes(void **state) {
    (void)state;
    size_t sizes[] = {1, 3, 8, 16, 40, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        for (int bounded = 0; bounded < 2; bounded++) {
            weft_mpsc_tx *tx;
            weft_mpsc_rx *rx;
            assert_int_equal(bounded ? weft_mpsc_create(n, 5, NULL, &tx, &rx) : weft_mpsc_create(n, WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
            unsigned char in[1024], out[1024];
            for (int m = 0; m < 50; m++) {
                memset(in, m, n);
                in[n - 1] = (unsigned char)(m * 7);
                assert_int_equal(weft_mpsc_try_send(tx, in), 0);
                memset(out, 0xff, sizeof out);
                assert_int_equal(weft_mpsc_try_recv(rx, out), 0);
                assert_memory_equal(in, out, n);
                assert_int_equal(out[n], 0xff); /* exactly n bytes copied */
            }
            weft_mpsc_rx_destroy(&rx); /* messages left (none) would be destroyed */
            weft_mpsc_tx_destroy(&tx);
        }
    }
}

/* ---- an unbounded ring growing while the receiver shuts down ---------------
 * A sender that has to grow the ring drops the lock to allocate. Meanwhile
 * the receiver may shut the channel down and drain it: it must not see the
 * channel closed while that message is still to come (the message would
 * be "sent" and never received). */

typedef struct grow_race {
    weft_mpsc_tx *tx;
    atomic_int go;
    int sent;
} grow_race;

static void *grow_sender(void *p) {
    grow_race *g = p;
    while (!atomic_load(&g->go)) weft__cpu_relax_test();
    for (int i = 0; i < 20; i++) /* an empty ring grows at once, then at 16 */
        if (weft_mpsc_try_send(g->tx, &(int){i}) == 0) g->sent++;
    return NULL;
}

static void test_unbounded_grow_races_shutdown(void **state) {
    (void)state;
    long closed_early = 0;
    for (int iter = 0; iter < 20000; iter++) {
        weft_mpsc_rx *rx;
        grow_race g = {0};
        assert_int_equal(weft_mpsc_create(sizeof(int), WEFT_MPSC_UNBOUNDED, NULL, &g.tx, &rx), 0);
        pthread_t th;
        pthread_create(&th, NULL, grow_sender, &g);
        atomic_store(&g.go, 1);
        for (int spin = iter % 16; spin > 0; spin--) weft__cpu_relax_test();
        weft_mpsc_rx_shutdown(rx);
        int received = 0, v, rc;
        while ((rc = weft_mpsc_try_recv(rx, &v)) != -WEFT_ECLOSED) {
            if (rc == 0) received++;
        }
        pthread_join(th, NULL);
        /* Closed means closed: nothing arrives after it. */
        if (weft_mpsc_try_recv(rx, &v) != -WEFT_ECLOSED) closed_early++;
        else assert_int_equal(received, g.sent);
        weft_mpsc_tx_destroy(&g.tx);
        weft_mpsc_rx_destroy(&rx);
    }
    print_message("closed early: %ld\n", closed_early);
    assert_int_equal(closed_early, 0);
}

/* ---- 100,000 random operations with cancellations: nothing lost or doubled */

#define RS 32

typedef struct rsend {
    bool pending;
    uint32_t msg;
    weft_mpsc_send f;
    hand h;
} rsend;

static void test_random_cancellations(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(uint32_t), 4, NULL, &tx, &rx), 0);
    static rsend rs[RS];
    memset(rs, 0, sizeof rs);
    static uint8_t seen[1 << 20];   /* per message id: received count */
    static uint8_t sent[1 << 20];   /* per message id: accepted by the channel */
    memset(seen, 0, sizeof seen);
    memset(sent, 0, sizeof sent);
    uint32_t next_id = 0;
    uint64_t rng = 42;
    long cancels = 0, cancels_after_handoff = 0;
    hand hr = {0};
    weft_mpsc_recv r;
    bool recv_pending = false;
    uint32_t got;
    for (long op = 0; op < 100000 || recv_pending; op++) {
        unsigned x = rng_next(&rng) % 100;
        rsend *s = &rs[rng_next(&rng) % RS];
        if (op >= 100000) x = 99; /* finish the pending receive */
        if (x < 40) {
            if (!s->pending) {
                s->msg = next_id++;
                weft_mpsc_send_init(&s->f, tx, &s->msg);
                if (hand_poll(&s->h, &s->f.base) == WEFT_READY) sent[s->msg]++;
                else s->pending = true;
            } else if (x < 20) {
                if (hand_wakes(&s->h)) cancels_after_handoff++;
                weft_future_drop(&s->f.base);
                s->pending = false;
                cancels++;
            } else if (hand_wakes(&s->h) && hand_poll(&s->h, &s->f.base) == WEFT_READY) {
                assert_int_equal(s->f.result, 0);
                sent[s->msg]++;
                s->pending = false;
            }
        } else if (x < 70 || op >= 100000) {
            if (!recv_pending) {
                weft_mpsc_recv_init(&r, rx, &got);
                recv_pending = true;
            }
            if (hand_poll(&hr, &r.base) == WEFT_READY) {
                recv_pending = false;
                assert_int_equal(r.result, 0);
                seen[got]++;
            } else if (op >= 100000) {
                weft_future_drop(&r.base);
                recv_pending = false;
            }
        } else if (x < 75 && recv_pending) {
            weft_future_drop(&r.base); /* a dropped receive takes nothing */
            recv_pending = false;
        }
    }
    for (int i = 0; i < RS; i++) {
        if (rs[i].pending) weft_future_drop(&rs[i].f.base);
        hand_check_balanced(&rs[i].h);
    }
    weft_mpsc_tx_destroy(&tx);
    while (weft_mpsc_try_recv(rx, &got) == 0) seen[got]++;
    for (uint32_t id = 0; id < next_id; id++) assert_int_equal(seen[id], sent[id]); /* exactly once, or never */
    assert_true(cancels > 1000);
    assert_true(cancels_after_handoff > 10);
    weft_mpsc_rx_destroy(&rx);
    hand_check_balanced(&hr);
}

/* ---- many producers, threads and tasks, one consumer task ----------------- */

#define PRODUCER_THREADS 4
#define PRODUCER_TASKS 4
#define PER_PRODUCER 20000

typedef struct msg {
    uint32_t producer, seq;
} msg;

typedef struct producer_task {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    uint32_t id, seq;
    msg m;
    weft_mpsc_send s;
    weft_mpsc_reserve r;
    int out;
} producer_task;

WEFT_ASYNC(producer_task, NULL) {
    WEFT_BEGIN();
    for (self->seq = 0; self->seq < PER_PRODUCER; self->seq++) {
        self->m = (msg){self->id, self->seq};
        if (self->seq % 2) {
            WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->m));
            assert_int_equal(self->s.result, 0);
        } else {
            WEFT_AWAIT(weft_mpsc_reserve_init(&self->r, self->tx));
            assert_int_equal(self->r.result, 0);
            assert_int_equal(weft_mpsc_permit_send(&self->r.permit, &self->m), 0);
        }
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_END();
}

typedef struct producer_thread_arg {
    weft_mpsc_tx *tx;
    uint32_t id;
} producer_thread_arg;

static void *producer_thread(void *p) {
    producer_thread_arg *a = p;
    for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
        msg m = {a->id, seq};
        if (seq % 2) {
            weft_mpsc_send s;
            assert_int_equal(weft_wait_blocking(weft_mpsc_send_init(&s, a->tx, &m)), 0);
            assert_int_equal(s.result, 0);
        } else {
            int rc;
            while ((rc = weft_mpsc_try_send(a->tx, &m)) == -EAGAIN) sched_yield();
            assert_int_equal(rc, 0);
        }
    }
    weft_mpsc_tx_destroy(&a->tx);
    return NULL;
}

typedef struct consumer {
    WEFT_CORO_FIELDS;
    weft_mpsc_rx *rx;
    msg m;
    uint32_t next[PRODUCER_THREADS + PRODUCER_TASKS];
    long total;
    weft_mpsc_recv r;
    producer_task p;
    int i;
} consumer;

WEFT_ASYNC(consumer, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->rx, &self->m));
        if (self->r.result != 0) break;
        assert_true(self->m.producer < PRODUCER_THREADS + PRODUCER_TASKS);
        assert_int_equal(self->m.seq, self->next[self->m.producer]); /* per-producer FIFO */
        self->next[self->m.producer]++;
        self->total++;
    }
    assert_int_equal(self->r.result, -WEFT_ECLOSED);
    WEFT_END();
}

typedef struct mp_root {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    consumer *c;
    producer_task p;
    weft_join_handle hc;
    int i;
} mp_root;

WEFT_ASYNC(mp_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < PRODUCER_TASKS; self->i++) {
        producer_task_start(&self->p);
        self->p.tx = weft_mpsc_tx_clone(self->tx);
        self->p.id = PRODUCER_THREADS + self->i;
        WEFT_SPAWN_DETACHED(cx->runtime, &self->p);
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_AWAIT(&self->c->base);
    WEFT_END();
}

static void test_many_producers(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(msg), 16, NULL, &tx, &rx), 0);
    pthread_t th[PRODUCER_THREADS];
    producer_thread_arg args[PRODUCER_THREADS];
    for (int i = 0; i < PRODUCER_THREADS; i++) {
        args[i] = (producer_thread_arg){weft_mpsc_tx_clone(tx), (uint32_t)i};
        pthread_create(&th[i], NULL, producer_thread, &args[i]);
    }
    static consumer c;
    memset(&c, 0, sizeof c);
    consumer_start(&c);
    c.rx = rx;
    mp_root root;
    mp_root_start(&root);
    root.tx = tx;
    root.c = &c;
    assert_int_equal(weft_block_on(rt, &root.base), 0);
    for (int i = 0; i < PRODUCER_THREADS; i++) pthread_join(th[i], NULL);
    assert_int_equal(c.total, (long)(PRODUCER_THREADS + PRODUCER_TASKS) * PER_PRODUCER);
    for (int i = 0; i < PRODUCER_THREADS + PRODUCER_TASKS; i++) assert_int_equal(c.next[i], PER_PRODUCER);
    weft_mpsc_rx_destroy(&rx);
    weft_runtime_destroy(rt);
}

/* ---- tasks feed a consumer on a plain thread (unbounded) -------------------- */

typedef struct feeder {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    uint32_t id, seq;
    msg m;
    weft_mpsc_send s;
    weft_yield_now y;
    int out;
} feeder;

WEFT_ASYNC(feeder, NULL) {
    WEFT_BEGIN();
    for (self->seq = 0; self->seq < PER_PRODUCER; self->seq++) {
        self->m = (msg){self->id, self->seq};
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->m));
        if (self->seq % 64 == 0) WEFT_AWAIT(weft_yield_now_init(&self->y));
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_END();
}

typedef struct feed_root {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    feeder f;
    weft_join_handle hs[PRODUCER_TASKS];
    int i;
} feed_root;

WEFT_ASYNC(feed_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < PRODUCER_TASKS; self->i++) {
        feeder_start(&self->f);
        self->f.tx = weft_mpsc_tx_clone(self->tx);
        self->f.id = (uint32_t)self->i;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->f, out, NULL);
    }
    weft_mpsc_tx_destroy(&self->tx);
    for (self->i = 0; self->i < PRODUCER_TASKS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

typedef struct thread_consumer {
    weft_mpsc_rx *rx;
    long total;
    uint32_t next[PRODUCER_TASKS];
    bool order_ok;
} thread_consumer;

static void *consumer_thread(void *p) {
    thread_consumer *tc = p;
    tc->order_ok = true;
    msg m;
    for (;;) {
        weft_mpsc_recv r;
        weft_wait_blocking(weft_mpsc_recv_init(&r, tc->rx, &m));
        if (r.result != 0) break;
        if (m.seq != tc->next[m.producer]) tc->order_ok = false;
        tc->next[m.producer]++;
        tc->total++;
    }
    return NULL;
}

static void test_consumer_thread(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(msg), WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
    thread_consumer tc = {.rx = rx};
    pthread_t th;
    pthread_create(&th, NULL, consumer_thread, &tc);
    feed_root root;
    feed_root_start(&root);
    root.tx = tx;
    assert_int_equal(weft_block_on(rt, &root.base), 0);
    pthread_join(th, NULL);
    assert_true(tc.order_ok);
    assert_int_equal(tc.total, (long)PRODUCER_TASKS * PER_PRODUCER);
    weft_mpsc_rx_destroy(&rx);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_basics),
        cmocka_unit_test(test_senders_wait_fifo),
        cmocka_unit_test(test_reserve_permits),
        cmocka_unit_test(test_closed_every_end),
        cmocka_unit_test(test_unbounded),
        cmocka_unit_test(test_unbounded_grow_races_shutdown),
        cmocka_unit_test(test_element_sizes),
        cmocka_unit_test(test_random_cancellations),
        cmocka_unit_test(test_many_producers),
        cmocka_unit_test(test_consumer_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
