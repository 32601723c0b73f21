/*
 * The current_thread scheduler: every task runs on the thread inside
 * weft_block_on. Wakes from that thread go to a plain FIFO run queue; wakes
 * and spawns from other threads go to a spinlock-protected inject queue and
 * unpark the driver. When there is nothing to run the thread parks in the
 * driver until the next timer deadline.
 */
#include <errno.h>
#include <stdlib.h>

#include "io/driver.h"
#include "runtime/rt.h"
#include "sched/inject.h"
#include "time/wheel.h"

/* Tasks polled between two looks at the driver and the timers (Tokio's
 * event_interval), and between two looks at the inject queue first
 * (global_queue_interval), so that neither local work nor remote work can
 * starve the other. */
#define EVENT_INTERVAL 61
#define GLOBAL_INTERVAL 31

typedef struct ct_runtime {
    weft_runtime base;
    /* Owned by the thread inside block_on (the "core"). */
    weft_task_queue run;
    weft_wheel wheel;
    /* The wheel is the core's, but a future may be dropped on another
     * thread (a block_on caller dropping its root after -ESHUTDOWN while
     * the runtime is destroyed): timers always lock it. */
    pthread_mutex_t wheel_lock;
    uint32_t tick;
    /* Shared with other threads. */
    weft_driver driver;
    weft_inject inject;
    _Atomic bool root_woken;
    _Atomic bool core_taken;
} ct_runtime;

static bool on_core(ct_runtime *ct) { return weft__tls_runtime == &ct->base; }

/* Moves everything in the inject queue to the back of the run queue. */
static bool inject_drain(ct_runtime *ct) {
    weft_task_queue taken = inject_take_all(&ct->inject, false);
    if (task_queue_empty(&taken)) return false;
    task_queue_append(&ct->run, &taken);
    return true;
}

static void ct_schedule(weft_runtime *rt, weft_task *t, bool yield) {
    ct_runtime *ct = (ct_runtime *)rt;
    (void)yield; /* FIFO: a yielding task already goes to the back */
    if (on_core(ct)) {
        task_queue_push(&ct->run, t);
        return;
    }
    counter_add_shared(&rt->stats.remote_schedules, 1);
    if (inject_push(&ct->inject, t)) weft__driver_unpark(&ct->driver);
    else weft__task_drop_notified(t);
}

static weft_task *next_task(ct_runtime *ct) {
    if (++ct->tick % GLOBAL_INTERVAL == 0) inject_drain(ct);
    weft_task *t = task_queue_pop(&ct->run);
    if (!t && inject_drain(ct)) t = task_queue_pop(&ct->run);
    return t;
}

/* The waker of the block_on future: a flag plus an unpark. */
static weft_waker root_clone(void *p);
static void root_wake_by_ref(void *p) {
    ct_runtime *ct = p;
    if (!atomic_exchange_explicit(&ct->root_woken, true, memory_order_acq_rel) && !on_core(ct))
        weft__driver_unpark(&ct->driver);
}
static void root_drop(void *p) { (void)p; }
static void root_wake(void *p) { root_wake_by_ref(p); }
static const weft_waker_vtable root_vtable = {root_clone, root_wake, root_wake_by_ref, root_drop};
static weft_waker root_clone(void *p) { return (weft_waker){&root_vtable, p}; }

/* Looks at the driver and the timers. `idle`: nothing is runnable, so
 * sleep until the next deadline, an unpark or I/O. `maintenance`: tasks are
 * still queued but a whole batch ran, so collect I/O readiness without
 * sleeping, so that a busy queue cannot starve sockets. */
static void drive(ct_runtime *ct, bool idle, bool maintenance) {
    if (idle) {
        pthread_mutex_lock(&ct->wheel_lock);
        uint64_t next = weft__wheel_next_deadline(&ct->wheel);
        pthread_mutex_unlock(&ct->wheel_lock);
        uint64_t now = weft_clock_ms();
        int timeout;
        if (next == UINT64_MAX) timeout = -1;
        else timeout = next > now ? (int)(next - now > INT32_MAX ? INT32_MAX : next - now) : 0;
        if (timeout != 0) counter_add(&ct->base.stats.parks, 1);
        weft__driver_park(&ct->driver, timeout);
    } else if (maintenance && ct->driver.registrations > 0) {
        weft__driver_park(&ct->driver, 0);
    }
    /* An empty wheel is skipped (no clock read); a sleep brings its time
     * up to date when it inserts into an empty wheel. */
    pthread_mutex_lock(&ct->wheel_lock);
    if (ct->wheel.count > 0) {
        size_t fired = weft__wheel_advance(&ct->wheel, weft_clock_ms());
        if (fired) counter_add(&ct->base.stats.timers_fired, fired);
    }
    pthread_mutex_unlock(&ct->wheel_lock);
}

