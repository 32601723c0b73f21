/*
 * Notify: a FIFO of notified() futures, one stored permit, and a
 * generation counter for notify_waiters (a future initialised before a
 * notify_waiters call completes even if it was not yet waiting).
 *
 * A node completed by notify_one carries NOTIFIED_ONE: if its future is
 * dropped before it returns ready, the drop forwards the notification.
 */
#include "sync/waitq.h"
#include "weft/sync.h"

#define NOTIFIED_ONE 1u

void weft_notify_init(weft_notify *n) {
    spin_init(&n->lock);
    n->permit = 0;
    n->generation = 0;
    weft__list_init(&n->waiters);
}

void weft_notify_destroy(weft_notify *n) {
    if (!weft__list_empty(&n->waiters))
        weft__sync_misuse("weft_notify_destroy of a notify that futures still wait on (%p)", (void *)n);
}

/* Completes the oldest waiter or stores the permit (lock held; `wb` has room). */
static void notify_one_locked(weft_notify *n, wake_batch *wb) {
    if (weft__list_empty(&n->waiters)) {
        n->permit = 1;
        return;
    }
    weft_wait_node *w = node_of(n->waiters.next);
    weft__list_remove(&w->link);
    w->flags = NOTIFIED_ONE;
    node_complete(w, WN_DONE, wb);
}

void weft_notify_one(weft_notify *n) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&n->lock);
    notify_one_locked(n, &wb);
    spin_unlock(&n->lock);
    wb_wake(&wb);
}

void weft_notify_waiters(weft_notify *n) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&n->lock);
    __atomic_store_n(&n->generation, n->generation + 1, __ATOMIC_RELEASE);
    weft__wait_release_all(&n->lock, &n->waiters, WN_DONE, &wb);
    spin_unlock(&n->lock);
    wb_wake(&wb);
}

static weft_poll notified_poll(weft_future *f, weft_context *cx) {
    weft_notified *nf = (weft_notified *)f;
    weft_notify *n = nf->notify;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_wait_node *node = &nf->node;
    if (node_load(node) == WN_DONE) return WEFT_READY;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&n->lock);
    uint32_t st = node_state_locked(node);
    if (st == WN_DONE) goto ready;
    if (nf->generation != n->generation) { /* notify_waiters since our init */
        if (st == WN_QUEUED) weft__list_remove(&node->link);
        goto ready;
    }
    if (st == WN_IDLE) {
        if (n->permit) {
            n->permit = 0;
            goto ready;
        }
        node->flags = 0;
        node->waker = weft_waker_clone(&cx->waker);
        weft__list_push_back(&n->waiters, &node->link);
        node_set(node, WN_QUEUED);
    } else {
        old = node_store_waker(node, cx);
    }
    spin_unlock(&n->lock);
    waker_release(old);
    return WEFT_PENDING;
ready:
    node_set(node, WN_DONE);
    node->flags = 0;
    spin_unlock(&n->lock);
    waker_release(weft_waker_take(&node->waker));
    return WEFT_READY;
}

static void notified_drop(weft_future *f) {
    weft_notified *nf = (weft_notified *)f;
    weft_notify *n = nf->notify;
    weft_wait_node *node = &nf->node;
    uint32_t st = node_load(node);
    if (st == WN_IDLE) return;
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&n->lock);
    st = node_state_locked(node);
    if (st == WN_QUEUED) weft__list_remove(&node->link);
    else if (st == WN_DONE && (node->flags & NOTIFIED_ONE)) notify_one_locked(n, &wb); /* forward */
    node_set(node, WN_IDLE);
    spin_unlock(&n->lock);
    wb_wake(&wb);
    waker_release(weft_waker_take(&node->waker));
}

static const weft_future_vtable notified_vtable = {notified_poll, notified_drop, "weft_notified"};

weft_future *weft_notify_notified_init(weft_notified *f, weft_notify *n) {
    weft_future_init(&f->base, &notified_vtable);
    f->notify = n;
    node_init(&f->node);
    f->generation = __atomic_load_n(&n->generation, __ATOMIC_ACQUIRE);
    return &f->base;
}
