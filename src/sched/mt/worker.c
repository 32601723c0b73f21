/*
 * A multi_thread worker: run local work (LIFO slot first, then the ring,
 * with the inject queue looked at first every MT_GLOBAL_INTERVAL polls),
 * otherwise search (steal half of a victim's ring, then the inject queue),
 * otherwise park — in the driver if nobody else is in it, else on the
 * worker's parker (a futex), with no time limit.
 */
#include "sched/mt/mt.h"

_Thread_local mt_worker *weft__tls_worker;

static uint32_t next_rand(mt_worker *w) {
    uint32_t x = w->rand; /* xorshift32: picks where stealing starts */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return w->rand = x;
}

/* ---- waking ---------------------------------------------------------------- */

void weft__mt_unpark_worker(mt_worker *w) {
    if (weft__parker_unpark(&w->parker) == WEFT_PARKER_ELSEWHERE) weft__driver_unpark(&w->rt->driver);
}

void weft__mt_notify_parked(mt_runtime *rt) {
    int index = weft__idle_worker_to_notify(&rt->idle);
    if (index >= 0) weft__mt_unpark_worker(&rt->workers[index]);
}

/* The last searcher to park makes sure no queued work is left unattended. */
static void notify_if_work_pending(mt_runtime *rt) {
    for (unsigned i = 0; i < rt->num_workers; i++) {
        if (!local_queue_is_empty(&rt->workers[i].queue)) {
            weft__mt_notify_parked(rt);
            return;
        }
    }
    if (!inject_is_empty(&rt->inject)) weft__mt_notify_parked(rt);
}

/* ---- scheduling ------------------------------------------------------------ */

void weft__mt_schedule(weft_runtime *base, weft_task *t, bool yield) {
    mt_runtime *rt = (mt_runtime *)base;
    mt_worker *w = weft__tls_worker;
    if (w && w->rt != rt) w = NULL;
    if (weft__mt_send_home(rt, w, t)) return;
    if (w) {
        bool notify;
        if (yield) {
            /* A task that woke itself goes behind the others on this worker;
             * it is no new work for an idle worker to come and take. */
            weft__local_queue_push_back(&w->queue, t, &rt->inject);
            notify = false;
        } else if (w->lifo_polls >= MT_MAX_LIFO_POLLS) {
            /* Past the LIFO cap: to the back. This worker runs it as soon as
             * the current poll ends, so another worker is worth waking only
             * if other tasks wait too; a lone chain of tasks (each spawning
             * or waking the next) would otherwise bounce between workers. */
            weft__local_queue_push_back(&w->queue, t, &rt->inject);
            notify = weft__local_queue_len(&w->queue) > 1;
        } else {
            /* The task woken by the running task runs next: it probably
             * works on what the waker just produced (a message, a lock). */
            weft_task *prev = w->lifo;
            w->lifo = t;
            notify = prev != NULL;
            if (prev) weft__local_queue_push_back(&w->queue, prev, &rt->inject);
        }
        if (notify && !w->in_driver) weft__mt_notify_parked(rt);
        return;
    }
    counter_add_shared(&base->stats.remote_schedules, 1);
    if (!inject_push(&rt->inject, t)) {
        weft__task_drop_notified(t);
        return;
    }
    weft__mt_notify_parked(rt);
}

/* ---- timers and the driver ------------------------------------------------- */

bool weft__mt_fire_timers(mt_runtime *rt, bool wait_for_lock) {
    if (wait_for_lock) pthread_mutex_lock(&rt->wheel_lock);
    else if (pthread_mutex_trylock(&rt->wheel_lock) != 0) return true;
    if (rt->wheel.count > 0) {
        size_t fired = weft__wheel_advance(&rt->wheel, weft_clock_ms());
        if (fired) counter_add_shared(&rt->base.stats.timers_fired, fired);
    }
    bool pending = rt->wheel.count > 0;
    pthread_mutex_unlock(&rt->wheel_lock);
    return pending;
}

static bool try_take_driver(mt_runtime *rt) {
    bool expect = false;
    return atomic_compare_exchange_strong_explicit(&rt->driver_taken, &expect, true,
                                                   memory_order_acquire, memory_order_relaxed);
}

static void release_driver(mt_runtime *rt) {
    atomic_store_explicit(&rt->driver_taken, false, memory_order_release);
}

