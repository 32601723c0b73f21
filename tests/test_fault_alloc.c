/* Allocation failures outside the runtime's creation: spawn (the handle is
 * ready with -ENOMEM and the future is dropped exactly once, never polled),
 * JoinSet creation and spawn, channel creation, the unbounded mpsc growing
 * (a send fails cleanly or succeeds; no message is lost or duplicated), and
 * the copy buffer. LeakSanitizer (make check's asan run) proves nothing
 * leaks on any of these paths.
 * weft-test: threaded */
#include <errno.h>

#include "fault.h"
#include "support.h"

/* Fails the next allocation of any kind made on this thread. */
static void fail_next_alloc(unsigned skip) {
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
}
static unsigned disarm_alloc(void) {
    unsigned n = fault_failed(FAULT_ANY_ALLOC);
    fault_disarm(FAULT_ANY_ALLOC);
    return n;
}

/* ---- spawn ------------------------------------------------------------------- */

static void test_spawn_alloc_failure(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    for (int with_drop = 0; with_drop < 2; with_drop++) {
        gate_state st;
        gate_state_init(&st);
        gate g;
        gate_init(&g, &st);
        fail_next_alloc(0);
        weft_join_handle h = weft_spawn_raw(rt, &g, sizeof g, offsetof(gate, out), sizeof(int),
                                            with_drop ? free : NULL);
        assert_int_equal(disarm_alloc(), 1);
        assert_int_equal(atomic_load(&st.drops), 1); /* dropped exactly once */
        assert_int_equal(atomic_load(&st.polls), 0);
        assert_int_equal(weft_block_on(rt, &h.base), 0);
        assert_int_equal(h.result, -ENOMEM);
        assert_int_equal(atomic_load(&st.drops), 1);
        gate_state_destroy(&st);
    }
    /* The runtime is unharmed: the next spawn runs. */
    gate_state st;
    gate_state_init(&st);
    st.open = true;
    gate g;
    gate_init(&g, &st);
    int out = 0;
    weft_join_handle h = weft_spawn_raw(rt, &g, sizeof g, offsetof(gate, out), sizeof(int), NULL);
    h.out = &out;
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    assert_int_equal(out, 42);
    gate_state_destroy(&st);
    weft_runtime_destroy(rt);
}

/* ---- JoinSet ------------------------------------------------------------------- */

/* A future larger than the JoinSet's stack buffer (its wrapper is then
 * built in an aligned_alloc'd buffer). */
typedef struct big_gate {
    gate g;
    char pad[2048];
} big_gate;

static void test_join_set_alloc_failures(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_join_set *js;
    fail_next_alloc(0);
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), -ENOMEM);
    assert_int_equal(disarm_alloc(), 1);
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(int), NULL), 0);

    /* One gate per task: a gate keeps one waker, as a leaf future does. */
    gate_state sts[2];
    gate_state_init(&sts[0]);
    gate_state_init(&sts[1]);
    int spawned = 0;
    for (int big = 0; big < 2; big++) {
        /* Fail the k-th allocation of a spawn until one gets through. */
        for (unsigned k = 0;; k++) {
            assert_true(k < 8);
            gate_state *st = &sts[big];
            big_gate bg;
            gate_init(&bg.g, st);
            int drops = atomic_load(&st->drops);
            size_t len = weft_join_set_len(js);
            fail_next_alloc(k);
            int64_t id = big ? weft_join_set_spawn_raw(js, &bg, sizeof bg, offsetof(gate, out), sizeof(int))
                             : weft_join_set_spawn_raw(js, &bg.g, sizeof bg.g, offsetof(gate, out), sizeof(int));
            unsigned failed = disarm_alloc();
            if (!failed) {
                assert_true(id > 0);
                spawned++;
                break;
            }
            assert_int_equal(id, -ENOMEM);
            assert_int_equal(atomic_load(&st->drops), drops + 1); /* dropped once */
            assert_int_equal(weft_join_set_len(js), len);
        }
    }
    assert_int_equal(weft_join_set_len(js), spawned);
    gate_open(&sts[0]);
    gate_open(&sts[1]);
    int out = 0;
    for (int i = 0; i < spawned; i++) {
        weft_join_set_next n;
        weft_join_set_join_next_init(&n, js, &out);
        assert_int_equal(weft_block_on(rt, &n.base), 0);
        assert_int_equal(n.result, 0);
        assert_int_equal(out, 42);
    }
    assert_int_equal(weft_join_set_try_join_next(js, &out, NULL), -WEFT_EEMPTY);
    weft_join_set_destroy(js);
    gate_state_destroy(&sts[0]);
    gate_state_destroy(&sts[1]);
    weft_runtime_destroy(rt);
}

/* ---- channel creation ------------------------------------------------------------ */

