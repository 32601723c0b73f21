/*
 * Task trackers: one atomic word (tracked tasks << 1 | closed), a
 * reference count, and a wait list of weft_wait_node (src/sync/waitq.h).
 *
 * A tracked task is the user's future moved behind a small wrapper (in the
 * task's one allocation, as JoinSet does); the wrapper counts the task out
 * when its future completes or is dropped. A tracked blocking call wraps
 * fn/arg_drop the same way, in a small allocation.
 *
 * Waking without losing a wake: whoever moves the word to "closed, no
 * task" (1) — a close, or the last task out — then takes the lock and
 * releases every queued wait. A wait reads the word under the lock before
 * it queues. If it reads before that lock is taken, it is queued by then
 * and released; if after, the lock orders the word's change before its
 * read, and it sees 1.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "sync/waitq.h"
#include "weft/runtime.h"
#include "weft/tracker.h"

struct weft_task_tracker {
    weft_spinlock lock;
    uint64_t state;    /* atomic: tasks << 1 | CLOSED */
    uint64_t refs;     /* atomic: the creator + one per tracked task */
    weft_link waiters; /* weft_task_tracker_wait nodes */
};

#define CLOSED 1u
#define ONE_TASK 2u

weft_join_handle weft__join_handle_failed(int err);

static void tracker_unref(weft_task_tracker *t) {
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) free(t);
}

/* The word became "closed, no task": release every wait. */
static void release_waits(weft_task_tracker *t) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&t->lock);
    weft__wait_release_all(&t->lock, &t->waiters, WN_DONE, &wb);
    spin_unlock(&t->lock);
    wb_wake(&wb);
}

static void task_in(weft_task_tracker *t) {
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&t->state, ONE_TASK, __ATOMIC_ACQ_REL);
}

static void task_out(weft_task_tracker *t) {
    if (__atomic_sub_fetch(&t->state, ONE_TASK, __ATOMIC_ACQ_REL) == CLOSED) release_waits(t);
    tracker_unref(t);
}

int weft_task_tracker_create(weft_task_tracker **out) {
    if (!out) return -EINVAL;
    weft_task_tracker *t = malloc(sizeof *t);
    *out = t;
    if (!t) return -ENOMEM;
    spin_init(&t->lock);
    t->state = 0;
    t->refs = 1;
    weft__list_init(&t->waiters);
    return 0;
}

void weft_task_tracker_destroy(weft_task_tracker *t) {
    if (!t) return;
    spin_lock(&t->lock);
    bool waited_on = !weft__list_empty(&t->waiters);
    spin_unlock(&t->lock);
    if (waited_on)
        weft__sync_misuse("weft_task_tracker_destroy of a tracker that futures still wait on (%p)",
                          (void *)t);
    tracker_unref(t);
}

bool weft_task_tracker_close(weft_task_tracker *t) {
    if (!t) return false;
    uint64_t old = __atomic_fetch_or(&t->state, CLOSED, __ATOMIC_ACQ_REL);
    if (old == 0) release_waits(t);
    return !(old & CLOSED);
}

bool weft_task_tracker_reopen(weft_task_tracker *t) {
    if (!t) return false;
    return __atomic_fetch_and(&t->state, ~(uint64_t)CLOSED, __ATOMIC_ACQ_REL) & CLOSED;
}

bool weft_task_tracker_is_closed(const weft_task_tracker *t) {
    return t && (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & CLOSED);
}

size_t weft_task_tracker_len(const weft_task_tracker *t) {
    return t ? (size_t)(__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) >> 1) : 0;
}

/* ---- tracked futures ------------------------------------------------------------ */

typedef struct tracked {
    weft_future base;
    weft_task_tracker *tracker;
} tracked;

#define TRACKED_HDR ((sizeof(tracked) + 15) & ~(size_t)15)

static weft_future *tracked_inner(tracked *w) { return (weft_future *)((char *)w + TRACKED_HDR); }

static weft_poll tracked_poll(weft_future *f, weft_context *cx) {
    tracked *w = (tracked *)f;
    if (weft_future_poll(tracked_inner(w), cx) == WEFT_PENDING) return WEFT_PENDING;
    task_out(w->tracker);
    return WEFT_READY;
}

static void tracked_drop(weft_future *f) {
    tracked *w = (tracked *)f;
    weft_future_drop(tracked_inner(w));
    task_out(w->tracker);
}

static const weft_future_vtable tracked_vtable = {tracked_poll, tracked_drop, "weft_tracked_task"};

