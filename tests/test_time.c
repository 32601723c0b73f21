/* Time through the runtime: sleep, sleep_until, interval and timeout on a
 * current_thread runtime. Timing is only checked from below (never early)
 * and with generous upper bounds. */
#include <errno.h>
#include <time.h>

#include "support.h"
#include "runtime/rt.h"
#include "time/wheel.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The wheel of the runtime polling `f` (white-box: the wheel is private). */
static size_t wheel_count(weft_context *cx, weft_future *f) {
    weft_wheel *w = weft__wheel_for(cx, f);
    weft_wheel_lock(w); /* shared by the workers on multi_thread */
    size_t n = w->count;
    weft_wheel_unlock(w);
    return n;
}

static void run(weft_future *root) {
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_block_on(rt, root), 0);
    weft_runtime_destroy(rt);
}

/* A future that is pending forever (it never wakes anyone), counting polls
 * and drops. `ready_at_ms`, if not 0, makes it give up at that clock value,
 * so that a broken timeout fails the test instead of hanging it. */
typedef struct stuck {
    weft_future base;
    int polls, drops;
    bool hog;            /* spend the whole budget on each poll */
    uint64_t ready_at_ms;
    int out;
} stuck;

static weft_poll stuck_poll(weft_future *f, weft_context *cx) {
    stuck *s = (stuck *)f;
    s->polls++;
    if (s->ready_at_ms && weft_clock_ms() >= s->ready_at_ms) {
        s->out = -1;
        return WEFT_READY;
    }
    if (s->hog)
        while (weft_coop_spend(cx)) {
        } /* the failed spend woke the task */
    return WEFT_PENDING;
}
static void stuck_drop(weft_future *f) { ((stuck *)f)->drops++; }
static const weft_future_vtable stuck_vtable = {stuck_poll, stuck_drop, "stuck"};

static weft_future *stuck_init(stuck *s, bool hog, uint64_t give_up_ms) {
    weft_future_init(&s->base, &stuck_vtable);
    s->polls = s->drops = 0;
    s->hog = hog;
    s->ready_at_ms = give_up_ms ? weft_clock_ms() + give_up_ms : 0;
    s->out = 0;
    return &s->base;
}

/* ---- sleep: never early, zero and past deadlines -------------------------- */

typedef struct basic {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t t0_ns, t0_ms;
    uint64_t slept_ns, woke_ms;
    uint64_t polls_before, polls_after_zero;
} basic;

static uint64_t root_polls(weft_context *cx) {
    weft_runtime_stats st;
    weft_runtime_stats_get(cx->runtime, &st);
    return st.root_polls;
}

WEFT_ASYNC(basic, NULL) {
    WEFT_BEGIN();
    self->t0_ns = now_ns();
    self->t0_ms = weft_clock_ms();
    WEFT_AWAIT(weft_sleep_init(&self->s, 30));
    self->slept_ns = now_ns() - self->t0_ns;
    self->woke_ms = weft_clock_ms();
    assert_true(self->woke_ms >= self->s.deadline);
    assert_true(self->s.deadline >= self->t0_ms + 30);
    assert_null(self->s.entry.wheel);
    assert_true(weft_waker_is_none(&self->s.entry.waker));

    /* sleep(0) and a deadline in the past complete on their first poll. */
    self->polls_before = root_polls(cx);
    WEFT_AWAIT(weft_sleep_init(&self->s, 0));
    WEFT_AWAIT(weft_sleep_until_init(&self->s, weft_clock_ms() - 5));
    WEFT_AWAIT(weft_sleep_until_init(&self->s, 0));
    self->polls_after_zero = root_polls(cx);
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void test_sleep_basic(void **state) {
    basic b;
    basic_start(&b);
    run(&b.base);
    assert_true(b.slept_ns >= 30u * 1000000u); /* real time, not just the ms clock */
    assert_true(b.woke_ms - b.t0_ms >= 30);
    assert_true(b.woke_ms - b.t0_ms < 5000);
    assert_int_equal(b.polls_after_zero, b.polls_before);
}

/* ---- sleeps fire in deadline order ----------------------------------------- */

enum { ORDER_N = 40, ORDER_STEP = 5 };
static int order_log[ORDER_N];
static atomic_int order_len; /* tasks may run on several workers */
static atomic_uint order_early;

typedef struct sleeper {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t deadline;
    int idx;
    int out;
} sleeper;

WEFT_ASYNC(sleeper, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_until_init(&self->s, self->deadline));
    if (weft_clock_ms() < self->deadline) order_early++;
    order_log[atomic_fetch_add(&order_len, 1)] = self->idx;
    self->out = self->idx;
    WEFT_END();
}

