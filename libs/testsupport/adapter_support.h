/* Helpers shared by the adapter tests: fibers as test bodies, counted
 * checks that work on any thread. */
#ifndef WEFT_TEST_ADAPTER_SUPPORT_H
#define WEFT_TEST_ADAPTER_SUPPORT_H

#include <stdatomic.h>

#include "support.h"
#include "weft/fiber.h"

/* Checks inside fibers and tasks (which may run on worker threads, where
 * cmocka's assertions cannot jump back to the test): a failed check is
 * printed and counted, and the test asserts the count is zero. */
static atomic_int check_failures;
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            atomic_fetch_add(&check_failures, 1);                                          \
        }                                                                                  \
    } while (0)
#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        if (a_ != b_) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__,   \
                    __LINE__, #a, #b, a_, b_);                                             \
            atomic_fetch_add(&check_failures, 1);                                          \
        }                                                                                  \
    } while (0)

/* Runs fn(arg) as a fiber task on a runtime of the suite's flavour
 * (current_thread, or multi_thread with its workers) and waits for it;
 * then destroys the runtime and asserts that every check passed. */
static inline __attribute__((unused)) void run_fiber_test(weft_fiber_fn fn, void *arg) {
    weft_runtime *rt = rt_new();
    weft_fiber_output out = {0};
    weft_join_handle h = weft_fiber_spawn(rt, fn, arg, NULL);
    h.out = &out;
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    assert_int_equal(out.error, 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&check_failures), 0);
}

/* Spawns `n` fibers running fn(args + i*size) and joins them all (fiber only). */
static inline __attribute__((unused)) void fibers_run_all(weft_fiber_fn fn, void *args,
                                                          size_t size, int n) {
    weft_join_handle *hs = calloc((size_t)n, sizeof *hs);
    for (int i = 0; i < n; i++)
        hs[i] = weft_fiber_spawn(weft_runtime_current(), fn, (char *)args + (size_t)i * size, NULL);
    for (int i = 0; i < n; i++) CHECK_EQ(weft_fiber_join(&hs[i], NULL), 0);
    free(hs);
}

#endif
