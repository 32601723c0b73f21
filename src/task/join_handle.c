/* Join handles, join waits and abort handles. The join waker slot in the
 * task is written by the handle side only while JOIN_WAKER is clear, and
 * read by the task side only after COMPLETE (see state.h). A join wait is
 * the handle side too: it borrows the handle's interest and reference. */
#include <errno.h>

#include "runtime/rt.h"
#include "task/task.h"
#include "util/copy.h"

static __attribute__((noreturn)) void misuse_detached(const weft_join_handle *h, const char *what) {
    weft__misuse(&h->base, what);
}

/* Gives up the handle's reference and its interest in the output. */
static void release(weft_join_handle *h) {
    weft_task *t = h->task;
    if (!t) return;
    h->task = NULL;
    if (weft__drop_join_handle_fast(&t->state)) return;
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!(s & ST_JOIN_WAKER)) {
        /* Only the handle sets JOIN_WAKER, so the slot stays ours: empty it
         * while we still hold our reference, then drop interest and the
         * reference in one CAS. */
        weft_waker w = weft_waker_take(&t->join_waker);
        uint64_t prev = weft__transition_to_join_handle_dropped(&t->state);
        weft_waker_drop(w);
        if (st_refs(prev) == 1) weft__task_dealloc(t);
        return;
    }
    /* Published when we looked; the task may have completed since. The
     * slot is ours again unless the task completed with the waker still
     * published (then the task side drops it after waking it). Keep the
     * reference until the slot is dealt with. */
    uint64_t prev = weft__transition_to_join_interest_dropped(&t->state);
    if (!((prev & ST_COMPLETE) && (prev & ST_JOIN_WAKER)))
        weft_waker_drop(weft_waker_take(&t->join_waker));
    weft__task_drop_ref(t);
}

/* Publishes cx's waker for the task side. Returns false if the task
 * completed meanwhile (then the output can be read). */
static bool register_waker(weft_task *t, const weft_waker *w) {
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (s & ST_COMPLETE) return false;
    if (s & ST_JOIN_WAKER) {
        if (weft_waker_will_wake(&t->join_waker, w)) return true;
        if (!weft__unset_join_waker(&t->state)) return false;
    }
    weft_waker_store(&t->join_waker, w);
    if (weft__set_join_waker(&t->state)) return true;
    weft_waker_drop(weft_waker_take(&t->join_waker));
    return false;
}

/* Takes back a published waker whose future went away, if the task has
 * not completed (if it has, the task side deals with the slot). The
 * handle keeps its interest and reference. */
static void forget_waker(weft_task *t) {
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!(s & ST_JOIN_WAKER)) return;
    if (weft__unset_join_waker(&t->state)) weft_waker_drop(weft_waker_take(&t->join_waker));
}

/* The task completed (COMPLETE seen with acquire ordering: result and
 * output are visible): deliver them through the handle and let go. */
static void deliver(weft_join_handle *h) {
    weft_task *t = h->task;
    h->result = t->result;
    if (h->result == 0 && h->out) {
        weft__copy_value(h->out, t->future + t->out_offset, t->out_size);
        t->flags |= TASK_OUTPUT_TAKEN;
    }
    h->state = WEFT_JOIN_JOINED;
    release(h);
}

/* The poll shared by the handle and a join wait. */
static weft_poll join_poll(weft_join_handle *h, weft_context *cx) {
    weft_task *t = h->task;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    if (register_waker(t, &cx->waker)) return WEFT_PENDING;
    deliver(h);
    return WEFT_READY;
}

static weft_poll join_handle_poll(weft_future *f, weft_context *cx) {
    weft_join_handle *h = (weft_join_handle *)f;
    if (h->state == WEFT_JOIN_FAILED) return WEFT_READY; /* result is preset */
    return join_poll(h, cx);
}

static void join_handle_drop(weft_future *f) {
    weft_join_handle *h = (weft_join_handle *)f;
    release(h);
    if (h->state == WEFT_JOIN_LIVE) h->state = WEFT_JOIN_DETACHED;
}

