/*
 * The global inject queue: tasks scheduled from outside a worker, and the
 * overflow of full worker rings. An intrusive list behind a spinlock, with
 * an atomic length so that "is it empty?" costs no lock. The lock is held
 * for a list splice or a walk of a few tasks, never around user code, by a
 * spawning thread and every worker at once: a pthread mutex put its
 * waiters to sleep (a futex wait and wake-up per collision, thousands per
 * million remote spawns); the spinlock's waiters get it within the
 * holder's few instructions. Closed at shutdown:
 * a push after that returns false and the caller drops the task's
 * reference.
 *
 * A push from outside the runtime hands the task's reference to the
 * queue and must then wake the runtime; but once the task is queued,
 * other threads may run it, complete it, free it and destroy the runtime.
 * So such a push wakes the runtime before it releases the lock
 * (inject_push_then): closing the queue takes the lock, and shutdown
 * closes it before it frees anything, so no pusher touches a runtime
 * after its close. The wake-up is an atomic exchange, plus a system call
 * only when the runtime's thread sleeps (and then nobody else drains the
 * queue).
 */
#ifndef WEFT_SCHED_INJECT_H
#define WEFT_SCHED_INJECT_H

#include <pthread.h>
#include <stdatomic.h>

#include "sched/task_queue.h"
#include "util/spinlock.h"

typedef struct weft_inject {
    weft_spinlock lock;
    weft_task_queue queue;
    _Atomic size_t len;
    bool closed;
} weft_inject;

static inline void inject_init(weft_inject *in) {
    spin_init(&in->lock);
    task_queue_init(&in->queue);
    atomic_init(&in->len, 0);
    in->closed = false;
}

static inline void inject_destroy(weft_inject *in) { (void)in; }

static inline bool inject_is_empty(weft_inject *in) {
    return atomic_load_explicit(&in->len, memory_order_acquire) == 0;
}

/* Pushes the list `batch` of `n` tasks. False if the queue is closed (the
 * tasks were not taken). */
static inline bool inject_push_batch(weft_inject *in, weft_task_queue *batch, size_t n) {
    spin_lock(&in->lock);
    bool open = !in->closed;
    if (open) {
        task_queue_append(&in->queue, batch);
        atomic_fetch_add_explicit(&in->len, n, memory_order_release);
    }
    spin_unlock(&in->lock);
    return open;
}

static inline bool inject_push(weft_inject *in, weft_task *t) {
    weft_task_queue one;
    task_queue_init(&one);
    task_queue_push(&one, t);
    return inject_push_batch(in, &one, 1);
}

/* Pushes `t` and, still holding the lock, calls then(arg) to wake the
 * runtime (see the top of this file). False if the queue is closed (the
 * task was not taken, `then` not called). */
static inline bool inject_push_then(weft_inject *in, weft_task *t, void (*then)(void *),
                                    void *arg) {
    spin_lock(&in->lock);
    bool open = !in->closed;
    if (open) {
        task_queue_push(&in->queue, t);
        atomic_fetch_add_explicit(&in->len, 1, memory_order_release);
        then(arg);
    }
    spin_unlock(&in->lock);
    return open;
}

/* Pops up to `max` tasks into `out` (in order); returns how many. */
static inline size_t inject_pop_batch(weft_inject *in, weft_task_queue *out, size_t max) {
    if (inject_is_empty(in)) return 0;
    spin_lock(&in->lock);
    size_t n = 0;
    weft_task *t;
    while (n < max && (t = task_queue_pop(&in->queue))) {
        task_queue_push(out, t);
        n++;
    }
    atomic_fetch_sub_explicit(&in->len, n, memory_order_release);
    spin_unlock(&in->lock);
    return n;
}

static inline weft_task *inject_pop(weft_inject *in) {
    weft_task_queue one;
    task_queue_init(&one);
    return inject_pop_batch(in, &one, 1) ? task_queue_pop(&one) : NULL;
}

/* Takes every task in one lock (a list splice), optionally closing the
 * queue too. Returns them in order. */
static inline weft_task_queue inject_take_all(weft_inject *in, bool close) {
    weft_task_queue all;
    task_queue_init(&all);
    if (!close && inject_is_empty(in)) return all;
    spin_lock(&in->lock);
    if (close) in->closed = true;
    all = in->queue;
    task_queue_init(&in->queue);
    atomic_store_explicit(&in->len, 0, memory_order_release);
    spin_unlock(&in->lock);
    return all;
}

/* Closes the queue and returns what it held. */
static inline weft_task_queue inject_close(weft_inject *in) { return inject_take_all(in, true); }

#endif
