/*
 * Wait lists shared by every primitive: circular doubly linked lists of
 * weft_wait_node with a sentinel, guarded by the primitive's spinlock, and
 * a small batch of wakers that is woken after the lock is released.
 *
 * Node states (weft_wait_node.state; written under the primitive's lock,
 * read without it only by the node's own future):
 *
 *   IDLE    not in any list (fresh; or re-armed by a broadcast/watch wake)
 *   QUEUED  in the primitive's wait list; `waker` is the waiter's
 *   DONE    handed what it waited for; unlinked; the primitive no longer
 *           touches it (the hand-off took its waker)
 *   CLOSED  woken because the primitive was shut down; unlinked; untouched
 *
 * plus the RELEASING bit: a bulk release (notify_waiters, shutdown, barrier
 * round, broadcast send) moved the node to a list on the releaser's stack
 * and gave it its final state, but has not unlinked it and taken its waker
 * yet (it does so in batches, dropping the lock in between to wake). The
 * owner settles such a node under the lock (node_state_locked): it unlinks
 * it itself and keeps its waker.
 *
 * Hand-off versus drop: both happen under the lock. A hand-off unlinks the
 * node, takes its waker and publishes DONE as its last touch of the node;
 * a drop that finds DONE knows it owns the resource and passes it on.
 */
#ifndef WEFT_SYNC_WAITQ_H
#define WEFT_SYNC_WAITQ_H

#include <stddef.h>

#include "util/list.h"
#include "util/spinlock.h"
#include "weft/detail/wait_node.h"
#include "weft/context.h"

enum {
    WN_IDLE = 0,
    WN_QUEUED = 1,
    WN_DONE = 2,
    WN_CLOSED = 3,
    WN_RELEASING = 8,
};

static inline uint32_t node_load(const weft_wait_node *n) {
    return __atomic_load_n(&n->state, __ATOMIC_ACQUIRE);
}
static inline void node_set(weft_wait_node *n, uint32_t s) {
    __atomic_store_n(&n->state, s, __ATOMIC_RELEASE);
}

static inline void node_init(weft_wait_node *n) {
    weft__link_clear(&n->link);
    n->waker = WEFT_WAKER_NONE;
    n->state = WN_IDLE;
    n->flags = 0;
    n->need = n->got = 0;
}

/* ---- lists: weft's intrusive list (util/list.h) of wait nodes ------------- */

#define node_of(l) weft__container_of(l, weft_wait_node, link)

/* ---- wakers woken after unlocking ----------------------------------------- */

#define WAKE_BATCH 32

typedef struct wake_batch {
    unsigned n;
    weft_waker w[WAKE_BATCH];
} wake_batch;

static inline void wb_init(wake_batch *wb) { wb->n = 0; }
static inline bool wb_full(const wake_batch *wb) { return wb->n == WAKE_BATCH; }
static inline void wb_push(wake_batch *wb, weft_waker w) {
    if (w.vtable) wb->w[wb->n++] = w;
}
static inline void wb_wake(wake_batch *wb) {
    for (unsigned i = 0; i < wb->n; i++) weft_waker_wake(wb->w[i]);
    wb->n = 0;
}

/* Unlocks, wakes the batch, relocks: room for more. */
static inline void wb_flush(weft_spinlock *lock, wake_batch *wb) {
    spin_unlock(lock);
    wb_wake(wb);
    spin_lock(lock);
}

/*
 * Completes an unlinked node with `state` (WN_DONE, WN_CLOSED or WN_IDLE):
 * its waker goes to the batch (which must have room), then the state is
 * published. The caller must not touch `n` afterwards.
 */
static inline void node_complete(weft_wait_node *n, uint32_t state, wake_batch *wb) {
    wb_push(wb, weft_waker_take(&n->waker));
    node_set(n, state);
}

/*
 * Under the lock: the node's state, after settling a bulk release that
 * left it linked (the owner unlinks it and keeps its own waker).
 */
static inline uint32_t node_state_locked(weft_wait_node *n) {
    uint32_t s = __atomic_load_n(&n->state, __ATOMIC_RELAXED);
    if (s & WN_RELEASING) {
        weft__list_remove(&n->link);
        s &= ~(uint32_t)WN_RELEASING;
        node_set(n, s);
    }
    return s;
}

/* True if a state read without the lock shows a node in no list. */
static inline bool node_unlinked(uint32_t s) { return s == WN_IDLE || s == WN_DONE || s == WN_CLOSED; }

/*
 * Stores the waker of `cx` in the node (under the lock) unless it already
 * holds one that wakes the same task; returns the waker it replaced, for
 * the caller to drop after unlocking.
 */
static inline weft_waker node_store_waker(weft_wait_node *n, const weft_context *cx) {
    return weft_waker_replace(&n->waker, &cx->waker);
}

/*
 * Under the lock: parks `n` on `list` with the waker of `cx` — refreshes the
 * waker if it is already queued, else queues it. Returns the waker it
 * replaced, for the caller to drop after unlocking.
 */
static inline weft_waker node_park_locked(weft_link *list, weft_wait_node *n,
                                          const weft_context *cx) {
    if (node_state_locked(n) == WN_QUEUED) return node_store_waker(n, cx);
    weft_waker old = weft_waker_take(&n->waker); /* left over from a re-arm */
    n->waker = weft_waker_clone(&cx->waker);
    weft__list_push_back(list, &n->link);
    node_set(n, WN_QUEUED);
    return old;
}

/*
 * The drop of a waiting future that holds nothing to hand on: leaves the
 * list if it is queued (the state is read without the lock first, so an
 * idle node costs no lock) and releases its waker.
 */
static inline void node_cancel(weft_spinlock *lock, weft_wait_node *n) {
    if (!node_unlinked(node_load(n))) {
        spin_lock(lock);
        if (node_state_locked(n) == WN_QUEUED) weft__list_remove(&n->link);
        node_set(n, WN_IDLE);
        spin_unlock(lock);
    }
    weft_waker_drop(weft_waker_take(&n->waker));
}

/*
 * Bulk release: every node now in `list` gets final state `state`
 * (WN_DONE, WN_CLOSED or WN_IDLE) and is woken. Called and returns with the
 * lock held; unlocks in between to wake full batches, so nodes that join
 * `list` meanwhile are not included. Leftover wakers stay in `wb` for the
 * caller to wake after its unlock.
 */
void weft__wait_release_all(weft_spinlock *lock, weft_link *list, uint32_t state,
                            wake_batch *wb);

/* Reports a misuse of a primitive or channel ("weft: misuse: ..." on
 * stderr) and aborts. Every build: these checks protect invariants. */
void weft__sync_misuse(const char *fmt, ...) __attribute__((noreturn, cold, format(printf, 1, 2)));

/* Drops a waker outside any lock (a no-op for the empty waker). */
static inline void waker_release(weft_waker w) { weft_waker_drop(w); }

#endif
