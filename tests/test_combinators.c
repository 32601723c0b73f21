/* join, select (losers dropped or kept), yield_now, poll_fn. */
#include "support.h"

static weft_context noop_cx(void) { return weft_context_make(weft_waker_noop()); }

static void test_join_heterogeneous(void **state) {
    (void)state;
    gate_state ga, gb;
    gate_state_init(&ga);
    gate_state_init(&gb);
    gate a;
    weft_yield_now y;
    weft_ready r;
    gate_init(&a, &ga);
    weft_future *kids[3];
    weft_join j;
    WEFT_JOIN(&j, kids, &a.base, weft_yield_now_init(&y), weft_ready_init(&r));
    weft_context cx = noop_cx();
    assert_int_equal(weft_future_poll(&j.base, &cx), WEFT_PENDING);
    assert_int_equal(weft_future_poll(&j.base, &cx), WEFT_PENDING);
    assert_true(weft_future_is_ready(&y.base));
    assert_true(weft_future_is_ready(&r.base));
    int polls_before = atomic_load(&ga.polls);
    gate_open(&ga);
    assert_int_equal(weft_future_poll(&j.base, &cx), WEFT_READY);
    assert_int_equal(atomic_load(&ga.polls), polls_before + 1);
    assert_int_equal(a.out, 42);
    assert_int_equal(atomic_load(&ga.drops), 0);

    /* Dropping a join drops only the children still pending. */
    gate a2, b2;
    weft_ready r2;
    gate_init(&a2, &ga);
    gate_init(&b2, &gb);
    weft_join j2;
    WEFT_JOIN(&j2, kids, &a2.base, &b2.base, weft_ready_init(&r2));
    assert_int_equal(weft_future_poll(&j2.base, &cx), WEFT_PENDING); /* a2 is open: ready */
    weft_future_drop(&j2.base);
    assert_int_equal(atomic_load(&ga.drops), 0);
    assert_int_equal(atomic_load(&gb.drops), 1);
    gate_state_destroy(&ga);
    gate_state_destroy(&gb);
}

static void test_select_drops_losers(void **state) {
    (void)state;
    gate_state ga, gb, gc;
    gate_state_init(&ga);
    gate_state_init(&gb);
    gate_state_init(&gc);
    gate a, b, c;
    weft_future *kids[3];
    weft_select s;
    WEFT_SELECT(&s, kids, WEFT_SELECT_DROP_LOSERS, gate_init(&a, &ga), gate_init(&b, &gb),
                gate_init(&c, &gc));
    weft_context cx = noop_cx();
    assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
    gate_open(&gb);
    assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
    assert_int_equal(s.winner, 1);
    assert_int_equal(b.out, 42);
    assert_int_equal(atomic_load(&ga.drops), 1);
    assert_int_equal(atomic_load(&gb.drops), 0);
    assert_int_equal(atomic_load(&gc.drops), 1);
    weft_future_drop(&s.base); /* completed: nothing more is dropped */
    assert_int_equal(atomic_load(&ga.drops), 1);
    gate_state_destroy(&ga);
    gate_state_destroy(&gb);
    gate_state_destroy(&gc);
}

static void test_select_keeps_losers(void **state) {
    (void)state;
    gate_state ga, gb;
    gate_state_init(&ga);
    gate_state_init(&gb);
    gate a, b;
    weft_future *kids[2];
    weft_select s;
    WEFT_SELECT(&s, kids, WEFT_SELECT_KEEP_LOSERS, gate_init(&a, &ga), gate_init(&b, &gb));
    weft_context cx = noop_cx();
    assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
    gate_open(&ga);
    assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
    assert_int_equal(s.winner, 0);
    /* The loser is handed back, still pending: finish it ourselves. */
    assert_int_equal(atomic_load(&gb.drops), 0);
    gate_open(&gb);
    assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
    assert_int_equal(b.out, 42);
    gate_state_destroy(&ga);
    gate_state_destroy(&gb);
}

