/* spawn_blocking, shutdown with a time limit, weft_main.
 * weft-test: threaded */
#include <time.h>

#include <semaphore.h>

#include "support.h"
#include "runtime/rt.h"
#include "sched/blocking_pool.h"
#include "util/deadline.h"

static void *square(void *arg) {
    long v = (long)(intptr_t)arg;
    return (void *)(intptr_t)(v * v);
}

static void *nap_ms(void *arg) {
    usleep((useconds_t)(intptr_t)arg * 1000);
    return arg;
}

typedef struct blocking_root {
    WEFT_CORO_FIELDS;
    weft_join_handle h[64];
    void *out[64];
    int i;
} blocking_root;

WEFT_ASYNC(blocking_root, NULL) {
    WEFT_BEGIN();
    /* More calls than a few threads, each blocking 20 ms: they overlap. */
    for (self->i = 0; self->i < 64; self->i++)
        self->h[self->i] = WEFT_SPAWN_BLOCKING(cx->runtime, self->i % 2 ? square : nap_ms,
                                               (void *)(intptr_t)(self->i % 2 ? self->i : 20),
                                               NULL, &self->out[self->i]);
    for (self->i = 0; self->i < 64; self->i++) WEFT_AWAIT(&self->h[self->i].base);
    WEFT_END();
}

static void test_spawn_blocking(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    blocking_root r;
    blocking_root_start(&r);
    uint64_t t0 = weft_clock_ms();
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    uint64_t took = weft_clock_ms() - t0;
    for (int i = 0; i < 64; i++) {
        assert_int_equal(r.h[i].result, 0);
        if (i % 2) assert_int_equal((intptr_t)r.out[i], (intptr_t)i * i);
        else assert_int_equal((intptr_t)r.out[i], 20);
    }
    /* 32 naps of 20 ms ran on separate threads, not one after the other
     * (640 ms); generous for a loaded machine. */
    assert_true(took < 600);
    weft_runtime_destroy(rt);
}

/* A pool limited to 2 threads queues the rest; all still complete. */
static void test_pool_limit(void **state) {
    (void)state;
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 2;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    blocking_root r;
    blocking_root_start(&r);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    for (int i = 1; i < 64; i += 2) assert_int_equal((intptr_t)r.out[i], (intptr_t)i * i);
    weft_runtime_destroy(rt);
}

/* Abort before the call starts: it never runs. */
static atomic_int ran;
static void *count_run(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return NULL;
}

static void test_abort_before_start(void **state) {
    (void)state;
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 1;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    atomic_store(&ran, 0);
    /* Occupy the single thread, then queue one behind it and abort it. */
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)50, NULL);
    weft_join_handle queued = weft_spawn_blocking(rt, count_run, NULL, NULL);
    weft_join_handle_abort(&queued);
    assert_int_equal(weft_block_on(rt, &queued.base), 0);
    assert_int_equal(queued.result, -ECANCELED);
    assert_int_equal(weft_block_on(rt, &busy.base), 0);
    assert_int_equal(busy.result, 0);
    assert_int_equal(atomic_load(&ran), 0);
    weft_runtime_destroy(rt);
}

/* A blocking call that runs until the test lets it go. */
static sem_t call_started, call_may_end, call_ended;
static void *held_call(void *arg) {
    sem_post(&call_started);
    sem_wait(&call_may_end);
    sem_post(&call_ended);
    return arg;
}

/* destroy_timeout leaves a call that is still running behind, and
 * returns while it runs; the thread finishes later and releases the
 * runtime's memory itself (LeakSanitizer checks). */
static void test_destroy_timeout(void **state) {
    (void)state;
    sem_init(&call_started, 0, 0);
    sem_init(&call_may_end, 0, 0);
    sem_init(&call_ended, 0, 0);
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_spawn_blocking(rt, held_call, NULL, NULL);
    sem_wait(&call_started);
    assert_int_equal(weft_runtime_destroy_timeout(rt, 30), -ETIMEDOUT);
    assert_int_equal(sem_trywait(&call_ended), -1); /* returned while the call runs */
    weft_join_handle_detach(&h);
    sem_post(&call_may_end);
    sem_wait(&call_ended);
    usleep(100000); /* the thread leaves after the call: give it time to free the runtime */
}