typedef int (*create_fn)(void);
static int mk_oneshot(void) {
    weft_oneshot_tx *tx;
    weft_oneshot_rx *rx;
    int rc = weft_oneshot_create(8, NULL, &tx, &rx);
    if (!rc) weft_oneshot_tx_destroy(&tx), weft_oneshot_rx_destroy(&rx);
    return rc;
}
static int mk_mpsc(void) {
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    int rc = weft_mpsc_create(8, 4, NULL, &tx, &rx);
    if (!rc) weft_mpsc_tx_destroy(&tx), weft_mpsc_rx_destroy(&rx);
    return rc;
}
static int mk_unbounded(void) {
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    int rc = weft_mpsc_create(8, WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx);
    if (!rc) weft_mpsc_tx_destroy(&tx), weft_mpsc_rx_destroy(&rx);
    return rc;
}
static int mk_broadcast(void) {
    weft_broadcast_tx *tx;
    weft_broadcast_rx *rx;
    int rc = weft_broadcast_create(8, 4, NULL, &tx, &rx);
    if (!rc) weft_broadcast_tx_destroy(&tx), weft_broadcast_rx_destroy(&rx);
    return rc;
}
static int mk_watch(void) {
    weft_watch_tx *tx;
    weft_watch_rx *rx;
    int rc = weft_watch_create(8, NULL, NULL, &tx, &rx);
    if (!rc) weft_watch_tx_destroy(&tx), weft_watch_rx_destroy(&rx);
    return rc;
}

static void test_channel_create_failures(void **state) {
    (void)state;
    create_fn fns[] = {mk_oneshot, mk_mpsc, mk_unbounded, mk_broadcast, mk_watch};
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        for (unsigned k = 0;; k++) {
            assert_true(k < 4);
            fail_next_alloc(k);
            int rc = fns[i]();
            if (!disarm_alloc()) {
                assert_int_equal(rc, 0);
                break;
            }
            assert_int_equal(rc, -ENOMEM);
        }
    }
    /* The receivers made later fail alone, and nothing else changes. */
    weft_broadcast_tx *btx;
    weft_broadcast_rx *brx;
    assert_int_equal(weft_broadcast_create(8, 4, NULL, &btx, &brx), 0);
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .count = 2, .this_thread = true});
    assert_null(weft_broadcast_subscribe(btx));
    assert_null(weft_broadcast_rx_clone(brx));
    disarm_alloc();
    uint64_t v = 7, got = 0, missed = 0;
    assert_int_equal(weft_broadcast_send(btx, &v), 1); /* one receiver, as before */
    assert_int_equal(weft_broadcast_try_recv(brx, &got, &missed), 0);
    assert_int_equal(got, 7);
    weft_broadcast_rx_destroy(&brx);
    weft_broadcast_tx_destroy(&btx);
    weft_watch_tx *wtx;
    weft_watch_rx *wrx;
    assert_int_equal(weft_watch_create(8, NULL, NULL, &wtx, &wrx), 0);
    fail_next_alloc(0);
    assert_null(weft_watch_subscribe(wtx));
    disarm_alloc();
    weft_watch_rx_destroy(&wrx);
    weft_watch_tx_destroy(&wtx);
}

/* ---- the unbounded mpsc growing ----------------------------------------------------- */

/* Sends 0..n-1 while every `every`-th growth fails; every send that
 * succeeded is received once, in order, and the failed ones never. */
static void test_unbounded_growth_failure(void **state) {
    (void)state;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(uint32_t), WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
    enum { N = 5000 };
    static bool sent[N];
    /* Fail every growth: the ring grows only on the allocations the rule
     * lets through (skip alternates by arming again). */
    uint32_t failures = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (i % 3 == 0) fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
        int rc;
        if (i % 2) {
            rc = weft_mpsc_try_send(tx, &i);
        } else {
            weft_mpsc_permit p;
            assert_int_equal(weft_mpsc_try_reserve(tx, &p), 0);
            rc = weft_mpsc_permit_send(&p, &i);
        }
        assert_true(rc == 0 || rc == -ENOMEM);
        sent[i] = rc == 0;
        failures += rc != 0;
        fault_disarm(FAULT_MALLOC);
        if (i % 1000 == 999) { /* drain some, so that it shrinks and grows again */
            uint32_t v;
            while (weft_mpsc_try_recv(rx, &v) == 0) {
                assert_true(v < N && sent[v]);
                sent[v] = false;
            }
        }
    }
    assert_true(failures > 0);
    weft_mpsc_tx_destroy(&tx);
    uint32_t v, last = 0;
    bool first = true;
    int rc;
    while ((rc = weft_mpsc_try_recv(rx, &v)) == 0) {
        assert_true(v < N && sent[v]);
        assert_true(first || v > last);
        sent[v] = false;
        last = v;
        first = false;
    }
    assert_int_equal(rc, -WEFT_ECLOSED);
    for (uint32_t i = 0; i < N; i++) assert_false(sent[i]); /* every success arrived */
    weft_mpsc_rx_destroy(&rx);
}

/* The send future under the same failure: ready with -ENOMEM, the channel
 * usable afterwards. */