static int timeout_until(uint64_t deadline) {
    if (deadline == UINT64_MAX) return -1;
    uint64_t now = weft_clock_ms();
    if (deadline <= now) return 0;
    return deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

/* Every MT_EVENT_INTERVAL polls: collect I/O readiness and fire due timers
 * without sleeping, so a busy worker does not starve them. */
static void maintenance(mt_worker *w) {
    mt_runtime *rt = w->rt;
    if (rt->driver.registrations > 0 && try_take_driver(rt)) {
        w->in_driver = true;
        weft__driver_park(&rt->driver, 0);
        w->in_driver = false;
        release_driver(rt);
    }
    weft__mt_fire_timers(rt, false);
}

/* Sleeps until unparked: in the driver if nobody else is in it (then also
 * until I/O or the next timer), else on the worker's futex, with no time
 * limit (see docs/multi_thread.md, "The driver and the timers"). */
static void park_once(mt_worker *w) {
    mt_runtime *rt = w->rt;
    if (!try_take_driver(rt)) {
        counter_add_shared(&rt->base.stats.parks, 1);
        weft__parker_park(&w->parker);
        return;
    }
    if (!weft__parker_begin_elsewhere(&w->parker)) { /* notified meanwhile */
        release_driver(rt);
        return;
    }
    pthread_mutex_lock(&rt->wheel_lock);
    uint64_t next = weft__wheel_next_deadline(&rt->wheel);
    atomic_store(&rt->driver_deadline, next);
    pthread_mutex_unlock(&rt->wheel_lock);
    counter_add_shared(&rt->base.stats.parks, 1);
    w->in_driver = true;
    weft__driver_park(&rt->driver, timeout_until(next));
    w->in_driver = false;
    atomic_store(&rt->driver_deadline, 0);
    weft__parker_end_elsewhere(&w->parker);
    weft__mt_fire_timers(rt, true);
    release_driver(rt);
}

static bool has_local_work(mt_worker *w) {
    return w->lifo || !local_queue_is_empty(&w->queue) || !inject_is_empty(&w->inbox);
}

static void park(mt_worker *w) {
    mt_runtime *rt = w->rt;
    if (has_local_work(w)) return;
    bool last_searcher = weft__idle_transition_to_parked(&rt->idle, w->index, w->is_searching);
    w->is_searching = false;
    if (last_searcher) notify_if_work_pending(rt);
    while (!atomic_load_explicit(&rt->shutdown, memory_order_acquire)) {
        park_once(w);
        if (has_local_work(w)) {
            /* Woken with work of our own (I/O or timers we dispatched):
             * not a searcher unless someone else already unlisted us. */
            w->is_searching = !weft__idle_unpark_worker_by_id(&rt->idle, w->index);
            if (weft__local_queue_len(&w->queue) > 1) weft__mt_notify_parked(rt);
            return;
        }
        if (!weft__idle_is_parked(&rt->idle, w->index)) {
            /* notify_parked picked us to search. */
            w->is_searching = true;
            return;
        }
    }
    weft__idle_unpark_worker_by_id(&rt->idle, w->index);
}

/* ---- finding work ---------------------------------------------------------- */

static weft_task *next_local(mt_worker *w) {
    mt_runtime *rt = w->rt;
    if (w->tick % MT_GLOBAL_INTERVAL == 0) {
        weft_task *t = inject_pop(&rt->inject);
        if (t) return t;
        if ((t = inject_pop(&w->inbox))) return t;
    }
    if (w->lifo) {
        weft_task *t = w->lifo;
        w->lifo = NULL;
        return t;
    }
    weft_task *t = weft__local_queue_pop(&w->queue);
    if (t) return t;
    if ((t = inject_pop(&w->inbox))) return t;
    /* Take a fair share of the inject queue into the ring, one lock. */
    size_t share = atomic_load_explicit(&rt->inject.len, memory_order_relaxed) / rt->num_workers + 1;
    if (share > MT_INJECT_BATCH) share = MT_INJECT_BATCH;
    weft_task_queue batch;
    task_queue_init(&batch);
    if (!inject_pop_batch(&rt->inject, &batch, share)) return NULL;
    t = task_queue_pop(&batch);
    weft_task *more;
    while ((more = task_queue_pop(&batch))) weft__local_queue_push_back(&w->queue, more, &rt->inject);
    return t;
}

static weft_task *steal_work(mt_worker *w) {
    mt_runtime *rt = w->rt;
    if (!w->is_searching) {
        if (!weft__idle_transition_to_searching(&rt->idle)) return NULL;
        w->is_searching = true;
    }
    unsigned n = rt->num_workers, start = next_rand(w) % n;
    for (unsigned i = 0; i < n; i++) {
        unsigned victim = (start + i) % n;
        if (victim == w->index) continue;
        weft_task *t = weft__local_queue_steal_into(&rt->workers[victim].queue, &w->queue);
        if (t) return t;
    }
    return inject_pop(&rt->inject);
}

static void run_task(mt_worker *w, weft_task *t) {
    mt_runtime *rt = w->rt;
    if (weft__mt_send_home(rt, w, t)) return; /* stolen, or from the inject queue */
    if (w->is_searching) {
        /* Found work: stop searching; if we were the last searcher, wake
         * another worker to look for the rest. */
        w->is_searching = false;
        if (weft__idle_transition_from_searching(&rt->idle)) weft__mt_notify_parked(rt);
    }
    w->lifo_polls = 0;
    weft__task_run(t);
    uint64_t polls = 1;
    while (w->lifo) {
        t = w->lifo;
        w->lifo = NULL;
        if (w->lifo_polls >= MT_MAX_LIFO_POLLS) {
            /* Capped: to the back, behind the tasks it would have starved.
             * Wake a helper only if there are such tasks; a lone chain of
             * tasks would otherwise bounce between workers. */
            weft__local_queue_push_back(&w->queue, t, &rt->inject);
            if (weft__local_queue_len(&w->queue) > 1) weft__mt_notify_parked(rt);
            break;
        }
        w->lifo_polls++;
        weft__task_run(t);
        polls++;
    }
    counter_add(&w->polls, polls);
}

void *weft__mt_worker_main(void *arg) {
    mt_worker *w = arg;
    mt_runtime *rt = w->rt;
    weft__tls_worker = w;
    weft__tls_runtime = &rt->base;
    while (!atomic_load_explicit(&rt->shutdown, memory_order_acquire)) {
        w->tick++;
        if (w->tick % MT_EVENT_INTERVAL == 0) maintenance(w);
        weft_task *t = next_local(w);
        if (!t) t = steal_work(w);
        if (t) {
            run_task(w, t);
            continue;
        }
        park(w);
    }
    if (w->is_searching) weft__idle_transition_from_searching(&rt->idle);
    weft__mt_cancel_pinned(w);
    weft__tls_worker = NULL;
    weft__tls_runtime = NULL;
    return NULL;
}
