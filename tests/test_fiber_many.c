/* 100,000 fibers alive at once (10,000 under ASan, 5,000 under TSan,
 * which counts each fiber as a thread, at most 8,128): each starts,
 * sleeps on the timer wheel, then waits for a semaphore permit that the
 * test hands out only once every fiber has started, and returns its
 * index. Every output arrives, every stack goes back to the pool.
 * weft-test: threaded  weft-test: timeout=600 */
#include "fiber/stack.h"
#include "fiber_support.h"

typedef struct crowd {
    atomic_int started;
    weft_semaphore sem;
} crowd;

typedef struct member_arg {
    crowd *c;
    uintptr_t index;
} member_arg;

static void *member(void *p) {
    member_arg *a = p;
    atomic_fetch_add(&a->c->started, 1);
    FCHECK_EQ(weft_fiber_sleep(1 + a->index % 7), 0);
    weft_semaphore_acquire acq;
    FCHECK_EQ(weft_await(weft_semaphore_acquire_init(&acq, &a->c->sem)), 0);
    FCHECK_EQ(acq.result, 0);
    return (void *)a->index;
}

static void test_hundred_thousand(void **state) {
    (void)state;
#if defined(__SANITIZE_THREAD__)
    size_t n = 5000;
#else
    size_t n = FIBER_TEST_SANITIZED ? 10000 : 100000;
#endif
    weft_runtime *rt = rt_new();
    crowd c;
    atomic_init(&c.started, 0);
    weft_semaphore_init(&c.sem, 0);
    member_arg *args = calloc(n, sizeof *args);
    weft_join_handle *hs = calloc(n, sizeof *hs);
    weft_fiber_output *outs = calloc(n, sizeof *outs);
    assert_non_null(args);
    assert_non_null(hs);
    assert_non_null(outs);
    weft__stack_stats before, during, after;
    weft__stack_stats_get(&before);
    for (size_t i = 0; i < n; i++) {
        args[i] = (member_arg){&c, i};
        hs[i] = weft_fiber_spawn(rt, member, &args[i], NULL);
        if (hs[i].state != WEFT_JOIN_LIVE) fail_msg("spawn %zu: %s", i, weft_strerror(hs[i].result));
        hs[i].out = &outs[i];
    }
    while ((size_t)atomic_load(&c.started) < n) {
        weft_sleep s;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 5)), 0);
    }
    weft__stack_stats_get(&during);
    assert_true(during.in_use >= before.in_use + n); /* all alive at once */
    weft_semaphore_add_permits(&c.sem, n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
        sum += (uintptr_t)outs[i].value;
    }
    assert_int_equal(sum, (uint64_t)n * (n - 1) / 2);
    weft__stack_stats_get(&after);
    assert_int_equal(after.in_use, before.in_use);
    weft_runtime_destroy(rt);
    weft_semaphore_destroy(&c.sem);
    free(args);
    free(hs);
    free(outs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hundred_thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
