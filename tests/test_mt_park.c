/* The multi_thread workers' parking (src/sched/mt/worker.c): workers sleep
 * with no time limit, so these check who watches the I/O driver and the
 * timers when the worker that was driving them leaves to run a task.
 * These build their own 2-worker multi_thread runtime, whatever
 * WEFT_TEST_RUNTIME says.
 * weft-test: threaded
 * weft-test: io */
#include <sys/eventfd.h>

#include "support.h"

static weft_runtime *mt_new(unsigned workers) {
    weft_runtime_options o = test_runtime_options();
    o.flavor = WEFT_MULTI_THREAD;
    o.workers = workers;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    return rt;
}

/* D waits for an eventfd, then spins `spin_ms` in one poll (a task that
 * blocks its worker). Its wake-up comes from the driver, on the worker
 * that sleeps in the driver: D runs there. */
typedef struct io_hog {
    WEFT_CORO_FIELDS;
    weft_async_fd *a;
    weft_async_fd_ready r;
    uint64_t spin_ms;
} io_hog;

WEFT_ASYNC(io_hog, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_async_fd_ready_init(&self->r, self->a, WEFT_INTEREST_READ));
        uint64_t v;
        if (read(weft_async_fd_fd(self->a), &v, 8) == 8) break;
        weft_async_fd_clear_ready(self->a, &self->r.ready);
    }
    {
        uint64_t until = weft_clock_ms() + self->spin_ms;
        while (weft_clock_ms() < until) {
        }
    }
    WEFT_END();
}

typedef struct sleeper {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t ms, woke_at;
} sleeper;

WEFT_ASYNC(sleeper, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, self->ms));
    self->woke_at = weft_clock_ms();
    WEFT_END();
}

typedef struct handover_root {
    WEFT_CORO_FIELDS;
    weft_async_fd a;
    io_hog hog;
    sleeper t;
    weft_join_handle hh, th;
    weft_sleep pause;
    uint64_t start;
} handover_root;

WEFT_ASYNC(handover_root, NULL) {
    WEFT_BEGIN();
    {
        int efd = eventfd(0, 0);
        assert_true(efd >= 0);
        assert_int_equal(weft_async_fd_adopt(&self->a, cx->runtime, efd), 0);
    }
    self->start = weft_clock_ms();
    {
        io_hog h;
        io_hog_start(&h);
        h.a = &self->a;
        h.spin_ms = 600;
        self->hh = weft_spawn_raw(cx->runtime, &h, sizeof h, 0, 0, NULL);
        sleeper s;
        sleeper_start(&s);
        s.ms = 150;
        s.woke_at = 0;
        self->th = WEFT_SPAWN(cx->runtime, &s, woke_at, &self->t.woke_at);
    }
    /* Let both tasks wait and both workers go to sleep: one in the driver,
     * the other on its futex. */
    WEFT_AWAIT(weft_sleep_init(&self->pause, 40));
    {
        uint64_t one = 1;
        assert_int_equal(write(weft_async_fd_fd(&self->a), &one, 8), 8);
    }
    /* The driver's worker takes the hog and spins 600 ms; the timer of
     * 150 ms must still fire on time: another worker watches. */
    WEFT_AWAIT(&self->th.base);
    WEFT_AWAIT(&self->hh.base);
    weft_async_fd_close(&self->a);
    WEFT_END();
}

static void test_timer_fires_while_driver_worker_is_busy(void **state) {
    (void)state;
    for (int round = 0; round < 3; round++) {
        weft_runtime *rt = mt_new(2);
        handover_root r;
        handover_root_start(&r);
        r.t.woke_at = 0;
        assert_int_equal(weft_block_on(rt, &r.base), 0);
        uint64_t late = r.t.woke_at - r.start;
        /* Due at 150 ms; the hog ends at 640 ms at the earliest. Generous
         * for a loaded machine, far below the hog's end. */
        assert_true(r.t.woke_at != 0);
        if (late >= 450) fail_msg("the 150 ms timer fired after %llu ms", (unsigned long long)late);
        weft_runtime_destroy(rt);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_fires_while_driver_worker_is_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