/* A detached call queued behind a busy single-thread pool when the runtime
 * shuts down never runs: its cancel hook runs instead, exactly once. */
static atomic_int detached_runs, detached_cancels;
static void *detached_fn(void *arg) {
    atomic_fetch_add(&detached_runs, 1);
    free(arg);
    return NULL;
}
static void detached_cancel(void *arg) {
    atomic_fetch_add(&detached_cancels, 1);
    free(arg); /* LeakSanitizer: the argument is always released */
}

static void test_detached_cancelled_at_shutdown(void **state) {
    (void)state;
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 1;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    atomic_store(&detached_runs, 0);
    atomic_store(&detached_cancels, 0);
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)100, NULL);
    usleep(10000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(weft__blocking_detached(rt, detached_fn, detached_cancel, malloc(16)), 0);
    weft_join_handle_detach(&busy);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&detached_runs), 0);
    assert_int_equal(atomic_load(&detached_cancels), 5);
}

/* ---- arg_drop: runs exactly once, if and only if fn never runs ------------ */

static atomic_int arg_fn_runs, arg_drops;
static void *arg_fn(void *arg) {
    atomic_fetch_add(&arg_fn_runs, 1);
    free(arg);
    return NULL;
}
static void arg_drop(void *arg) {
    atomic_fetch_add(&arg_drops, 1);
    free(arg); /* LeakSanitizer: the argument is always released */
}

static void reset_arg_counts(void) {
    atomic_store(&arg_fn_runs, 0);
    atomic_store(&arg_drops, 0);
}

/* The call runs: arg is fn's, arg_drop never runs. */
static void test_arg_drop_not_run_when_fn_runs(void **state) {
    (void)state;
    reset_arg_counts();
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_fn_runs), 1);
    assert_int_equal(atomic_load(&arg_drops), 0);
}

/* Aborted while queued behind a busy single-thread pool: arg_drop runs. */
static void test_arg_drop_on_abort(void **state) {
    (void)state;
    reset_arg_counts();
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 1;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)50, NULL);
    weft_join_handle queued = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    weft_join_handle_abort(&queued);
    assert_int_equal(weft_block_on(rt, &queued.base), 0);
    assert_int_equal(queued.result, -ECANCELED);
    assert_int_equal(weft_block_on(rt, &busy.base), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_fn_runs), 0);
    assert_int_equal(atomic_load(&arg_drops), 1);
}

/* Still queued when the runtime is destroyed: arg_drop runs, whether the
 * handle was kept, dropped or aborted; NULL arg_drop is allowed. */
static void test_arg_drop_on_destroy(void **state) {
    (void)state;
    reset_arg_counts();
    weft_runtime_options o = test_runtime_options();
    o.max_blocking = 1;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)50, NULL);
    weft_join_handle kept = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    weft_join_handle dropped = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    weft_join_handle aborted = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    weft_join_handle no_drop = weft_spawn_blocking(rt, count_run, NULL, NULL);
    weft_join_handle_detach(&dropped);
    weft_join_handle_abort(&aborted);
    weft_join_handle_detach(&busy);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_fn_runs), 0);
    assert_int_equal(atomic_load(&arg_drops), 3);
    weft_join_handle_detach(&kept);
    weft_join_handle_detach(&aborted);
    weft_join_handle_detach(&no_drop);
}

/* Spawning on a runtime that is shutting down fails at once: arg_drop runs. */
static void test_arg_drop_on_failed_spawn(void **state) {
    (void)state;
    reset_arg_counts();
    weft_runtime *rt = rt_new();
    atomic_store(&rt->shutting_down, true);
    weft_join_handle h = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    assert_null(h.task);
    assert_int_equal(h.result, -ESHUTDOWN);
    assert_int_equal(atomic_load(&arg_drops), 1);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_fn_runs), 0);
}

