/*
 * Tasks pinned to one worker. A task that starts a fiber pins itself to
 * the worker polling it (the fiber's stack holds addresses of that
 * thread's thread-locals: errno, and any the compiler keeps across a
 * call). A pinned task is only ever polled by its home worker:
 *
 *  - a wake on another thread (another worker, the driver's holder, a
 *    plain thread) puts it in the home worker's inbox and unparks that
 *    worker — never the global inject queue;
 *  - a wake on the home worker takes the usual local path (LIFO slot,
 *    ring); if another worker steals it from the ring, or finds it in the
 *    inject queue (where a full ring spills), that worker sends it home
 *    instead of polling it;
 *  - at shutdown each worker, before it exits, cancels its own pinned
 *    tasks, so that their fibers unwind on their own thread.
 */
#include "sched/mt/mt.h"
#include "util/list.h"

void weft__mt_pin(weft_runtime *base, weft_task *t) {
    mt_worker *w = weft__tls_worker;
    if (w && &w->rt->base == base) atomic_store_explicit(&t->pin, w->index + 1, memory_order_relaxed);
}

bool weft__mt_send_home(mt_runtime *rt, mt_worker *here, weft_task *t) {
    /* Relaxed: the pin was stored during a poll of the task, which every
     * schedule and every queue hand-off of it comes after. */
    uint32_t pin = atomic_load_explicit(&t->pin, memory_order_relaxed);
    if (!pin || (here && here->index + 1 == pin)) return false;
    mt_worker *home = &rt->workers[pin - 1];
    if (!inject_push(&home->inbox, t)) {
        weft__task_drop_notified(t); /* shut down */
        return true;
    }
    weft__mt_unpark_worker(home);
    return true;
}

/* At most this many tasks are taken from a shard per pass (with a
 * reference each, so that the shard's lock is not held while they are
 * cancelled); a shard is scanned again until it has none left. */
#define CANCEL_BATCH 256

void weft__mt_cancel_pinned(mt_worker *w) {
    weft_runtime *rt = &w->rt->base;
    uint32_t me = w->index + 1;
    weft_task *batch[CANCEL_BATCH];
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        weft_owned_shard *o = &rt->owned[i];
        size_t n;
        do {
            n = 0;
            spin_lock(&o->lock);
            weft__list_for_each_safe(l, next, &o->tasks) {
                if (n == CANCEL_BATCH) break;
                weft_task *t = weft__container_of(l, weft_task, owned);
                if (atomic_load_explicit(&t->pin, memory_order_relaxed) != me) continue;
                weft__ref_inc(&t->state);
                batch[n++] = t;
            }
            spin_unlock(&o->lock);
            for (size_t k = 0; k < n; k++) {
                /* Owning it, we cancel it like a poller that found it
                 * cancelled: completing it unlists it and releases the
                 * list's reference and ours (as the runner's). It cannot
                 * be running elsewhere (only this worker polls it), but it
                 * may have completed since we looked. */
                if (weft__transition_to_shutdown(&batch[k]->state)) weft__task_shutdown(batch[k]);
                else weft__task_drop_ref(batch[k]);
            }
        } while (n == CANCEL_BATCH);
    }
}