static int ct_block_on(weft_runtime *rt, weft_future *fut) {
    ct_runtime *ct = (ct_runtime *)rt;
    bool expect = false;
    if (!atomic_compare_exchange_strong(&ct->core_taken, &expect, true)) return -EBUSY;
    weft__tls_runtime = rt;
    weft_waker root = {&root_vtable, ct};
    atomic_store(&ct->root_woken, true);
    int rc = 0;
    for (;;) {
        if (WEFT_UNLIKELY(atomic_load_explicit(&rt->shutting_down, memory_order_acquire))) {
            rc = -ESHUTDOWN; /* another thread is destroying the runtime */
            break;
        }
        if (atomic_exchange_explicit(&ct->root_woken, false, memory_order_acq_rel)) {
            weft_context cx = {root, rt, WEFT_COOP_BUDGET};
            counter_add(&rt->stats.root_polls, 1);
            if (weft_future_poll(fut, &cx) == WEFT_READY) break;
        }
        unsigned ran = 0;
        while (ran < EVENT_INTERVAL) {
            weft_task *t = next_task(ct);
            if (!t) break;
            ran++;
            weft__task_run(t);
            if (atomic_load_explicit(&ct->root_woken, memory_order_relaxed)) break;
        }
        counter_add(&rt->stats.task_polls, ran);
        bool idle = task_queue_empty(&ct->run) &&
                    inject_is_empty(&ct->inject) &&
                    !atomic_load_explicit(&ct->root_woken, memory_order_acquire);
        drive(ct, idle, ran == EVENT_INTERVAL);
    }
    weft__tls_runtime = NULL;
    atomic_store(&ct->core_taken, false);
    return rc;
}

static void ct_wake_blockers(weft_runtime *rt) { root_wake_by_ref(rt); }

static weft_wheel *ct_wheel(weft_runtime *rt) { return &((ct_runtime *)rt)->wheel; }

static weft_driver *ct_driver(weft_runtime *rt) { return &((ct_runtime *)rt)->driver; }

static void ct_shutdown(weft_runtime *rt) {
    ct_runtime *ct = (ct_runtime *)rt;
    /* Run drops "on the core" so that wakes they cause land in the local
     * queue, which is drained below. */
    weft__tls_runtime = rt;
    weft__owned_close_and_shutdown(rt);
    weft_task_queue rest = inject_close(&ct->inject);
    task_queue_append(&ct->run, &rest);
    weft_task *t;
    while ((t = task_queue_pop(&ct->run))) weft__task_drop_notified(t);
    pthread_mutex_lock(&ct->wheel_lock);
    weft__wheel_clear(&ct->wheel);
    pthread_mutex_unlock(&ct->wheel_lock);
    weft__driver_shutdown(&ct->driver);
    weft__tls_runtime = NULL;
}

static void ct_free(weft_runtime *rt) {
    ct_runtime *ct = (ct_runtime *)rt;
    weft__driver_free(&ct->driver);
    inject_destroy(&ct->inject);
    pthread_mutex_destroy(&ct->wheel_lock);
    free(ct);
}

static const weft_sched_ops ct_ops = {ct_schedule, ct_block_on, ct_shutdown, ct_free,
                                      ct_wheel,    ct_driver,   NULL,        ct_wake_blockers,
                                      NULL /* one thread: nothing to pin */};

int weft__current_thread_create(weft_runtime **out, const weft_runtime_options *opts) {
    ct_runtime *ct = calloc(1, sizeof *ct);
    if (!ct) return -ENOMEM;
    weft__runtime_base_init(&ct->base, &ct_ops, opts);
    int err = weft__driver_init(&ct->driver, opts->io_backend);
    if (err) {
        weft__runtime_base_destroy(&ct->base);
        free(ct);
        return err;
    }
    task_queue_init(&ct->run);
    inject_init(&ct->inject);
    weft__wheel_init(&ct->wheel, weft_clock_ms());
    pthread_mutex_init(&ct->wheel_lock, NULL);
    ct->wheel.lock = &ct->wheel_lock;
    ct->wheel.rt = &ct->base;
    *out = &ct->base;
    return 0;
}
