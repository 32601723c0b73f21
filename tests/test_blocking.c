/* spawn_blocking, shutdown with a time limit, weft_main.
 * weft-test: threaded */
#include <time.h>

#include "support.h"
#include "sched/blocking_pool.h"

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
                                               &self->out[self->i]);
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
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)50);
    weft_join_handle queued = weft_spawn_blocking(rt, count_run, NULL);
    weft_join_handle_abort(&queued);
    assert_int_equal(weft_block_on(rt, &queued.base), 0);
    assert_int_equal(queued.result, -ECANCELED);
    assert_int_equal(weft_block_on(rt, &busy.base), 0);
    assert_int_equal(busy.result, 0);
    assert_int_equal(atomic_load(&ran), 0);
    weft_runtime_destroy(rt);
}

/* shutdown_timeout leaves a long call behind and returns in time; the
 * thread finishes later and releases the runtime's memory itself. */
static void test_shutdown_timeout(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)300);
    usleep(20000); /* let it start */
    uint64_t t0 = weft_clock_ms();
    assert_int_equal(weft_runtime_shutdown_timeout(rt, 30), -ETIMEDOUT);
    assert_true(weft_clock_ms() - t0 < 250);
    weft_join_handle_detach(&h);
    usleep(400000); /* the left-behind thread ends; LeakSanitizer checks it freed all */
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
    weft_join_handle busy = weft_spawn_blocking(rt, nap_ms, (void *)(intptr_t)100);
    usleep(10000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(weft__blocking_detached(rt, detached_fn, detached_cancel, malloc(16)), 0);
    weft_join_handle_detach(&busy);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&detached_runs), 0);
    assert_int_equal(atomic_load(&detached_cancels), 5);
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
        cmocka_unit_test(test_abort_before_start), cmocka_unit_test(test_shutdown_timeout),
        cmocka_unit_test(test_detached_cancelled_at_shutdown),
        cmocka_unit_test(test_weft_main),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
