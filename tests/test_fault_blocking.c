/* The blocking pool cannot start a thread, and name resolution (which runs
 * on that pool) meets allocation and thread failures: the error reaches the
 * handle or the future, the function never runs, nothing leaks or hangs,
 * and the pool works again once threads can be started.
 * weft-test: threaded */
#include <errno.h>

#include "fault.h"
#include "support.h"

/* A blocking call that could not get a thread reports -WEFT_ENOTHREAD
 * (not -ECANCELED, which means "aborted"). */
static bool no_thread_error(int rc) { return rc == -WEFT_ENOTHREAD; }

static atomic_int ran;
static void *count_run(void *arg) {
    atomic_fetch_add(&ran, 1);
    return arg;
}

static void test_spawn_blocking_without_threads(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    atomic_store(&ran, 0);
    /* The pool has no thread yet: the first call must start one. */
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .this_thread = true});
    weft_join_handle h = weft_spawn_blocking(rt, count_run, (void *)1, NULL);
    weft_join_handle h2 = weft_spawn_blocking(rt, count_run, (void *)2, NULL);
    assert_int_equal(fault_failed(FAULT_PTHREAD_CREATE), 2);
    fault_disarm(FAULT_PTHREAD_CREATE);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_true(no_thread_error(h.result));
    assert_int_equal(weft_block_on(rt, &h2.base), 0);
    assert_true(no_thread_error(h2.result));
    assert_int_equal(atomic_load(&ran), 0);
    /* Threads can be started again: the pool works. */
    void *out = NULL;
    weft_join_handle ok = WEFT_SPAWN_BLOCKING(rt, count_run, (void *)3, NULL, &out);
    assert_int_equal(weft_block_on(rt, &ok.base), 0);
    assert_int_equal(ok.result, 0);
    assert_ptr_equal(out, (void *)3);
    assert_int_equal(atomic_load(&ran), 1);
    weft_runtime_destroy(rt);
}

/* The task allocation of spawn_blocking fails: -ENOMEM, nothing runs. */
static void test_spawn_blocking_alloc_failure(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    atomic_store(&ran, 0);
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    weft_join_handle h = weft_spawn_blocking(rt, count_run, NULL, NULL);
    assert_int_equal(fault_failed(FAULT_ANY_ALLOC), 1);
    fault_disarm(FAULT_ANY_ALLOC);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, -ENOMEM);
    assert_int_equal(atomic_load(&ran), 0);
    weft_runtime_destroy(rt);
}

/* ---- name resolution ------------------------------------------------------------ */

typedef struct resolve_case {
    WEFT_CORO_FIELDS;
    fault_fn fn;
    fault_rule rule;
    weft_resolve r;
    weft_tcp_connect c;
    weft_sockaddr out[4];
    unsigned failed;
    int connect_result;
} resolve_case;

WEFT_ASYNC(resolve_case, NULL) {
    WEFT_BEGIN();
    /* Armed in the root future, which runs on the test thread in both
     * flavours: the lookup's own allocations and thread start happen here. */
    fault_arm(self->fn, self->rule);
    WEFT_AWAIT(weft_resolve_init(&self->r, "localhost:4242", self->out, 4));
    self->failed = fault_failed(self->fn);
    fault_arm(self->fn, self->rule);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, "localhost:1"));
    fault_disarm(self->fn);
    self->connect_result = self->c.result;
    if (self->c.result == 0) weft_tcp_stream_close(&self->c.stream);
    WEFT_END();
}

static int resolve_with(weft_runtime *rt, fault_fn fn, fault_rule rule, unsigned *failed, int *connect_result) {
    resolve_case t;
    resolve_case_start(&t);
    t.fn = fn;
    t.rule = rule;
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    *failed = t.failed;
    *connect_result = t.connect_result;
    return t.r.result;
}

static void test_resolve_alloc_failures(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    for (unsigned k = 0;; k++) {
        assert_true(k < 8);
        unsigned failed;
        int cr;
        int rc = resolve_with(rt, FAULT_ANY_ALLOC,
                              (fault_rule){.err = ENOMEM, .skip = k, .count = 1, .this_thread = true},
                              &failed, &cr);
        if (!failed) {
            assert_true(rc >= 1); /* resolved */
            break;
        }
        /* An allocation inside pthread_create leaves the pool without a
         * thread: that is reported as such. */
        assert_true(rc == -ENOMEM || rc == -WEFT_ENOTHREAD);
        assert_true(cr == -ENOMEM || cr == -WEFT_ENOTHREAD);
    }
    weft_runtime_destroy(rt);
}

static void test_resolve_without_threads(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    unsigned failed;
    int cr;
    int rc = resolve_with(rt, FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .this_thread = true},
                          &failed, &cr);
    assert_int_equal(failed, 1);
    /* The error reaches the future, named for what happened. */
    assert_true(no_thread_error(rc));
    assert_true(no_thread_error(cr));
    /* And with threads again, it resolves. */
    rc = resolve_with(rt, FAULT_PTHREAD_CREATE, (fault_rule){0}, &failed, &cr);
    assert_true(rc >= 1);
    assert_int_equal(cr, -ECONNREFUSED);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_blocking_without_threads),
        cmocka_unit_test(test_spawn_blocking_alloc_failure),
        cmocka_unit_test(test_resolve_alloc_failures),
        cmocka_unit_test(test_resolve_without_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
