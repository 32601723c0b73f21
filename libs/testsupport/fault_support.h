/* For the adapters' fault tests: a current_thread runtime (the faulted
 * calls then run on the test's own thread, which the rules select with
 * this_thread) and descriptor counting. */
#ifndef WEFT_TEST_ADAPTER_FAULT_H
#define WEFT_TEST_ADAPTER_FAULT_H

#include <dirent.h>

#include "adapter_support.h"
#include "fault.h"

static inline __attribute__((unused)) weft_runtime *rt_current_thread(void) {
    weft_runtime *rt = NULL;
    assert_int_equal(weft_runtime_create(&rt, NULL), 0);
    return rt;
}

/* Runs fn(arg) as a fiber on the calling thread (block_on's root future). */
static inline __attribute__((unused)) void run_fiber_here(weft_runtime *rt, weft_fiber_fn fn,
                                                          void *arg) {
    weft_fiber f;
    weft_fiber_init(&f, fn, arg, NULL);
    assert_int_equal(weft_block_on(rt, &f.base), 0);
    assert_int_equal(f.output.error, 0);
    assert_int_equal(atomic_load(&check_failures), 0);
}

static inline __attribute__((unused)) int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d)) n++;
    if (d) closedir(d);
    return n;
}

#endif
