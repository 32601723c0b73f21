/* Runtime creation under faults: every allocation, the wakeup channel
 * (eventfd, pipe), the epoll instance and its first epoll_ctl, and the
 * worker threads can fail; weft_runtime_create then returns the error,
 * sets *out to NULL and leaves no descriptor, memory (LeakSanitizer) or
 * thread behind. Both flavours and both backends are covered explicitly.
 * weft-test: threaded */
#include <errno.h>

#include "fault.h"
#include "net_support.h"

static weft_runtime_options opts(weft_flavor f, weft_io_backend be) {
    weft_runtime_options o = {0};
    o.flavor = f;
    o.workers = f == WEFT_MULTI_THREAD ? 3 : 0;
    o.io_backend = be;
    return o;
}

/* A runtime that works: a task runs and a timer fires. */
typedef struct smoke {
    WEFT_CORO_FIELDS;
    weft_sleep s;
} smoke;
WEFT_ASYNC(smoke, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 1));
    WEFT_END();
}
static void check_works(weft_runtime *rt) {
    smoke s;
    smoke_start(&s);
    assert_int_equal(run_as_task(rt, &s, sizeof s), 0);
}

/* Fails the k-th allocation made by weft_runtime_create on this thread, for
 * k = 0, 1, ... until creation no longer meets an allocation. */
static void sweep_allocations(weft_flavor f, weft_io_backend be) {
    weft_runtime_options o = opts(f, be);
    int fds = fd_count();
    for (unsigned k = 0;; k++) {
        assert_true(k < 64);
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 1, .this_thread = true});
        weft_runtime *rt = (weft_runtime *)1;
        int rc = weft_runtime_create(&rt, &o);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm(FAULT_ANY_ALLOC);
        if (!failed) { /* every allocation of creation was let through */
            assert_int_equal(rc, 0);
            check_works(rt);
            weft_runtime_destroy(rt);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_null(rt);
        assert_int_equal(fd_count(), fds);
    }
    assert_int_equal(fd_count(), fds);
}

static void test_alloc_failures_current_thread(void **state) {
    (void)state;
    sweep_allocations(WEFT_CURRENT_THREAD, WEFT_IO_EPOLL);
    sweep_allocations(WEFT_CURRENT_THREAD, WEFT_IO_POLL);
}

static void test_alloc_failures_multi_thread(void **state) {
    (void)state;
    sweep_allocations(WEFT_MULTI_THREAD, WEFT_IO_EPOLL);
    sweep_allocations(WEFT_MULTI_THREAD, WEFT_IO_POLL);
}

/* One system call of creation fails with `err`: that error comes back. */
static void fail_syscall(weft_flavor f, weft_io_backend be, fault_fn fn, int err) {
    weft_runtime_options o = opts(f, be);
    int fds = fd_count();
    fault_arm(fn, (fault_rule){.err = err, .count = 1, .this_thread = true});
    weft_runtime *rt = (weft_runtime *)1;
    int rc = weft_runtime_create(&rt, &o);
    assert_int_equal(fault_failed(fn), 1);
    fault_disarm(fn);
    assert_int_equal(rc, -err);
    assert_null(rt);
    assert_int_equal(fd_count(), fds);
    /* Nothing was left in a bad state: the next creation works. */
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    check_works(rt);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

static void test_wakeup_channel_failures(void **state) {
    (void)state;
    for (int f = WEFT_CURRENT_THREAD; f <= WEFT_MULTI_THREAD; f++) {
        fail_syscall(f, WEFT_IO_EPOLL, FAULT_EPOLL_CREATE, EMFILE);
        fail_syscall(f, WEFT_IO_EPOLL, FAULT_EVENTFD, EMFILE);
        fail_syscall(f, WEFT_IO_EPOLL, FAULT_EVENTFD, ENFILE);
        fail_syscall(f, WEFT_IO_EPOLL, FAULT_EPOLL_CTL, ENOMEM);
        fail_syscall(f, WEFT_IO_EPOLL, FAULT_EPOLL_CTL, ENOSPC);
        fail_syscall(f, WEFT_IO_POLL, FAULT_PIPE, EMFILE);
        fail_syscall(f, WEFT_IO_POLL, FAULT_PIPE, ENFILE);
    }
}

/* A worker thread cannot be started (the first, or a later one after some
 * started): creation fails, the started workers are stopped and joined. */
static void test_worker_thread_failure(void **state) {
    (void)state;
    for (int be = WEFT_IO_EPOLL; be <= WEFT_IO_POLL; be++) {
        weft_runtime_options o = opts(WEFT_MULTI_THREAD, be);
        int fds = fd_count();
        for (unsigned k = 0; k < o.workers; k++) {
            fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .skip = k, .count = 1});
            weft_runtime *rt = (weft_runtime *)1;
            int rc = weft_runtime_create(&rt, &o);
            assert_int_equal(fault_failed(FAULT_PTHREAD_CREATE), 1);
            fault_disarm(FAULT_PTHREAD_CREATE);
            /* weft reports -EAGAIN whatever pthread_create said. */
            assert_int_equal(rc, -EAGAIN);
            assert_null(rt);
            assert_int_equal(fd_count(), fds);
        }
        weft_runtime *rt;
        assert_int_equal(weft_runtime_create(&rt, &o), 0);
        check_works(rt);
        weft_runtime_destroy(rt);
    }
}

/* block_on on multi_thread allocates its root signal: -ENOMEM, and the
 * runtime is still usable. */
static void test_block_on_alloc_failure(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    smoke s;
    smoke_start(&s);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    int rc = weft_block_on(rt, &s.base);
    unsigned failed = fault_failed(FAULT_MALLOC);
    fault_disarm(FAULT_MALLOC);
    if (test_is_multi_thread()) {
        assert_int_equal(failed, 1);
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(weft_block_on(rt, &s.base), 0); /* not polled yet: still fresh */
    } else {
        assert_int_equal(rc, 0); /* current_thread allocates nothing there */
    }
    check_works(rt);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_failures_current_thread),
        cmocka_unit_test(test_alloc_failures_multi_thread),
        cmocka_unit_test(test_wakeup_channel_failures),
        cmocka_unit_test(test_worker_thread_failure),
        cmocka_unit_test(test_block_on_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