typedef struct send_fail {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    weft_mpsc_send s;
    uint32_t v;
    int results[2];
} send_fail;
WEFT_ASYNC(send_fail, NULL) {
    WEFT_BEGIN();
    for (self->v = 0; self->v < 16; self->v++) {
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->v));
        assert_int_equal(self->s.result, 0);
    }
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->v));
    self->results[0] = self->s.result;
    fault_disarm(FAULT_MALLOC);
    WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->v));
    self->results[1] = self->s.result;
    WEFT_END();
}

static void test_unbounded_send_future_failure(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(uint32_t), WEFT_MPSC_UNBOUNDED, NULL, &tx, &rx), 0);
    send_fail f;
    send_fail_start(&f);
    f.tx = tx;
    assert_int_equal(weft_block_on(rt, &f.base), 0); /* the root runs on this thread */
    assert_int_equal(f.results[0], -ENOMEM);
    assert_int_equal(f.results[1], 0);
    uint32_t v;
    for (uint32_t i = 0; i <= 16; i++) {
        assert_int_equal(weft_mpsc_try_recv(rx, &v), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(weft_mpsc_try_recv(rx, &v), -EAGAIN);
    weft_mpsc_tx_destroy(&tx);
    weft_mpsc_rx_destroy(&rx);
    weft_runtime_destroy(rt);
}

/* The receiver shuts down or goes while a sender grows the ring (the
 * allocation is made with the lock released): no message may be lost. A
 * send that began growing before a shutdown is ordered before it (its slot
 * was reserved): it succeeds and is received before "closed". A send into a
 * receiver destroyed meanwhile fails with -WEFT_ECLOSED and keeps its
 * message; it used to return 0 with the message discarded. */
static weft_mpsc_rx *hook_rx;
static void close_rx(void *arg) {
    (void)arg;
    weft_mpsc_rx_shutdown(hook_rx);
}
static void drop_rx(void *arg) {
    (void)arg;
    weft_mpsc_rx_destroy(&hook_rx);
    hook_rx = NULL;
}

static void test_unbounded_close_during_growth(void **state) {
    (void)state;
    for (int drop = 0; drop < 2; drop++) {
        for (int permit = 0; permit < 2; permit++) {
            weft_mpsc_tx *tx;
            assert_int_equal(weft_mpsc_create(sizeof(uint32_t), WEFT_MPSC_UNBOUNDED, NULL, &tx, &hook_rx), 0);
            uint32_t i;
            for (i = 0; i < 16; i++) assert_int_equal(weft_mpsc_try_send(tx, &i), 0);
            weft_mpsc_permit p;
            if (permit) assert_int_equal(weft_mpsc_try_reserve(tx, &p), 0);
            /* The 17th message needs a bigger ring: close at that malloc. */
            fault_arm(FAULT_MALLOC, (fault_rule){.count = 1, .this_thread = true, .hook = drop ? drop_rx : close_rx});
            int rc = permit ? weft_mpsc_permit_send(&p, &i) : weft_mpsc_try_send(tx, &i);
            assert_int_equal(fault_selected(FAULT_MALLOC), 1); /* the hook ran */
            fault_disarm(FAULT_MALLOC);
            bool delivered = !drop;
            assert_int_equal(rc, delivered ? 0 : -WEFT_ECLOSED);
            if (!drop) {
                uint32_t v;
                for (uint32_t k = 0; k < 16u + delivered; k++) {
                    assert_int_equal(weft_mpsc_try_recv(hook_rx, &v), 0);
                    assert_int_equal(v, k);
                }
                assert_int_equal(weft_mpsc_try_recv(hook_rx, &v), -WEFT_ECLOSED);
                weft_mpsc_rx_destroy(&hook_rx);
            }
            weft_mpsc_tx_destroy(&tx);
        }
    }
}

/* ---- weft_copy's own buffer ------------------------------------------------------ */

typedef struct copy_fail {
    WEFT_CORO_FIELDS;
    weft_unix_stream *a, *b;
    weft_copy c;
} copy_fail;
WEFT_ASYNC(copy_fail, NULL) {
    WEFT_BEGIN();
    /* Armed here: the root future runs on the test thread in both flavours. */
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    WEFT_AWAIT(weft_copy_init(&self->c, &self->a->stream, &self->b->stream, NULL, 0));
    assert_int_equal(fault_failed(FAULT_MALLOC), 1);
    fault_disarm(FAULT_MALLOC);
    WEFT_END();
}

static void test_copy_buffer_failure(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_unix_stream a, b;
    assert_int_equal(weft_unix_stream_pair(&a, &b, rt), 0);
    copy_fail f;
    copy_fail_start(&f);
    f.a = &a;
    f.b = &b;
    assert_int_equal(weft_block_on(rt, &f.base), 0);
    assert_int_equal(f.c.result, -ENOMEM);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_alloc_failure),
        cmocka_unit_test(test_join_set_alloc_failures),
        cmocka_unit_test(test_channel_create_failures),
        cmocka_unit_test(test_unbounded_growth_failure),
        cmocka_unit_test(test_unbounded_send_future_failure),
        cmocka_unit_test(test_unbounded_close_during_growth),
        cmocka_unit_test(test_copy_buffer_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