typedef struct order_root {
    WEFT_CORO_FIELDS;
    weft_join_handle h[ORDER_N];
    int outs[ORDER_N];
    int i;
} order_root;

WEFT_ASYNC(order_root, NULL) {
    WEFT_BEGIN();
    {
        int perm[ORDER_N];
        for (int i = 0; i < ORDER_N; i++) perm[i] = i;
        srand(7);
        for (int i = ORDER_N - 1; i > 0; i--) {
            int j = rand() % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        uint64_t base = weft_clock_ms() + 30;
        for (int i = 0; i < ORDER_N; i++) {
            sleeper sl;
            sleeper_start(&sl);
            sl.idx = perm[i];
            sl.deadline = base + (uint64_t)perm[i] * ORDER_STEP;
            self->h[i] = WEFT_SPAWN(cx->runtime, &sl, out, &self->outs[i]);
        }
    }
    for (self->i = 0; self->i < ORDER_N; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
    }
    WEFT_END();
}

static void test_sleeps_in_order(void **state) {
    order_len = 0;
    order_early = 0;
    order_root r;
    order_root_start(&r);
    run(&r.base);
    assert_int_equal(order_len, ORDER_N);
    assert_int_equal(order_early, 0);
    /* One thread fires timers in deadline order and runs them in wake
     * order; on multi_thread, tasks woken together may finish in either
     * order on different workers, so only "never early" holds there. */
    if (!test_is_multi_thread())
        for (int i = 0; i < ORDER_N; i++) assert_int_equal(order_log[i], i);
}

/* ---- dropping a pending sleep --------------------------------------------- */

typedef struct drop_root {
    WEFT_CORO_FIELDS;
    weft_sleep victim;
    weft_sleep s;
    sleeper task;
    weft_join_handle h;
    uint64_t fired_before;
    int tries;
} drop_root;

static uint64_t timers_fired(weft_context *cx) {
    weft_runtime_stats st;
    weft_runtime_stats_get(cx->runtime, &st);
    return st.timers_fired;
}

WEFT_ASYNC(drop_root, NULL) {
    WEFT_BEGIN();
    /* Poll once by hand: it joins the wheel; dropping it leaves it. */
    weft_sleep_init(&self->victim, 20);
    assert_int_equal(weft_future_poll(&self->victim.base, cx), WEFT_PENDING);
    assert_non_null(self->victim.entry.wheel);
    assert_int_equal(wheel_count(cx, &self->base), 1);
    assert_false(weft_waker_is_none(&self->victim.entry.waker));
    weft_future_drop(&self->victim.base);
    assert_null(self->victim.entry.wheel);
    assert_true(weft_waker_is_none(&self->victim.entry.waker));
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* Well past its deadline: it never fired. */
    self->fired_before = timers_fired(cx);
    WEFT_AWAIT(weft_sleep_init(&self->s, 50));
    assert_int_equal(self->victim.entry.fired, 0);
    assert_true(timers_fired(cx) - self->fired_before <= 1);
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* A task aborted while sleeping takes its timer with it. */
    sleeper_start(&self->task);
    self->task.deadline = weft_clock_ms() + 10000;
    self->h = WEFT_SPAWN(cx->runtime, &self->task, out, NULL);
    /* Let it reach its sleep (on multi_thread it runs on a worker, which a
     * loaded machine may not schedule for a while). */
    for (self->tries = 0; wheel_count(cx, &self->base) == 0 && self->tries < 5000; self->tries++)
        WEFT_AWAIT(weft_sleep_init(&self->s, 1));
    assert_int_equal(wheel_count(cx, &self->base), 1);
    weft_join_handle_abort(&self->h);
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->h.result, -ECANCELED);
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void test_drop_pending_sleep(void **state) {
    drop_root r;
    drop_root_start(&r);
    run(&r.base);
}

/* Destroying a runtime with tasks asleep releases their timers (ASan and
 * the leak checker see to the rest). */
typedef struct spawn_sleepers {
    WEFT_CORO_FIELDS;
    int out;
} spawn_sleepers;

WEFT_ASYNC(spawn_sleepers, NULL) {
    WEFT_BEGIN();
    for (int i = 0; i < 100; i++) {
        sleeper sl;
        sleeper_start(&sl);
        sl.deadline = weft_clock_ms() + 60000 + (uint64_t)i * 1000;
        WEFT_SPAWN_DETACHED(cx->runtime, &sl);
    }
    WEFT_END();
}

static void test_destroy_with_sleepers(void **state) {
    order_len = 0;
    spawn_sleepers r;
    spawn_sleepers_start(&r);
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    /* Let the tasks run up to their sleeps. */
    weft_sleep s;
    assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 5)), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(order_len, 0);
}

