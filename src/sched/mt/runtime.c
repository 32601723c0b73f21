/* The multi_thread runtime's lifecycle: create the workers, run a root
 * future from an outside thread, shut down. */
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "sched/mt/mt.h"
#include "util/thread_waker.h"

/* ---- block_on: the calling thread parks between polls ------------------ */

/* A thread inside block_on, listed so that destroy can wake it. */
typedef struct mt_blocker {
    weft_thread_waker *tw;
    struct mt_blocker *next; /* in mt_runtime.blockers, under base.blockers_lock */
} mt_blocker;

/* The root waker may be cloned by tasks and outlive weft_block_on: it is a
 * reference-counted thread waker. */
static int mt_block_on(weft_runtime *base, weft_future *fut) {
    weft_thread_waker *tw = weft__thread_waker_new();
    if (!tw) return -ENOMEM;
    mt_runtime *rt = (mt_runtime *)base;
    mt_blocker me = {tw, NULL};
    pthread_mutex_lock(&base->blockers_lock);
    me.next = rt->blockers;
    rt->blockers = &me;
    pthread_mutex_unlock(&base->blockers_lock);
    weft__tls_runtime = base; /* a nested block_on from the root is refused */
    int rc = 0;
    for (;;) {
        if (atomic_load_explicit(&base->shutting_down, memory_order_acquire)) {
            rc = -ESHUTDOWN;
            break;
        }
        weft_context cx = {weft__thread_waker_get(tw), base, WEFT_COOP_BUDGET};
        counter_add_shared(&base->stats.root_polls, 1);
        if (weft_future_poll(fut, &cx) == WEFT_READY) break;
        weft__thread_waker_park(tw);
    }
    weft__tls_runtime = NULL;
    pthread_mutex_lock(&base->blockers_lock);
    mt_blocker **p = &rt->blockers;
    while (*p != &me) p = &(*p)->next;
    *p = me.next;
    pthread_mutex_unlock(&base->blockers_lock);
    weft__thread_waker_release(tw);
    return rc;
}

static void mt_wake_blockers(weft_runtime *base) {
    mt_runtime *rt = (mt_runtime *)base;
    pthread_mutex_lock(&base->blockers_lock);
    for (mt_blocker *b = rt->blockers; b; b = b->next) {
        weft_waker w = weft__thread_waker_get(b->tw);
        weft_waker_wake_by_ref(&w);
    }
    pthread_mutex_unlock(&base->blockers_lock);
}

/* ---- timers: a shared wheel --------------------------------------------- */

static weft_wheel *mt_wheel(weft_runtime *base) { return &((mt_runtime *)base)->wheel; }

/* A timer earlier than the driver's sleep: wake the driver to re-arm. */
static void on_timer_insert(weft_wheel *w, uint64_t deadline) {
    mt_runtime *rt = w->owner;
    uint64_t sleeping_until = atomic_load_explicit(&rt->driver_deadline, memory_order_acquire);
    if (sleeping_until != 0 && deadline < sleeping_until) weft__driver_unpark(&rt->driver);
}

static weft_driver *mt_driver(weft_runtime *base) { return &((mt_runtime *)base)->driver; }

/* Polls are counted per worker (a shared counter bounced between the
 * workers' caches on every poll); the total is summed when asked. */
static void mt_stats(const weft_runtime *base, weft_runtime_stats *out) {
    const mt_runtime *rt = (const mt_runtime *)base;
    for (unsigned i = 0; i < rt->num_workers; i++)
        out->task_polls += atomic_load_explicit(&rt->workers[i].polls, memory_order_relaxed);
}

/* ---- shutdown ------------------------------------------------------------ */

static void drop_queued(weft_task_queue *q) {
    weft_task *t;
    while ((t = task_queue_pop(q))) weft__task_drop_notified(t);
}