/* ---- no thread: -WEFT_ENOTHREAD, not -ECANCELED ---------------------------- */

static int failing_thread_start(pthread_t *th, void *(*fn)(void *), void *arg) {
    (void)th, (void)fn, (void)arg;
    return -EAGAIN;
}

static void test_no_thread(void **state) {
    (void)state;
    reset_arg_counts();
    weft_runtime *rt = rt_new();
    int (*saved)(pthread_t *, void *(*)(void *), void *) = weft__blocking_thread_start;
    weft__blocking_thread_start = failing_thread_start;
    weft_join_handle h = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, -WEFT_ENOTHREAD);
    assert_int_equal(atomic_load(&arg_drops), 1);
    /* The internal detached form reports it too, and runs its cancel hook. */
    assert_int_equal(weft__blocking_detached(rt, arg_fn, arg_drop, malloc(16)), -WEFT_ENOTHREAD);
    assert_int_equal(atomic_load(&arg_drops), 2);
    weft__blocking_thread_start = saved;
    /* With threads back, the pool works again. */
    weft_join_handle ok = weft_spawn_blocking(rt, arg_fn, malloc(16), arg_drop);
    assert_int_equal(weft_block_on(rt, &ok.base), 0);
    assert_int_equal(ok.result, 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_fn_runs), 1);
    assert_int_equal(atomic_load(&arg_drops), 2);
}

/* ---- every pool thread is joined ------------------------------------------ */

/* A thread-local destructor that takes a while: it runs as the pool thread
 * exits, after the thread has left the pool's books. Only a join waits for
 * it; a detached thread would still be in it when destroy returns. */
static pthread_key_t slow_key;
static atomic_int slow_dtors_done;
static void slow_dtor(void *v) {
    (void)v;
    usleep(50000);
    atomic_fetch_add(&slow_dtors_done, 1);
}
static void *set_slow_tls(void *arg) {
    pthread_setspecific(slow_key, (void *)1);
    return arg;
}

static void test_destroy_joins_pool_threads(void **state) {
    (void)state;
    assert_int_equal(pthread_key_create(&slow_key, slow_dtor), 0);
    atomic_store(&slow_dtors_done, 0);
    weft_runtime *rt = rt_new();
    weft_join_handle a = weft_spawn_blocking(rt, set_slow_tls, NULL, NULL);
    weft_join_handle b = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)20, NULL);
    weft_join_handle c = weft_spawn_blocking(rt, set_slow_tls, NULL, NULL);
    assert_int_equal(weft_block_on(rt, &a.base), 0);
    assert_int_equal(weft_block_on(rt, &b.base), 0);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    /* Every thread that ran set_slow_tls has finished its destructor. */
    assert_true(atomic_load(&slow_dtors_done) >= 1);
    int done = atomic_load(&slow_dtors_done);
    usleep(100000);
    assert_int_equal(atomic_load(&slow_dtors_done), done);
    pthread_key_delete(slow_key);
}

/* A thread that retires (keep-alive over) is joined by the next submit
 * that starts a thread, once it has exited: retired threads do not pile up
 * (without the reaping all ten would still be listed here). */
static void test_retired_threads_joined(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    pthread_mutex_lock(&rt->blocking.lock);
    rt->blocking.keep_alive_ms = 10;
    pthread_mutex_unlock(&rt->blocking.lock);
    for (int round = 0; round < 10; round++) {
        weft_join_handle h = weft_spawn_blocking(rt, square, (void *)(intptr_t)3, NULL);
        assert_int_equal(weft_block_on(rt, &h.base), 0);
        /* Wait until the thread retired. */
        for (int i = 0; i < 500; i++) {
            pthread_mutex_lock(&rt->blocking.lock);
            unsigned n = rt->blocking.threads;
            pthread_mutex_unlock(&rt->blocking.lock);
            if (n == 0) break;
            usleep(2000);
        }
        usleep(10000); /* and let it finish exiting */
    }
    pthread_mutex_lock(&rt->blocking.lock);
    unsigned listed = 0;
    for (weft_pool_thread *pt = rt->blocking.all; pt; pt = pt->next) listed++;
    pthread_mutex_unlock(&rt->blocking.lock);
    assert_true(listed <= 3); /* the last retired one or so, not ten */
    weft_runtime_destroy(rt);
}

