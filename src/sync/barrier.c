/* Barrier: parties arrive at their first poll and queue; the n-th arrival
 * completes the whole round (bulk release) and is the leader. A waiter
 * dropped before its round completes un-arrives. */
#include "sync/waitq.h"
#include "weft/sync.h"

void weft_barrier_init(weft_barrier *b, size_t n) {
    spin_init(&b->lock);
    b->n = n ? n : 1;
    b->arrived = 0;
    b->generation = 0;
    weft__list_init(&b->waiters);
}

void weft_barrier_destroy(weft_barrier *b) {
    if (!weft__list_empty(&b->waiters))
        weft__sync_misuse("weft_barrier_destroy of a barrier that futures still wait on (%p)", (void *)b);
}

static weft_poll barrier_poll(weft_future *f, weft_context *cx) {
    weft_barrier_wait *w = (weft_barrier_wait *)f;
    weft_barrier *b = w->barrier;
    weft_wait_node *node = &w->node;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    if (node_load(node) == WN_DONE) return WEFT_READY;
    wake_batch wb;
    wb_init(&wb);
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&b->lock);
    uint32_t st = node_state_locked(node);
    switch (st) {
    case WN_DONE:
        spin_unlock(&b->lock);
        waker_release(weft_waker_take(&node->waker));
        return WEFT_READY;
    case WN_IDLE:
        if (++b->arrived >= b->n) { /* the last party: release the round */
            b->arrived = 0;
            b->generation++;
            weft__wait_release_all(&b->lock, &b->waiters, WN_DONE, &wb);
            node_set(node, WN_DONE);
            spin_unlock(&b->lock);
            wb_wake(&wb);
            w->is_leader = true;
            return WEFT_READY;
        }
        node->waker = weft_waker_clone(&cx->waker);
        weft__list_push_back(&b->waiters, &node->link);
        node_set(node, WN_QUEUED);
        break;
    default:
        old = node_store_waker(node, cx);
        break;
    }
    spin_unlock(&b->lock);
    waker_release(old);
    return WEFT_PENDING;
}

static void barrier_drop(weft_future *f) {
    weft_barrier_wait *w = (weft_barrier_wait *)f;
    weft_barrier *b = w->barrier;
    weft_wait_node *node = &w->node;
    if (node_unlinked(node_load(node))) {
        waker_release(weft_waker_take(&node->waker));
        return;
    }
    spin_lock(&b->lock);
    if (node_state_locked(node) == WN_QUEUED) {
        weft__list_remove(&node->link);
        b->arrived--;
    }
    node_set(node, WN_IDLE);
    spin_unlock(&b->lock);
    waker_release(weft_waker_take(&node->waker));
}

static const weft_future_vtable barrier_vtable = {barrier_poll, barrier_drop, "weft_barrier_wait"};

weft_future *weft_barrier_wait_init(weft_barrier_wait *f, weft_barrier *b) {
    weft_future_init(&f->base, &barrier_vtable);
    f->barrier = b;
    f->is_leader = false;
    node_init(&f->node);
    return &f->base;
}
