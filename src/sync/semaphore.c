/*
 * The FIFO batch semaphore (Tokio's batch_semaphore, under one spinlock).
 *
 * Invariant: while anybody waits, `permits` is 0 outside the lock's
 * short flush windows: released permits go to the head waiter (which
 * collects them in `got` until it has `need`), then to the next. So a
 * try_acquire or a new acquire never overtakes a waiter, and permits are
 * conserved: available + assigned to queued waiters + handed to waiters not
 * yet ready + held by users == initial + added.
 *
 * For the rwlock built on it, SEM_EXCLUSIVE is set while the write lock is
 * held or handed to a write waiter that has not seen it yet (a node marked
 * SEM_NODE_EXCLUSIVE), so the unlock checks are exact, under the lock.
 */
#include "sync/sem.h"

int weft_semaphore_init(weft_semaphore *s, size_t permits) {
    spin_init(&s->lock);
    weft__list_init(&s->waiters);
    if (permits > WEFT_SEMAPHORE_MAX_PERMITS) { /* usable, but every acquire fails */
        s->flags = SEM_SHUT_DOWN;
        s->permits = 0;
        return -EINVAL;
    }
    s->flags = 0;
    s->permits = permits;
    return 0;
}

static inline bool shut_down(const weft_semaphore *s) { return (s->flags & SEM_SHUT_DOWN) != 0; }

/* Flags are written under the lock and read without it only by is_closed. */
static inline void set_flag(weft_semaphore *s, uint32_t f, bool on) {
    __atomic_store_n(&s->flags, on ? s->flags | f : s->flags & ~f, __ATOMIC_RELEASE);
}

/* A waiter is handed its permits (lock held): an exclusive one now holds the write lock. */
static inline void granted(weft_semaphore *s, const weft_wait_node *n) {
    if (n->flags & SEM_NODE_EXCLUSIVE) set_flag(s, SEM_EXCLUSIVE, true);
}

void weft_semaphore_destroy(weft_semaphore *s) {
    if (!weft__list_empty(&s->waiters))
        weft__sync_misuse("weft_semaphore_destroy of a semaphore that futures still wait on (%p)", (void *)s);
}

size_t weft_semaphore_available(weft_semaphore *s) {
    return __atomic_load_n(&s->permits, __ATOMIC_RELAXED);
}

bool weft_semaphore_is_closed(weft_semaphore *s) {
    return (__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & SEM_SHUT_DOWN) != 0;
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
        granted(s, n);
        weft__list_remove(&n->link);
        node_complete(n, WN_DONE, wb);
    }
}

/* Permits that are free or assigned to a waiter not yet complete (lock
 * held). Only the head waiter collects permits, so it is the only one that
 * can hold some. */
static size_t unheld_locked(const weft_semaphore *s) {
    size_t n = s->permits;
    if (!weft__list_empty(&s->waiters)) n += node_of(s->waiters.next)->got;
    return n;
}

int weft__sem_release(weft_semaphore *s, size_t n, size_t limit, int kind) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&s->lock);
    int rc = 0;
    bool exclusive = (s->flags & SEM_EXCLUSIVE) != 0;
    if (kind == SEM_RELEASE_EXCLUSIVE && !exclusive) rc = -EPERM;
    else if (kind == SEM_RELEASE_SHARED && exclusive) rc = -EPERM;
    else if (n > limit || unheld_locked(s) > limit - n) rc = -EOVERFLOW;
    if (rc != 0) {
        spin_unlock(&s->lock);
        return rc;
    }
    if (kind == SEM_RELEASE_EXCLUSIVE) set_flag(s, SEM_EXCLUSIVE, false);
    __atomic_store_n(&s->permits, s->permits + n, __ATOMIC_RELAXED);
    assign_locked(s, &wb);
    spin_unlock(&s->lock);
    wb_wake(&wb);
    return 0;
}

int weft_semaphore_add_permits(weft_semaphore *s, size_t n) {
    return weft__sem_release(s, n, WEFT_SEMAPHORE_MAX_PERMITS, SEM_RELEASE_PLAIN);
}

int weft__sem_try_acquire(weft_semaphore *s, size_t n, bool exclusive) {
    if (n > WEFT_SEMAPHORE_MAX_PERMITS) return -EINVAL;
    spin_lock(&s->lock);
    int rc;
    if (shut_down(s)) rc = -WEFT_ECLOSED;
    else if (n == 0) rc = 0;
    else if (s->permits >= n && weft__list_empty(&s->waiters)) {
        __atomic_store_n(&s->permits, s->permits - n, __ATOMIC_RELAXED);
        if (exclusive) set_flag(s, SEM_EXCLUSIVE, true);
        rc = 0;
    } else rc = -EAGAIN;
    spin_unlock(&s->lock);
    return rc;
}

int weft_semaphore_try_acquire(weft_semaphore *s, size_t n) { return weft__sem_try_acquire(s, n, false); }

void weft_semaphore_shutdown(weft_semaphore *s) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&s->lock);
    if (!shut_down(s)) {
        set_flag(s, SEM_SHUT_DOWN, true);
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
        if (shut_down(s)) {
            spin_unlock(&s->lock);
            *result = -WEFT_ECLOSED;
            return WEFT_READY;
        }
        if (n == 0 || (weft__list_empty(&s->waiters) && s->permits >= n)) {
            __atomic_store_n(&s->permits, s->permits - n, __ATOMIC_RELAXED);
            granted(s, node);
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
        if (node->flags & SEM_NODE_EXCLUSIVE) set_flag(s, SEM_EXCLUSIVE, false);
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
