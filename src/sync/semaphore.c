/*
 * The FIFO batch semaphore (Tokio's batch_semaphore, under one spinlock).
 *
 * Invariant: while anybody waits, `permits` is 0 outside the lock's
 * short flush windows: released permits go to the head waiter (which
 * collects them in `got` until it has `need`), then to the next. So a
 * try_acquire or a new acquire never overtakes a waiter, and permits are
 * conserved: available + assigned to queued waiters + handed to waiters not
 * yet ready + held by users == initial + added.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync/sem.h"

void weft_semaphore_init(weft_semaphore *s, size_t permits) {
    if (permits > WEFT_SEMAPHORE_MAX_PERMITS) {
        fprintf(stderr, "weft: misuse: weft_semaphore_init with more than WEFT_SEMAPHORE_MAX_PERMITS\n");
        abort();
    }
    spin_init(&s->lock);
    s->closed = 0;
    s->permits = permits;
    weft__list_init(&s->waiters);
}

void weft_semaphore_destroy(weft_semaphore *s) {
#if WEFT_CHECKS
    if (!weft__list_empty(&s->waiters)) {
        fprintf(stderr, "weft: misuse: semaphore/mutex/rwlock %p destroyed while futures wait on it\n",
                (void *)s);
        abort();
    }
#endif
    (void)s;
}

size_t weft_semaphore_available(weft_semaphore *s) {
    return __atomic_load_n(&s->permits, __ATOMIC_RELAXED);
}

bool weft_semaphore_is_closed(weft_semaphore *s) {
    return __atomic_load_n(&s->closed, __ATOMIC_ACQUIRE) != 0;
}

/* Hands the available permits to the waiters in FIFO order (lock held; may
 * flush the batch, i.e. unlock and relock, between two waiters). */
static void assign_locked(weft_semaphore *s, wake_batch *wb) {
    while (s->permits > 0 && !weft__list_empty(&s->waiters)) {
        if (wb_full(wb)) {
            wb_flush(&s->lock, wb);
            continue;
        }
        weft_wait_node *n = node_of(s->waiters.next);
        size_t want = n->need - n->got;
        if (s->permits < want) {
            n->got += s->permits;
            __atomic_store_n(&s->permits, 0, __ATOMIC_RELAXED);
            return;
        }
        __atomic_store_n(&s->permits, s->permits - want, __ATOMIC_RELAXED);
        n->got = n->need;
        weft__list_remove(&n->link);
        node_complete(n, WN_DONE, wb);
    }
}

static void add_locked(weft_semaphore *s, size_t n, size_t limit, const char *what) {
    if (n > WEFT_SEMAPHORE_MAX_PERMITS - s->permits) {
        spin_unlock(&s->lock);
        fprintf(stderr, "weft: misuse: semaphore %p: more than WEFT_SEMAPHORE_MAX_PERMITS permits\n",
                (void *)s);
        abort();
    }
    if (WEFT_CHECKS && limit && s->permits + n > limit) {
        spin_unlock(&s->lock);
        fprintf(stderr, "weft: misuse: %s %p\n", what, (void *)s);
        abort();
    }
    __atomic_store_n(&s->permits, s->permits + n, __ATOMIC_RELAXED);
}

void weft__sem_release(weft_semaphore *s, size_t n, size_t limit, const char *what) {
    if (n == 0) return;
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&s->lock);
    add_locked(s, n, limit, what);
    assign_locked(s, &wb);
    spin_unlock(&s->lock);
    wb_wake(&wb);
}

void weft_semaphore_release(weft_semaphore *s, size_t n) { weft__sem_release(s, n, 0, NULL); }
void weft_semaphore_add_permits(weft_semaphore *s, size_t n) { weft__sem_release(s, n, 0, NULL); }

int weft__sem_try_acquire(weft_semaphore *s, size_t n) {
    if (n > WEFT_SEMAPHORE_MAX_PERMITS) return -EINVAL;
    spin_lock(&s->lock);
    int rc;
    if (s->closed) rc = -WEFT_ECLOSED;
    else if (n == 0) rc = 0;
    else if (s->permits >= n && weft__list_empty(&s->waiters)) {
        __atomic_store_n(&s->permits, s->permits - n, __ATOMIC_RELAXED);
        rc = 0;
    } else rc = -EAGAIN;
    spin_unlock(&s->lock);
    return rc;
}

int weft_semaphore_try_acquire(weft_semaphore *s, size_t n) { return weft__sem_try_acquire(s, n); }