/* ---- 100,000 concurrent sleeps ---------------------------------------------- */

enum { MANY_N = 100000 };
static atomic_int many_done;
static atomic_uint many_early;

typedef struct napper {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t ms, t0_ns;
} napper;

WEFT_ASYNC(napper, NULL) {
    WEFT_BEGIN();
    self->t0_ns = now_ns();
    WEFT_AWAIT(weft_sleep_init(&self->s, self->ms));
    if (weft_clock_ms() < self->s.deadline || now_ns() - self->t0_ns < self->ms * 1000000u)
        many_early++;
    many_done++;
    WEFT_END();
}

typedef struct many_root {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t give_up;
} many_root;

WEFT_ASYNC(many_root, NULL) {
    WEFT_BEGIN();
    srand(12345);
    for (int i = 0; i < MANY_N; i++) {
        napper n;
        napper_start(&n);
        n.ms = 1 + (uint64_t)(rand() % 50);
        WEFT_SPAWN_DETACHED(cx->runtime, &n);
    }
    self->give_up = weft_clock_ms() + 20000;
    while (many_done < MANY_N && weft_clock_ms() < self->give_up) WEFT_AWAIT(weft_sleep_init(&self->s, 5));
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void test_many_sleeps(void **state) {
    many_done = 0;
    many_early = 0;
    many_root r;
    many_root_start(&r);
    run(&r.base);
    assert_int_equal(many_done, MANY_N);
    assert_int_equal(many_early, 0);
}

/* ---- intervals ----------------------------------------------------------------- */

enum { PERIOD = 10, STALL_MS = 55 };

typedef struct iv_root {
    WEFT_CORO_FIELDS;
    weft_interval iv;
    weft_missed_tick policy;
    uint64_t t0, before, after;
    uint64_t scheduled[16];
    uint64_t delivered[16];
    int n;
} iv_root;

/* Records a delivered tick: its scheduled time and the clock. */
static void iv_record(iv_root *r) {
    r->scheduled[r->n] = r->iv.last_tick;
    r->delivered[r->n] = weft_clock_ms();
    assert_true(r->delivered[r->n] >= r->iv.last_tick); /* never early */
    r->n++;
    assert_int_equal(r->iv.ticks, (uint64_t)r->n);
}

/* Plain ticking: the first tick at once, then one per period. */
WEFT_ASYNC(iv_root, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_interval_init(&self->iv, PERIOD, self->policy), 0);
    self->t0 = weft_clock_ms();
    for (self->n = 0; self->n < 6;) {
        WEFT_AWAIT(weft_interval_tick(&self->iv));
        iv_record(self);
    }
    weft_interval_destroy(&self->iv);
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void test_interval_ticks(void **state) {
    iv_root r;
    iv_root_start(&r);
    r.policy = WEFT_MISSED_BURST;
    run(&r.base);
    assert_int_equal(r.n, 6);
    assert_true(r.scheduled[0] <= r.t0); /* the first tick is immediate */
    for (int k = 1; k < 6; k++) assert_int_equal(r.scheduled[k], r.scheduled[0] + (uint64_t)k * PERIOD);
    assert_true(r.delivered[5] - r.scheduled[0] >= 5 * PERIOD);
    assert_true(r.delivered[5] - r.scheduled[0] < 5000);
}

/* One tick, a blocking stall of 5.5 periods, then the policy decides. */
typedef struct stall_root {
    WEFT_CORO_FIELDS;
    weft_interval iv;
    weft_missed_tick policy;
    uint64_t scheduled[16], delivered[16];
    uint64_t stall_end, late_before, late_after, next_after_late;
    int n, burst;
} stall_root;

static void stall_record(stall_root *r) {
    r->scheduled[r->n] = r->iv.last_tick;
    r->delivered[r->n] = weft_clock_ms();
    if (r->delivered[r->n] < r->iv.last_tick)
        fail_msg("tick %d delivered early: at %llu, due %llu", r->n,
                 (unsigned long long)r->delivered[r->n], (unsigned long long)r->iv.last_tick);
    r->n++;
    if (r->iv.ticks != (uint64_t)r->n)
        fail_msg("tick count %llu after %d deliveries", (unsigned long long)r->iv.ticks, r->n);
}

WEFT_ASYNC(stall_root, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_interval_init(&self->iv, PERIOD, self->policy), 0);
    WEFT_AWAIT(weft_interval_tick(&self->iv));
    stall_record(self);
    usleep(STALL_MS * 1000); /* the task runs late */
    self->stall_end = weft_clock_ms();

    /* The late tick is delivered at once, whatever the policy. Under BURST
     * so is every other missed one. Poll by hand to see "at once". */
    self->burst = self->policy == WEFT_MISSED_BURST ? (int)((self->stall_end - self->scheduled[0]) / PERIOD) : 1;
    for (int k = 0; k < self->burst; k++) {
        self->late_before = weft_clock_ms();
        assert_int_equal(weft_future_poll(weft_interval_tick(&self->iv), cx), WEFT_READY);
        self->late_after = weft_clock_ms();
        stall_record(self);
    }
    self->next_after_late = self->iv.next;

    /* Two more ticks on whatever schedule the policy chose. */
    while (self->n < self->burst + 3) {
        WEFT_AWAIT(weft_interval_tick(&self->iv));
        stall_record(self);
    }
    weft_interval_destroy(&self->iv);
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void run_stall(stall_root *r, weft_missed_tick policy) {
    stall_root_start(r);
    r->policy = policy;
    r->n = 0;
    run(&r->base);
    assert_int_equal(r->n, r->burst + 3);
    assert_true(r->stall_end >= r->scheduled[0] + STALL_MS);
}

static void test_interval_burst(void **state) {
    stall_root r;
    run_stall(&r, WEFT_MISSED_BURST);
    assert_true(r.burst >= STALL_MS / PERIOD);
    /* Every tick of the original schedule is delivered, none skipped. */
    for (int k = 0; k < r.n; k++) assert_int_equal(r.scheduled[k], r.scheduled[0] + (uint64_t)k * PERIOD);
    /* After the burst the schedule is the original one again. */
    assert_true(r.next_after_late > r.stall_end - PERIOD);
}

/* The tick after the policy's first one is one period later, unless that
 * tick was itself delivered a whole period late (a loaded machine): then
 * the policy applies again and it is merely later. */
static void assert_third_tick(const stall_root *r) {
    if (r->delivered[2] < r->scheduled[2] + PERIOD)
        assert_int_equal(r->scheduled[3], r->next_after_late + PERIOD);
    else
        assert_true(r->scheduled[3] >= r->scheduled[2] + PERIOD);
}

static void test_interval_skip(void **state) {
    stall_root r;
    run_stall(&r, WEFT_MISSED_SKIP);
    uint64_t t0 = r.scheduled[0];
    assert_int_equal(r.scheduled[1], t0 + PERIOD); /* the late tick itself */
    /* Then the next point of the original schedule after the delivery. */
    assert_int_equal((r.next_after_late - t0) % PERIOD, 0);
    assert_true(r.next_after_late > r.late_before);
    assert_true(r.next_after_late <= r.late_after + PERIOD);
    assert_true(r.next_after_late >= t0 + (STALL_MS / PERIOD + 1) * PERIOD);
    assert_int_equal(r.scheduled[2], r.next_after_late);
    assert_third_tick(&r);
}

static void test_interval_delay(void **state) {
    stall_root r;
    run_stall(&r, WEFT_MISSED_DELAY);
    uint64_t t0 = r.scheduled[0];
    assert_int_equal(r.scheduled[1], t0 + PERIOD);
    /* The following tick is one period after the late delivery. */
    assert_true(r.next_after_late >= r.late_before + PERIOD);
    assert_true(r.next_after_late <= r.late_after + PERIOD);
    assert_int_equal(r.scheduled[2], r.next_after_late);
    assert_third_tick(&r);
}

/* Dropping a pending tick cancels that tick only. */
typedef struct iv_drop_root {
    WEFT_CORO_FIELDS;
    weft_interval iv;
    uint64_t due;
} iv_drop_root;

WEFT_ASYNC(iv_drop_root, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_interval_init(&self->iv, 20, WEFT_MISSED_BURST), 0);
    WEFT_AWAIT(weft_interval_tick(&self->iv));
    self->due = self->iv.next;
    assert_int_equal(weft_future_poll(weft_interval_tick(&self->iv), cx), WEFT_PENDING);
    assert_int_equal(wheel_count(cx, &self->base), 1);
    weft_future_drop(weft_interval_tick(&self->iv)); /* a pending tick is handed back as is */
    assert_int_equal(wheel_count(cx, &self->base), 0);
    assert_int_equal(self->iv.ticks, 1);
    WEFT_AWAIT(weft_interval_tick(&self->iv));
    assert_int_equal(self->iv.ticks, 2);
    assert_int_equal(self->iv.last_tick, self->due);
    assert_true(weft_clock_ms() >= self->due);
    weft_interval_destroy(&self->iv);
    weft_interval_destroy(&self->iv); /* idempotent */
    WEFT_END();
}

