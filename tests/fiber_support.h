/* Support for the fiber tests. */
#ifndef WEFT_TEST_FIBER_SUPPORT_H
#define WEFT_TEST_FIBER_SUPPORT_H

#include <errno.h>
#include <stdint.h>

#include "support.h"

/*
 * Checks inside a fiber. cmocka's assertions leave by longjmp to the test
 * function, which must not happen from a fiber's stack (or a worker
 * thread): a failed check prints where and aborts the test process.
 */
#define FCHECK(cond)                                                                   \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: fiber check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)
#define FCHECK_EQ(a, b)                                                                \
    do {                                                                               \
        long long fa_ = (long long)(a), fb_ = (long long)(b);                          \
        if (fa_ != fb_) {                                                              \
            fprintf(stderr, "%s:%d: fiber check failed: %s == %s (%lld != %lld)\n",   \
                    __FILE__, __LINE__, #a, #b, fa_, fb_);                             \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* True in builds with a sanitizer (smaller counts there). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FIBER_TEST_SANITIZED 1
#else
#define FIBER_TEST_SANITIZED 0
#endif

/* Spawns fn(arg) as a fiber task on rt, waits for it from the test thread
 * (on multi_thread, not a worker: the fiber runs on a worker) and returns
 * its output. Fails the test if the task did not complete. */
static inline __attribute__((unused)) void *run_fiber(weft_runtime *rt, weft_fiber_fn fn, void *arg) {
    weft_join_handle h = weft_fiber_spawn(rt, fn, arg, NULL);
    weft_fiber_output out = {(void *)(uintptr_t)0xdead, 1};
    h.out = &out;
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    assert_int_equal(out.error, 0);
    return out.value;
}

#endif