void weft_semaphore_close(weft_semaphore *s) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&s->lock);
    if (!s->closed) {
        __atomic_store_n(&s->closed, 1, __ATOMIC_RELEASE);
        /* Waiters get nothing: what was assigned to them goes back. */
        size_t back = 0;
        for (weft_link *l = s->waiters.next; l != &s->waiters; l = l->next) back += node_of(l)->got;
        __atomic_store_n(&s->permits, s->permits + back, __ATOMIC_RELAXED);
        weft__wait_release_all(&s->lock, &s->waiters, WN_CLOSED, &wb);
    }
    spin_unlock(&s->lock);
    wb_wake(&wb);
}

weft_poll weft__sem_poll_acquire(weft_semaphore *s, weft_wait_node *node, size_t n,
                                 weft_context *cx, int *result) {
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    uint32_t st = node_load(node);
    if (st == WN_DONE) { /* handed over: the hand-off took the waker */
        *result = 0;
        return WEFT_READY;
    }
    if (st == WN_CLOSED) {
        *result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&s->lock);
    st = node_state_locked(node);
    switch (st) {
    case WN_IDLE:
        if (n > WEFT_SEMAPHORE_MAX_PERMITS) {
            spin_unlock(&s->lock);
            *result = -EINVAL;
            return WEFT_READY;
        }
        if (s->closed) {
            spin_unlock(&s->lock);
            *result = -WEFT_ECLOSED;
            return WEFT_READY;
        }
        if (n == 0 || (weft__list_empty(&s->waiters) && s->permits >= n)) {
            __atomic_store_n(&s->permits, s->permits - n, __ATOMIC_RELAXED);
            spin_unlock(&s->lock);
            *result = 0;
            return WEFT_READY;
        }
        /* Queue, taking what is available now if nobody is ahead (while
         * others wait, permits are only non-zero during a releaser's flush
         * window, and they are theirs). */
        node->need = n;
        node->got = 0;
        if (weft__list_empty(&s->waiters)) {
            node->got = s->permits;
            __atomic_store_n(&s->permits, 0, __ATOMIC_RELAXED);
        }
        node->waker = weft_waker_clone(&cx->waker);
        weft__list_push_back(&s->waiters, &node->link);
        node_set(node, WN_QUEUED);
        spin_unlock(&s->lock);
        return WEFT_PENDING;
    case WN_QUEUED:
        old = node_store_waker(node, cx);
        spin_unlock(&s->lock);
        waker_release(old);
        return WEFT_PENDING;
    default: /* settled from a bulk release: our waker is still ours */
        spin_unlock(&s->lock);
        waker_release(weft_waker_take(&node->waker));
        *result = st == WN_DONE ? 0 : -WEFT_ECLOSED;
        return WEFT_READY;
    }
}

void weft__sem_drop_acquire(weft_semaphore *s, weft_wait_node *node) {
    uint32_t st = node_load(node);
    if (st == WN_IDLE || st == WN_CLOSED) {
        waker_release(weft_waker_take(&node->waker));
        return;
    }
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&s->lock);
    st = node_state_locked(node);
    size_t give = 0;
    if (st == WN_QUEUED) {
        weft__list_remove(&node->link);
        give = node->got;
    } else if (st == WN_DONE) {
        give = node->need; /* handed over but never observed: pass it on */
    }
    node_set(node, WN_IDLE);
    if (give) {
        __atomic_store_n(&s->permits, s->permits + give, __ATOMIC_RELAXED);
        assign_locked(s, &wb);
    }
    spin_unlock(&s->lock);
    wb_wake(&wb);
    waker_release(weft_waker_take(&node->waker));
}

/* ---- the public acquire future ------------------------------------------- */

static weft_poll acquire_poll(weft_future *f, weft_context *cx) {
    weft_semaphore_acquire *a = (weft_semaphore_acquire *)f;
    return weft__sem_poll_acquire(a->sem, &a->node, a->n, cx, &a->result);
}

static void acquire_drop(weft_future *f) {
    weft_semaphore_acquire *a = (weft_semaphore_acquire *)f;
    weft__sem_drop_acquire(a->sem, &a->node);
}

static const weft_future_vtable acquire_vtable = {acquire_poll, acquire_drop,
                                                  "weft_semaphore_acquire"};

weft_future *weft_semaphore_acquire_many_init(weft_semaphore_acquire *f, weft_semaphore *s, size_t n) {
    weft_future_init(&f->base, &acquire_vtable);
    f->sem = s;
    f->n = n;
    f->result = 0;
    node_init(&f->node);
    return &f->base;
}

weft_future *weft_semaphore_acquire_init(weft_semaphore_acquire *f, weft_semaphore *s) {
    return weft_semaphore_acquire_many_init(f, s, 1);
}
