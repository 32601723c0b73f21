/* The reactor's own allocations failing: the poll backend's pollfd set
 * (which also carries the wakeup pipe), and the waker batch of driver
 * shutdown. A remote wake must still wake a parked runtime thread, and a
 * waiter outside the runtime must still be woken (-ESHUTDOWN) when the
 * runtime goes.
 * weft-test: threaded */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "fault.h"
#include "net_support.h"

/* ---- a parked current_thread runtime is woken from another thread ----------------- */

typedef struct waker_thread {
    gate_state *gate;
    pthread_t target;
    atomic_bool done, rescued;
} waker_thread;

static void on_usr1(int sig) { (void)sig; }

static void *open_later(void *p) {
    waker_thread *w = p;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    gate_open(w->gate);
    /* If the runtime thread sleeps through the wake, interrupt its poll()
     * after 3 s so that the test fails instead of hanging. */
    for (int i = 0; i < 300 && !atomic_load(&w->done); i++) {
        ts.tv_nsec = 10 * 1000000L;
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&w->done)) {
        atomic_store(&w->rescued, true);
        while (!atomic_load(&w->done)) {
            pthread_kill(w->target, SIGUSR1);
            ts.tv_nsec = 10 * 1000000L;
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* The first wait of a fresh poll-backend runtime cannot allocate its pollfd
 * set: before the fix the wakeup pipe was left out of it and the thread
 * slept in poll() on nothing, deaf to remote wakes. */
static void test_poll_set_alloc_failure_keeps_wakeups(void **state) {
    (void)state;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, &old);
    for (unsigned k = 0; k < 3; k++) {
        weft_runtime_options o = {.flavor = WEFT_CURRENT_THREAD, .io_backend = WEFT_IO_POLL};
        weft_runtime *rt;
        /* Fail allocations made on this thread from the k-th on, for a while. */
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 2, .this_thread = true});
        int rc = weft_runtime_create(&rt, &o);
        if (rc) { /* creation met the failure: a clean error, try the next k */
            assert_int_equal(rc, -ENOMEM);
            fault_disarm(FAULT_ANY_ALLOC);
            continue;
        }
        gate_state st;
        gate_state_init(&st);
        gate g;
        gate_init(&g, &st);
        waker_thread w = {&st, pthread_self(), false, false};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, open_later, &w), 0);
        assert_int_equal(weft_block_on(rt, &g.base), 0);
        atomic_store(&w.done, true);
        pthread_join(th, NULL);
        fault_disarm(FAULT_ANY_ALLOC);
        assert_false(atomic_load(&w.rescued)); /* woken by the wake, not by the watchdog */
        gate_state_destroy(&st);
        weft_runtime_destroy(rt);
    }
    sigaction(SIGUSR1, &old, NULL);
}

/* ---- driver shutdown wakes waiters outside the runtime ----------------------------- */

typedef struct outside_reader {
    weft_unix_stream *s;
    ssize_t result;
    atomic_bool done;
} outside_reader;

static void *read_outside(void *p) {
    outside_reader *o = p;
    char c;
    weft_read r;
    weft_read_init(&r, &o->s->stream, &c, 1);
    weft_wait_blocking(&r.base); /* a thread that is not the runtime's */
    o->result = r.result;
    atomic_store(&o->done, true);
    return NULL;
}

static bool wait_done(atomic_bool *done, int ms) {
    for (int i = 0; i < ms && !atomic_load(done); i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(done);
}

static void test_shutdown_wakes_outside_waiters_without_memory(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_unix_stream a, b;
    assert_int_equal(weft_unix_stream_pair(&a, &b, rt), 0);
    outside_reader o = {&a, 0, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_outside, &o), 0);
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL); /* the reader is waiting on `a` by now */
    /* Every allocation of the destroying thread fails. */
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .this_thread = true});
    weft_runtime_destroy(rt);
    fault_disarm(FAULT_ANY_ALLOC);
    bool woken = wait_done(&o.done, 3000);
    if (!woken) { /* do not leave the reader hanging: wake it with data */
        ssize_t n = write(weft_unix_stream_fd(&b), "x", 1);
        (void)n;
    }
    assert_true(woken);
    pthread_join(th, NULL);
    assert_int_equal(o.result, -ESHUTDOWN);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
}

/* ---- the backend's wait itself fails ------------------------------------------------ */

typedef struct idle_sleep {
    WEFT_CORO_FIELDS;
    weft_sleep s;
} idle_sleep;
WEFT_ASYNC(idle_sleep, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 30));
    WEFT_END();
}

/* ENOMEM from epoll_wait / poll: the runtime pauses and goes on; it does
 * not spin (a few dozen waits in 30 ms, not millions). */
static void test_wait_enomem_does_not_spin(void **state) {
    (void)state;
    for (int backend = WEFT_IO_EPOLL; backend <= WEFT_IO_POLL; backend++) {
        weft_runtime_options o = test_runtime_options();
        o.io_backend = (weft_io_backend)backend;
        weft_runtime *rt;
        assert_int_equal(weft_runtime_create(&rt, &o), 0);
        fault_fn fn = backend == WEFT_IO_EPOLL ? FAULT_EPOLL_WAIT : FAULT_POLL;
        fault_arm(fn, (fault_rule){.err = ENOMEM});
        idle_sleep f;
        idle_sleep_start(&f);
        assert_int_equal(weft_block_on(rt, &f.base), 0);
        unsigned failed = fault_failed(fn);
        fault_disarm(fn);
        assert_true(failed >= 1);
        assert_true(failed < 1000);
        weft_runtime_destroy(rt);
    }
}

/* Any other failure means the driver's descriptors are broken: the process
 * stops with a message that says so, instead of spinning. */
static void broken_wait_child(void) {
    weft_runtime_options o = {.flavor = WEFT_CURRENT_THREAD, .io_backend = WEFT_IO_EPOLL};
    weft_runtime *rt;
    if (weft_runtime_create(&rt, &o) != 0) return;
    fault_arm(FAULT_EPOLL_WAIT, (fault_rule){.err = EBADF});
    idle_sleep f;
    idle_sleep_start(&f);
    weft_block_on(rt, &f.base);
}

static void test_wait_broken_stops_with_message(void **state) {
    (void)state;
    int sig;
    const char *err = run_in_child(broken_wait_child, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "driver's wait failed"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_set_alloc_failure_keeps_wakeups),
        cmocka_unit_test(test_wait_enomem_does_not_spin),
        cmocka_unit_test(test_wait_broken_stops_with_message),
        cmocka_unit_test(test_shutdown_wakes_outside_waiters_without_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