weft_join_handle weft_task_tracker_spawn_raw(weft_task_tracker *t, weft_runtime *rt, void *future,
                                             size_t size, size_t out_offset, size_t out_size,
                                             weft_drop_fn out_drop) {
    weft_future *inner = future;
    if (inner->state != WEFT_FUTURE_FRESH) weft__misuse(inner, "spawned after it was polled");
    if (!t || !rt) {
        weft_future_drop(inner);
        return weft__join_handle_failed(-EINVAL);
    }
    /* Build the wrapper with the inner future behind it (moved: allowed
     * before the first poll); spawn moves the whole into the task. */
    size_t total = TRACKED_HDR + size;
    alignas(16) unsigned char stack_buf[1024];
    unsigned char *buf = total <= sizeof stack_buf
                             ? stack_buf
                             : aligned_alloc(16, (total + 15) & ~(size_t)15);
    if (!buf) {
        weft_future_drop(inner);
        return weft__join_handle_failed(-ENOMEM);
    }
    tracked *w = (tracked *)buf;
    weft_future_init(&w->base, &tracked_vtable);
    w->tracker = t;
    memcpy(buf + TRACKED_HDR, future, size);
    task_in(t); /* a failed spawn drops the wrapper, which counts it out */
    weft_join_handle h = weft_spawn_raw(rt, buf, total, TRACKED_HDR + out_offset, out_size, out_drop);
    if (buf != stack_buf) free(buf);
    return h;
}

/* ---- tracked blocking calls ----------------------------------------------------- */

typedef struct tracked_call {
    weft_task_tracker *tracker;
    weft_blocking_fn fn;
    void *arg;
    weft_drop_fn arg_drop;
} tracked_call;

static void *tracked_call_run(void *p) {
    tracked_call c = *(tracked_call *)p;
    free(p);
    void *r = c.fn(c.arg);
    task_out(c.tracker);
    return r;
}

static void tracked_call_cancel(void *p) {
    tracked_call c = *(tracked_call *)p;
    free(p);
    if (c.arg_drop) c.arg_drop(c.arg);
    task_out(c.tracker);
}

weft_join_handle weft_task_tracker_spawn_blocking(weft_task_tracker *t, weft_runtime *rt,
                                                  weft_blocking_fn fn, void *arg,
                                                  weft_drop_fn arg_drop) {
    int err = !t || !rt || !fn ? -EINVAL : 0;
    tracked_call *c = err ? NULL : malloc(sizeof *c);
    if (!c) {
        if (arg_drop) arg_drop(arg);
        return weft__join_handle_failed(err ? err : -ENOMEM);
    }
    *c = (tracked_call){t, fn, arg, arg_drop};
    task_in(t); /* a failed spawn runs tracked_call_cancel, which counts it out */
    return weft_spawn_blocking(rt, tracked_call_run, c, tracked_call_cancel);
}

/* ---- the wait -------------------------------------------------------------------- */

static inline bool done_word(const weft_task_tracker *t) {
    return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == CLOSED;
}

static weft_poll wait_poll(weft_future *f, weft_context *cx) {
    weft_task_tracker_wait *w = (weft_task_tracker_wait *)f;
    weft_task_tracker *t = w->tracker;
    if (WEFT_UNLIKELY(!t)) {
        w->result = -EINVAL;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_wait_node *n = &w->wait;
    uint32_t st = node_load(n);
    if (st == WN_DONE || (st == WN_IDLE && done_word(t))) goto ready;
    spin_lock(&t->lock);
    st = node_state_locked(n);
    if (st == WN_DONE || done_word(t)) {
        if (st == WN_QUEUED) weft__list_remove(&n->link);
        spin_unlock(&t->lock);
        goto ready;
    }
    weft_waker old = node_park_locked(&t->waiters, n, cx);
    spin_unlock(&t->lock);
    waker_release(old);
    return WEFT_PENDING;
ready:
    node_set(n, WN_IDLE);
    waker_release(weft_waker_take(&n->waker));
    w->result = 0;
    return WEFT_READY;
}

static void wait_drop(weft_future *f) {
    weft_task_tracker_wait *w = (weft_task_tracker_wait *)f;
    if (w->tracker) node_cancel(&w->tracker->lock, &w->wait);
}

static const weft_future_vtable wait_vtable = {wait_poll, wait_drop, "weft_task_tracker_wait"};

weft_future *weft_task_tracker_wait_init(weft_task_tracker_wait *f, weft_task_tracker *t) {
    weft_future_init(&f->base, &wait_vtable);
    f->tracker = t;
    node_init(&f->wait);
    f->result = 0;
    return &f->base;
}
