/* The multi_thread runtime's lifecycle: create the workers, run a root
 * future from an outside thread, shut down. */
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "sched/mt/mt.h"

/* ---- block_on: the calling thread sleeps on a condvar between polls ------- */

/* The root waker may be cloned by tasks and outlive weft_block_on, so its
 * target is reference counted. */
typedef struct root_signal {
    _Atomic unsigned refs;
    _Atomic bool woken;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct root_signal *next_active; /* in mt_runtime.blockers, under blockers_lock */
} root_signal;

static void signal_unref(root_signal *s) {
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

static const weft_waker_vtable root_vtable;

static weft_waker root_clone(void *p) {
    atomic_fetch_add_explicit(&((root_signal *)p)->refs, 1, memory_order_relaxed);
    return (weft_waker){&root_vtable, p};
}
static void root_wake_by_ref(void *p) {
    root_signal *s = p;
    if (atomic_exchange(&s->woken, true)) return;
    pthread_mutex_lock(&s->lock);
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}
static void root_wake(void *p) {
    root_wake_by_ref(p);
    signal_unref(p);
}
static void root_drop(void *p) { signal_unref(p); }
static const weft_waker_vtable root_vtable = {root_clone, root_wake, root_wake_by_ref, root_drop};

static int mt_block_on(weft_runtime *base, weft_future *fut) {
    root_signal *s = malloc(sizeof *s);
    if (!s) return -ENOMEM;
    atomic_init(&s->refs, 1);
    atomic_init(&s->woken, true);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    mt_runtime *rt = (mt_runtime *)base;
    pthread_mutex_lock(&base->blockers_lock);
    s->next_active = rt->blockers;
    rt->blockers = s;
    pthread_mutex_unlock(&base->blockers_lock);
    weft__tls_runtime = base; /* a nested block_on from the root is refused */
    int rc = 0;
    for (;;) {
        if (atomic_load_explicit(&base->shutting_down, memory_order_acquire)) {
            rc = -ESHUTDOWN;
            break;
        }
        if (atomic_exchange(&s->woken, false)) {
            weft_context cx = {{&root_vtable, s}, base, WEFT_COOP_BUDGET};
            counter_add_shared(&base->stats.root_polls, 1);
            if (weft_future_poll(fut, &cx) == WEFT_READY) break;
            continue;
        }
        pthread_mutex_lock(&s->lock);
        while (!atomic_load(&s->woken)) pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }
    weft__tls_runtime = NULL;
    pthread_mutex_lock(&base->blockers_lock);
    root_signal **p = &rt->blockers;
    while (*p != s) p = &(*p)->next_active;
    *p = s->next_active;
    pthread_mutex_unlock(&base->blockers_lock);
    signal_unref(s);
    return rc;
}

static void mt_wake_blockers(weft_runtime *base) {
    mt_runtime *rt = (mt_runtime *)base;
    pthread_mutex_lock(&base->blockers_lock);
    for (root_signal *s = rt->blockers; s; s = s->next_active) root_wake_by_ref(s);
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
        pthread_mutex_destroy(&rt->workers[i].park_lock);
        inject_destroy(&rt->workers[i].inbox);
        pthread_cond_destroy(&rt->workers[i].park_cond);
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
        inject_init(&w->inbox);
        atomic_init(&w->park_state, MT_PARK_EMPTY);
        pthread_mutex_init(&w->park_lock, NULL);
        /* The timed wait's deadline is on CLOCK_MONOTONIC: so must the condvar be. */
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w->park_cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    for (unsigned i = 0; i < n; i++) {
        if (weft__thread_start(&rt->workers[i].thread, false, weft__mt_worker_main, &rt->workers[i]) != 0) {
            err = -EAGAIN;
            break;
        }
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