static void mt_shutdown(weft_runtime *base) {
    mt_runtime *rt = (mt_runtime *)base;
    atomic_store_explicit(&rt->shutdown, true, memory_order_release);
    for (unsigned i = 0; i < rt->started; i++) weft__mt_unpark_worker(&rt->workers[i]);
    weft__driver_unpark(&rt->driver);
    for (unsigned i = 0; i < rt->started; i++) pthread_join(rt->workers[i].thread, NULL);
    /* No worker runs now: cancel what is left from this thread. Wakes that
     * the drops cause land in the inject queue, drained below. */
    weft__tls_runtime = base;
    weft__owned_close_and_shutdown(base);
    for (unsigned i = 0; i < rt->num_workers; i++) {
        mt_worker *w = &rt->workers[i];
        if (w->lifo) weft__task_drop_notified(w->lifo);
        w->lifo = NULL;
        weft_task *t;
        while ((t = weft__local_queue_pop(&w->queue))) weft__task_drop_notified(t);
        weft_task_queue inbox = inject_close(&w->inbox);
        drop_queued(&inbox);
    }
    weft_task_queue rest = inject_close(&rt->inject);
    drop_queued(&rest);
    pthread_mutex_lock(&rt->wheel_lock);
    weft__wheel_clear(&rt->wheel);
    pthread_mutex_unlock(&rt->wheel_lock);
    weft__driver_shutdown(&rt->driver);
    weft__tls_runtime = NULL;
}

static void mt_free(weft_runtime *base) {
    mt_runtime *rt = (mt_runtime *)base;
    weft__driver_free(&rt->driver);
    for (unsigned i = 0; i < rt->num_workers; i++) {
        inject_destroy(&rt->workers[i].inbox);
    }
    free(rt->workers);
    weft__idle_destroy(&rt->idle);
    inject_destroy(&rt->inject);
    pthread_mutex_destroy(&rt->wheel_lock);
    free(rt);
}

static const weft_sched_ops mt_ops = {weft__mt_schedule, mt_block_on, mt_shutdown, mt_free,
                                      mt_wheel,          mt_driver,   mt_stats,    mt_wake_blockers,
                                      weft__mt_pin};

/* ---- creation ------------------------------------------------------------ */

int weft__multi_thread_create(weft_runtime **out, const weft_runtime_options *opts) {
    unsigned n = opts->workers;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (n > 4096) return -EINVAL;
    mt_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return -ENOMEM;
    rt->workers = calloc(n, sizeof *rt->workers);
    if (!rt->workers || weft__idle_init(&rt->idle, n) != 0) {
        free(rt->workers);
        free(rt);
        return -ENOMEM;
    }
    weft__runtime_base_init(&rt->base, &mt_ops, opts);
    int err = weft__driver_init(&rt->driver, opts->io_backend);
    if (err) {
        weft__idle_destroy(&rt->idle);
        free(rt->workers);
        weft__runtime_base_destroy(&rt->base);
        free(rt);
        return err;
    }
    rt->num_workers = n;
    inject_init(&rt->inject);
    pthread_mutex_init(&rt->wheel_lock, NULL);
    weft__wheel_init(&rt->wheel, weft_clock_ms());
    rt->wheel.lock = &rt->wheel_lock;
    rt->wheel.on_insert = on_timer_insert;
    rt->wheel.owner = rt;
    rt->wheel.rt = &rt->base;
    for (unsigned i = 0; i < n; i++) {
        mt_worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->rand = 0x9e3779b9u * (i + 1);
        weft__local_queue_init(&w->queue);
        weft__parker_init(&w->parker);
        inject_init(&w->inbox);
    }
    for (unsigned i = 0; i < n; i++) {
        err = weft__thread_start(&rt->workers[i].thread, false, weft__mt_worker_main, &rt->workers[i]);
        if (err) break; /* pthread_create's own error: -EAGAIN, -ENOMEM, ... */
        rt->started++;
    }
    if (err) {
        atomic_store(&rt->base.shutting_down, true);
        mt_shutdown(&rt->base);
        weft__runtime_unref(&rt->base);
        return err;
    }
    *out = &rt->base;
    return 0;
}
