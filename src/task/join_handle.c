/* Join handles: a future over a task's completion. The join waker slot in
 * the task is written by the handle only while JOIN_WAKER is clear, and
 * read by the task side only after COMPLETE (see state.h). */
#include <errno.h>
#include <string.h>

#include "runtime/rt.h"
#include "task/task.h"

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

/* Most outputs are a word or two: copy those inline, not through memcpy. */
static inline void copy_output(void *dst, const unsigned char *src, uint32_t size) {
    switch (size) {
    case 0: return;
    case 4: memcpy(dst, src, 4); return;
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    default: memcpy(dst, src, size); return;
    }
}

static weft_poll join_handle_poll(weft_future *f, weft_context *cx) {
    weft_join_handle *h = (weft_join_handle *)f;
    weft_task *t = h->task;
    if (!t) return WEFT_READY; /* the spawn failed: result is preset */
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    if (register_waker(t, &cx->waker)) return WEFT_PENDING;
    /* COMPLETE was observed with acquire ordering: result and output are visible. */
    h->result = t->result;
    if (h->result == 0 && h->out) copy_output(h->out, t->future + t->out_offset, t->out_size);
    release(h);
    return WEFT_READY;
}

static void join_handle_drop(weft_future *f) { release((weft_join_handle *)f); }

const weft_future_vtable weft__join_handle_vtable = {join_handle_poll, join_handle_drop,
                                                     "weft_join_handle"};

void weft_join_handle_abort(weft_join_handle *h) {
    weft_task *t = h->task;
    if (t && weft__transition_to_notified_and_cancel(&t->state)) t->rt->ops->schedule(t->rt, t, false);
}

void weft_join_handle_detach(weft_join_handle *h) { weft_future_drop(&h->base); }

void weft_join_handle_detach_value(weft_join_handle h) { release(&h); }

bool weft_join_handle_is_finished(const weft_join_handle *h) {
    return !h->task || (atomic_load_explicit(&h->task->state, memory_order_acquire) & ST_COMPLETE);
}