static void test_select_dropped_before_ready(void **state) {
    (void)state;
    gate_state ga, gb;
    gate_state_init(&ga);
    gate_state_init(&gb);
    gate a, b;
    weft_future *kids[2];
    weft_select s;
    WEFT_SELECT(&s, kids, WEFT_SELECT_KEEP_LOSERS, gate_init(&a, &ga), gate_init(&b, &gb));
    weft_context cx = noop_cx();
    assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
    weft_future_drop(&s.base);
    assert_int_equal(atomic_load(&ga.drops), 1);
    assert_int_equal(atomic_load(&gb.drops), 1);
    gate_state_destroy(&ga);
    gate_state_destroy(&gb);
}

/* select is fair: with two always-ready children, the winner alternates. */
static void test_select_rotates(void **state) {
    (void)state;
    int wins[2] = {0, 0};
    for (int i = 0; i < 10; i++) {
        weft_ready r0, r1;
        weft_future *kids[2];
        weft_select s;
        WEFT_SELECT(&s, kids, WEFT_SELECT_DROP_LOSERS, weft_ready_init(&r0), weft_ready_init(&r1));
        s.start = (uint32_t)(i % 2); /* a fresh select starts at 0; rotation is per select */
        weft_context cx = noop_cx();
        assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
        wins[s.winner]++;
    }
    assert_int_equal(wins[0], 5);
    assert_int_equal(wins[1], 5);
}

static weft_poll three_polls(void *st, weft_context *cx) {
    int *n = st;
    return ++*n == 3 ? WEFT_READY : WEFT_PENDING;
}
static void count_drop(void *st) { *(int *)st = -1; }

static void test_yield_now_and_poll_fn(void **state) {
    (void)state;
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    weft_yield_now y;
    weft_yield_now_init(&y);
    assert_int_equal(weft_future_poll(&y.base, &cx), WEFT_PENDING);
    assert_int_equal(atomic_load(&cw.wakes), 1);
    assert_int_equal(weft_future_poll(&y.base, &cx), WEFT_READY);

    int n = 0;
    weft_poll_fn p;
    weft_poll_fn_init(&p, three_polls, &n, count_drop);
    assert_int_equal(weft_future_poll(&p.base, &cx), WEFT_PENDING);
    assert_int_equal(weft_future_poll(&p.base, &cx), WEFT_PENDING);
    assert_int_equal(weft_future_poll(&p.base, &cx), WEFT_READY);
    weft_future_drop(&p.base);
    assert_int_equal(n, 3); /* completed futures are not dropped again */

    int m = 0;
    weft_poll_fn_init(&p, three_polls, &m, count_drop);
    assert_int_equal(weft_future_poll(&p.base, &cx), WEFT_PENDING);
    weft_future_drop(&p.base);
    assert_int_equal(m, -1);
}

/* The cooperative budget: a leaf that spends it returns pending once spent. */
static weft_poll spend_all(void *st, weft_context *cx) {
    int *n = st;
    while (weft_coop_spend(cx)) ++*n;
    return WEFT_PENDING;
}

static void test_coop_budget(void **state) {
    (void)state;
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    int n = 0;
    weft_poll_fn p;
    weft_poll_fn_init(&p, spend_all, &n, NULL);
    assert_int_equal(weft_future_poll(&p.base, &cx), WEFT_PENDING);
    assert_int_equal(n, WEFT_COOP_BUDGET);
    assert_int_equal(atomic_load(&cw.wakes), 1); /* it woke itself when the budget ran out */
    weft_future_drop(&p.base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_heterogeneous),
        cmocka_unit_test(test_select_drops_losers),
        cmocka_unit_test(test_select_keeps_losers),
        cmocka_unit_test(test_select_dropped_before_ready),
        cmocka_unit_test(test_select_rotates),
        cmocka_unit_test(test_yield_now_and_poll_fn),
        cmocka_unit_test(test_coop_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