/* ---- deadlines --------------------------------------------------------------- */

static void test_timespec_add_ms(void **state) {
    (void)state;
    struct timespec ts = {10, 999999999L};
    weft__timespec_add_ms(&ts, 1);
    assert_int_equal(ts.tv_sec, 11);
    assert_int_equal(ts.tv_nsec, 999999L);
    ts = (struct timespec){10, 500000000L};
    weft__timespec_add_ms(&ts, 999);
    assert_int_equal(ts.tv_sec, 11);
    assert_int_equal(ts.tv_nsec, 499000000L);
    ts = (struct timespec){10, 0};
    weft__timespec_add_ms(&ts, 1000);
    assert_int_equal(ts.tv_sec, 11);
    assert_int_equal(ts.tv_nsec, 0);
    ts = (struct timespec){10, 999000000L};
    weft__timespec_add_ms(&ts, 3600 * 1000 + 1);
    assert_int_equal(ts.tv_sec, 10 + 3600 + 1);
    assert_int_equal(ts.tv_nsec, 0);
    ts = (struct timespec){10, 999999999L};
    weft__timespec_add_ms(&ts, 123456789999ULL);
    assert_int_equal(ts.tv_sec, 10 + 123456789 + 1);
    assert_int_equal(ts.tv_nsec, 999000000L - 1);
    ts = (struct timespec){10, 5};
    weft__timespec_add_ms(&ts, UINT64_MAX); /* clamped, still normalised */
    assert_true(ts.tv_sec > 0);
    assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
    /* A condvar wait on a deadline built here is accepted for any length. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    weft__cond_init_monotonic(&c);
    pthread_mutex_lock(&m);
    struct timespec past = weft__deadline_after_ms(0);
    assert_int_equal(pthread_cond_timedwait(&c, &m, &past), ETIMEDOUT);
    for (uint64_t ms = 990; ms <= 1010; ms++) {
        struct timespec d = weft__deadline_after_ms(ms);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    }
    pthread_mutex_unlock(&m);
    pthread_cond_destroy(&c);
}

/* weft_main: one call runs an async main on a multi_thread runtime. */
typedef struct app {
    WEFT_CORO_FIELDS;
    int argc;
    char **argv;
    int exit_code;
    weft_sleep s;
    bool on_mt;
} app;

WEFT_ASYNC(app, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 5));
    self->exit_code = 7;
    WEFT_END();
}

static void test_weft_main(void **state) {
    (void)state;
    app a;
    app_start(&a);
    a.exit_code = 0;
    assert_int_equal(weft_main(&a.base, NULL), 0);
    assert_int_equal(a.exit_code, 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_blocking),   cmocka_unit_test(test_pool_limit),
        cmocka_unit_test(test_abort_before_start), cmocka_unit_test(test_destroy_timeout),
        cmocka_unit_test(test_detached_cancelled_at_shutdown),
        cmocka_unit_test(test_weft_main),
        cmocka_unit_test(test_arg_drop_not_run_when_fn_runs),
        cmocka_unit_test(test_arg_drop_on_abort),
        cmocka_unit_test(test_arg_drop_on_destroy),
        cmocka_unit_test(test_arg_drop_on_failed_spawn),
        cmocka_unit_test(test_no_thread),
        cmocka_unit_test(test_destroy_joins_pool_threads),
        cmocka_unit_test(test_retired_threads_joined),
        cmocka_unit_test(test_timespec_add_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