static void test_interval_drop_tick(void **state) {
    iv_drop_root r;
    iv_drop_root_start(&r);
    run(&r.base);
    weft_interval iv;
    assert_int_equal(weft_interval_init(&iv, 0, WEFT_MISSED_BURST), -EINVAL);
    assert_int_equal(weft_interval_init(&iv, 5, (weft_missed_tick)7), -EINVAL);
}

/* ---- timeout ------------------------------------------------------------------- */

typedef struct to_root {
    WEFT_CORO_FIELDS;
    weft_timeout t;
    weft_sleep inner;
    stuck st;
    uint64_t t0;
    int polls_at_timeout;
    weft_sleep s;
} to_root;

WEFT_ASYNC(to_root, NULL) {
    WEFT_BEGIN();
    /* The inner future wins: result 0, and the time limit left the wheel. */
    self->t0 = weft_clock_ms();
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_sleep_init(&self->inner, 10), 5000));
    assert_int_equal(self->t.result, 0);
    assert_true(weft_clock_ms() - self->t0 >= 10);
    assert_true(weft_clock_ms() - self->t0 < 5000);
    assert_null(self->t.sleep.entry.wheel);
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* The inner future is ready at once: the timer is never armed. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_sleep_init(&self->inner, 0), 5000));
    assert_int_equal(self->t.result, 0);
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* The deadline wins: -ETIMEDOUT, the inner future dropped exactly once
     * and never polled again. */
    self->t0 = weft_clock_ms();
    WEFT_AWAIT(weft_timeout_init(&self->t, stuck_init(&self->st, false, 10000), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_int_equal(self->st.out, 0);
    assert_int_equal(self->st.drops, 1);
    assert_true(self->st.polls >= 1);
    assert_true(weft_clock_ms() - self->t0 >= 20);
    assert_true(weft_clock_ms() >= self->t.sleep.deadline);
    self->polls_at_timeout = self->st.polls;
    WEFT_AWAIT(weft_sleep_init(&self->s, 20));
    assert_int_equal(self->st.polls, self->polls_at_timeout);
    assert_int_equal(self->st.drops, 1);
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* An inner future that always spends the whole budget cannot outrun
     * its time limit. */
    WEFT_AWAIT(weft_timeout_init(&self->t, stuck_init(&self->st, true, 5000), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_int_equal(self->st.out, 0); /* it did not reach its own give-up */
    assert_int_equal(self->st.drops, 1);

    /* Dropping a pending timeout drops the inner future once and leaves
     * the wheel. (Yield first: the hog left this poll no budget, and a
     * sleep polled without budget does not register.) */
    WEFT_YIELD();
    weft_timeout_init(&self->t, stuck_init(&self->st, false, 0), 1000);
    assert_int_equal(weft_future_poll(&self->t.base, cx), WEFT_PENDING);
    assert_int_equal(wheel_count(cx, &self->base), 1);
    weft_future_drop(&self->t.base);
    assert_int_equal(self->st.drops, 1);
    assert_int_equal(wheel_count(cx, &self->base), 0);

    /* Dropping a never-polled timeout drops the inner future too. */
    weft_timeout_init(&self->t, stuck_init(&self->st, false, 0), 1000);
    weft_future_drop(&self->t.base);
    assert_int_equal(self->st.drops, 1);
    assert_int_equal(self->st.polls, 0);
    WEFT_END();
}

static void test_timeout(void **state) {
    to_root r;
    to_root_start(&r);
    run(&r.base);
}

/* ---- reset ---------------------------------------------------------------------- */

typedef struct reset_root {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t t0;
} reset_root;

WEFT_ASYNC(reset_root, NULL) {
    WEFT_BEGIN();
    /* Pull a long pending sleep in. */
    self->t0 = weft_clock_ms();
    weft_sleep_init(&self->s, 10000);
    assert_int_equal(weft_future_poll(&self->s.base, cx), WEFT_PENDING);
    weft_sleep_reset(&self->s, self->t0 + 15);
    assert_int_equal(wheel_count(cx, &self->base), 1);
    WEFT_AWAIT(&self->s.base);
    assert_true(weft_clock_ms() >= self->t0 + 15);
    assert_true(weft_clock_ms() - self->t0 < 5000);

    /* Re-arm a completed one. */
    weft_sleep_reset(&self->s, weft_clock_ms() + 10);
    self->t0 = self->s.deadline;
    WEFT_AWAIT(&self->s.base);
    assert_true(weft_clock_ms() >= self->t0);
    assert_int_equal(wheel_count(cx, &self->base), 0);
    WEFT_END();
}

static void test_sleep_reset(void **state) {
    reset_root r;
    reset_root_start(&r);
    run(&r.base);
}

/* ---- misuse ----------------------------------------------------------------------- */

static void poll_sleep_without_runtime(void) {
    weft_sleep s;
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(weft_sleep_init(&s, 1000), &cx);
}

static void test_sleep_outside_runtime(void **state) {
    int sig = 0;
    const char *err = run_in_child(poll_sleep_without_runtime, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "weft_sleep"));
    assert_non_null(strstr(err, "outside a runtime"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_basic),
        cmocka_unit_test(test_sleeps_in_order),
        cmocka_unit_test(test_drop_pending_sleep),
        cmocka_unit_test(test_destroy_with_sleepers),
        cmocka_unit_test(test_many_sleeps),
        cmocka_unit_test(test_interval_ticks),
        cmocka_unit_test(test_interval_burst),
        cmocka_unit_test(test_interval_skip),
        cmocka_unit_test(test_interval_delay),
        cmocka_unit_test(test_interval_drop_tick),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_sleep_reset),
        cmocka_unit_test(test_sleep_outside_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