const weft_future_vtable weft__join_handle_vtable = {join_handle_poll, join_handle_drop,
                                                     "weft_join_handle"};

/* ---- waiting by reference ---------------------------------------------------- */

static weft_poll join_wait_poll(weft_future *f, weft_context *cx) {
    weft_join_wait *w = (weft_join_wait *)f;
    weft_join_handle *h = w->handle;
    switch (h->state) {
    case WEFT_JOIN_LIVE: break;
    case WEFT_JOIN_FAILED:
        w->result = h->result;
        h->state = WEFT_JOIN_JOINED;
        h->base.state = WEFT_FUTURE_READY;
        return WEFT_READY;
    default: /* joined or detached: nothing left to wait for */
        w->result = -EINVAL;
        return WEFT_READY;
    }
    if (join_poll(h, cx) == WEFT_PENDING) return WEFT_PENDING;
    w->result = h->result;
    h->base.state = WEFT_FUTURE_READY; /* the handle is done: awaiting it again is a misuse */
    return WEFT_READY;
}

static void join_wait_drop(weft_future *f) {
    weft_join_wait *w = (weft_join_wait *)f;
    if (w->handle->state == WEFT_JOIN_LIVE && w->handle->task) forget_waker(w->handle->task);
}

static const weft_future_vtable join_wait_vtable = {join_wait_poll, join_wait_drop, "weft_join_wait"};

weft_future *weft_join_wait_init(weft_join_wait *f, weft_join_handle *h) {
    weft_future_init(&f->base, &join_wait_vtable);
    f->handle = h;
    f->result = 0;
    return &f->base;
}

/* ---- the handle's other operations ------------------------------------------- */

static void abort_task(weft_task *t) {
    if (weft__transition_to_notified_and_cancel(&t->state)) t->rt->ops->schedule(t->rt, t, false);
}

void weft_join_handle_abort(weft_join_handle *h) {
    if (h->state == WEFT_JOIN_DETACHED)
        misuse_detached(h, "aborted after it was detached (it no longer knows its task; keep a weft_abort_handle)");
    if (h->task) abort_task(h->task);
}

void weft_join_handle_detach(weft_join_handle *h) {
    if (h->base.state != WEFT_FUTURE_DROPPED) weft_future_drop(&h->base);
}

void weft_join_handle_detach_value(weft_join_handle h) { release(&h); }

bool weft_join_handle_is_finished(const weft_join_handle *h) {
    switch (h->state) {
    case WEFT_JOIN_LIVE:
        return atomic_load_explicit(&h->task->state, memory_order_acquire) & ST_COMPLETE;
    case WEFT_JOIN_DETACHED:
        misuse_detached(h, "asked is_finished after it was detached (it no longer knows its task; keep a weft_abort_handle)");
        return false;
    default:
        return true;
    }
}

/* ---- abort handles ------------------------------------------------------------ */

int weft_abort_handle_init(weft_abort_handle *ah, const weft_join_handle *h) {
    ah->task = NULL;
    if (h->state == WEFT_JOIN_DETACHED) return -EINVAL;
    if (h->task) {
        weft__ref_inc(&h->task->state);
        ah->task = h->task;
    }
    return 0;
}

void weft_abort_handle_clone(weft_abort_handle *dst, const weft_abort_handle *src) {
    if (src->task) weft__ref_inc(&src->task->state);
    dst->task = src->task;
}

void weft_abort_handle_abort(const weft_abort_handle *ah) {
    if (ah->task) abort_task(ah->task);
}

bool weft_abort_handle_is_finished(const weft_abort_handle *ah) {
    return !ah->task || (atomic_load_explicit(&ah->task->state, memory_order_acquire) & ST_COMPLETE);
}

void weft_abort_handle_destroy(weft_abort_handle *ah) {
    weft_task *t = ah->task;
    ah->task = NULL;
    if (t) weft__task_drop_ref(t);
}
