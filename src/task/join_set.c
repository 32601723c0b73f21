/*
 * JoinSet, built on the public task API only (weft_spawn_raw, join handles,
 * weft_join_handle_abort).
 *
 * Each spawned future is moved into a wrapper future (the wrapper header,
 * then the user's future at a 16-byte aligned offset, all in the task's one
 * allocation). The wrapper polls the inner future; when it completes, or
 * when it is dropped (abort, runtime shutdown), the wrapper moves its slot
 * from the set's running list to its completion list and wakes the task
 * waiting in join_next. join_next pops the oldest completed slot and polls
 * its join handle, which copies the output out (and reports -ECANCELED for
 * an aborted task). The handle is normally complete by then; if it is not
 * (the wrapper runs on another worker that has not finished the task's
 * bookkeeping yet), the join_next keeps the slot and the handle's own
 * waker wakes it.
 *
 * Slots are owned by the set and recycled; the set itself is reference
 * counted (the user's reference plus one per live wrapper), so a task that
 * completes after weft_join_set_destroy still finds its slot.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"
#include "util/list.h"
#include "weft/join_set.h"

enum slot_where {
    SLOT_FREE,
    SLOT_SPAWNING, /* being spawned: the handle is not stored yet */
    SLOT_RUNNING,  /* in `running` */
    SLOT_DONE,     /* in `done`: the wrapper finished */
    SLOT_TAKEN,    /* held by a pending join_next */
    SLOT_ORPHAN,   /* detached or destroyed: recycled when its wrapper finishes */
};

typedef struct weft_join_set_slot {
    weft_link link;                         /* in `running` or `done` */
    struct weft_join_set_slot *all_next;    /* every slot ever allocated */
    struct weft_join_set_slot *free_next;
    weft_join_handle h;
    uint64_t id;
    uint8_t where;
    bool finished_early; /* the wrapper finished while SPAWNING */
    bool abort_early;    /* abort_all came while SPAWNING */
} slot_t;

struct weft_join_set {
    pthread_mutex_t lock;
    uint32_t refs; /* atomic: the user + one per live wrapper */
    bool destroyed;
    weft_runtime *rt;
    size_t out_size;
    weft_drop_fn out_drop; /* for outputs nobody joins */
    uint64_t next_id;
    size_t len; /* spawning + running + done + taken */
    weft_link running, done;
    slot_t *free_slots, *all;
    weft_waker waker; /* the pending join_next's */
};

#define slot_of(l) weft__container_of(l, slot_t, link)

static void recycle(weft_join_set *js, slot_t *s) {
    s->where = SLOT_FREE;
    s->free_next = js->free_slots;
    js->free_slots = s;
}

/* ---- the set's lifetime ------------------------------------------------------ */

static void js_unref(weft_join_set *js) {
    if (__atomic_sub_fetch(&js->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (slot_t *s = js->all, *next; s; s = next) {
        next = s->all_next;
        free(s);
    }
    weft_waker_drop(js->waker);
    pthread_mutex_destroy(&js->lock);
    weft_runtime_unref(js->rt);
    free(js);
}

int weft_join_set_create(weft_join_set **out, weft_runtime *rt, size_t out_size,
                         weft_drop_fn out_drop) {
    *out = NULL;
    if (!rt) return -EINVAL;
    weft_join_set *js = calloc(1, sizeof *js);
    if (!js) return -ENOMEM;
    pthread_mutex_init(&js->lock, NULL);
    js->refs = 1;
    js->rt = weft_runtime_ref(rt); /* spawning into the set stays safe after the runtime is destroyed */
    js->out_size = out_size;
    js->out_drop = out_drop;
    weft__list_init(&js->running);
    weft__list_init(&js->done);
    js->waker = WEFT_WAKER_NONE;
    *out = js;
    return 0;
}

/* Detaches every handle; running tasks become orphans (aborted first if
 * `abort`). Lock held. */
static void release_all_locked(weft_join_set *js, bool abort) {
    weft_link *l;
    while ((l = weft__list_pop_front(&js->running))) {
        slot_t *s = slot_of(l);
        if (abort) weft_join_handle_abort(&s->h);
        weft_join_handle_detach(&s->h);
        s->where = SLOT_ORPHAN;
    }
    while ((l = weft__list_pop_front(&js->done))) {
        slot_t *s = slot_of(l);
        weft_join_handle_detach(&s->h);
        recycle(js, s);
    }
    js->len = 0;
}

void weft_join_set_destroy(weft_join_set *js) {
    if (!js) return;
    pthread_mutex_lock(&js->lock);
    js->destroyed = true;
    release_all_locked(js, true);
    weft_waker w = weft_waker_take(&js->waker);
    pthread_mutex_unlock(&js->lock);
    weft_waker_drop(w);
    js_unref(js);
}

void weft_join_set_detach_all(weft_join_set *js) {
    pthread_mutex_lock(&js->lock);
    release_all_locked(js, false);
    pthread_mutex_unlock(&js->lock);
}

void weft_join_set_abort_all(weft_join_set *js) {
    pthread_mutex_lock(&js->lock);
    weft__list_for_each_safe(l, next, &js->running) weft_join_handle_abort(&slot_of(l)->h);
    /* Slots still being spawned are aborted by their spawner. */
    for (slot_t *s = js->all; s; s = s->all_next)
        if (s->where == SLOT_SPAWNING) s->abort_early = true;
    pthread_mutex_unlock(&js->lock);
}

size_t weft_join_set_len(weft_join_set *js) {
    pthread_mutex_lock(&js->lock);
    size_t n = js->len;
    pthread_mutex_unlock(&js->lock);
    return n;
}

/* ---- the wrapper future ------------------------------------------------------- */

typedef struct js_wrapper {
    weft_future base;
    weft_join_set *js;
    slot_t *slot;
} js_wrapper;

#define WRAPPER_HDR ((sizeof(js_wrapper) + 15) & ~(size_t)15)

static weft_future *wrapper_inner(js_wrapper *w) { return (weft_future *)((char *)w + WRAPPER_HDR); }

/* The wrapped future finished or was dropped: report the slot. */
static void wrapper_finish(js_wrapper *w) {
    weft_join_set *js = w->js;
    slot_t *s = w->slot;
    weft_waker wake = WEFT_WAKER_NONE;
    pthread_mutex_lock(&js->lock);
    switch (s->where) {
    case SLOT_SPAWNING: s->finished_early = true; break;
    case SLOT_RUNNING:
        weft__list_remove(&s->link);
        s->where = SLOT_DONE;
        weft__list_push_back(&js->done, &s->link);
        wake = weft_waker_take(&js->waker);
        break;
    case SLOT_ORPHAN: recycle(js, s); break;
    default: break;
    }
    pthread_mutex_unlock(&js->lock);
    weft_waker_wake(wake);
    js_unref(js);
}

static weft_poll wrapper_poll(weft_future *f, weft_context *cx) {
    js_wrapper *w = (js_wrapper *)f;
    if (weft_future_poll(wrapper_inner(w), cx) == WEFT_PENDING) return WEFT_PENDING;
    wrapper_finish(w);
    return WEFT_READY;
}

static void wrapper_drop(weft_future *f) {
    js_wrapper *w = (js_wrapper *)f;
    weft_future_drop(wrapper_inner(w));
    wrapper_finish(w);
}

static const weft_future_vtable wrapper_vtable = {wrapper_poll, wrapper_drop, "weft_join_set_task"};

int64_t weft_join_set_spawn_raw(weft_join_set *js, void *future, size_t size, size_t out_offset,
                               size_t out_size) {
    weft_future *inner = future;
    if (inner->state != WEFT_FUTURE_FRESH) weft__misuse(inner, "spawned after it was polled");
    if (out_size > js->out_size || out_offset + out_size > size) {
        weft_future_drop(inner);
        return -EINVAL;
    }
    pthread_mutex_lock(&js->lock);
    slot_t *s = js->free_slots;
    if (s) js->free_slots = s->free_next;
    pthread_mutex_unlock(&js->lock);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            weft_future_drop(inner);
            return -ENOMEM;
        }
        pthread_mutex_lock(&js->lock);
        s->all_next = js->all;
        js->all = s;
        pthread_mutex_unlock(&js->lock);
    }

    /* Build the wrapper with the inner future behind it (moved: allowed
     * before the first poll), then move the whole into the task. */
    size_t total = WRAPPER_HDR + size;
    alignas(16) unsigned char stack_buf[1024];
    unsigned char *buf = total <= sizeof stack_buf ? stack_buf : aligned_alloc(16, (total + 15) & ~(size_t)15);
    if (!buf) {
        weft_future_drop(inner);
        pthread_mutex_lock(&js->lock);
        recycle(js, s);
        pthread_mutex_unlock(&js->lock);
        return -ENOMEM;
    }
    js_wrapper *w = (js_wrapper *)buf;
    weft_future_init(&w->base, &wrapper_vtable);
    w->js = js;
    w->slot = s;
    memcpy(buf + WRAPPER_HDR, future, size);
    __atomic_add_fetch(&js->refs, 1, __ATOMIC_RELAXED);

    pthread_mutex_lock(&js->lock);
    uint64_t id = ++js->next_id;
    s->id = id;
    s->where = SLOT_SPAWNING;
    s->finished_early = s->abort_early = false;
    js->len++;
    pthread_mutex_unlock(&js->lock);

    weft_join_handle h = weft_spawn_raw(js->rt, buf, total, WRAPPER_HDR + out_offset, out_size, js->out_drop);
    if (buf != stack_buf) free(buf);

    weft_waker wake = WEFT_WAKER_NONE;
    int64_t rc = (int64_t)id;
    pthread_mutex_lock(&js->lock);
    if (!h.task && h.result != 0) { /* the spawn failed; the wrapper was dropped */
        js->len--;
        recycle(js, s);
        rc = h.result;
    } else {
        s->h = h;
        if (s->abort_early) weft_join_handle_abort(&s->h);
        if (js->destroyed) { /* destroyed meanwhile (a misuse, handled anyway) */
            weft_join_handle_abort(&s->h);
            weft_join_handle_detach(&s->h);
            js->len--;
            if (s->finished_early) recycle(js, s);
            else s->where = SLOT_ORPHAN;
        } else if (s->finished_early) {
            s->where = SLOT_DONE;
            weft__list_push_back(&js->done, &s->link);
            wake = weft_waker_take(&js->waker);
        } else {
            s->where = SLOT_RUNNING;
            weft__list_push_back(&js->running, &s->link);
        }
    }
    pthread_mutex_unlock(&js->lock);
    weft_waker_wake(wake);
    return rc;
}

/* ---- joining ---------------------------------------------------------------- */

/* Polls the handle of a taken slot (lock held). Ready: fills result/id,
 * recycles the slot. */
static weft_poll take_result(weft_join_set *js, slot_t *s, void *out, weft_context *cx, int *result,
                             uint64_t *id) {
    s->h.out = out;
    if (weft_future_poll(&s->h.base, cx) == WEFT_PENDING) return WEFT_PENDING;
    *result = s->h.result;
    if (id) *id = s->id;
    js->len--;
    recycle(js, s);
    return WEFT_READY;
}

static weft_poll next_poll(weft_future *f, weft_context *cx) {
    weft_join_set_next *n = (weft_join_set_next *)f;
    weft_join_set *js = n->js;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_waker old = WEFT_WAKER_NONE;
    pthread_mutex_lock(&js->lock);
    if (!n->cur) {
        slot_t *s = weft__list_empty(&js->done) ? NULL : slot_of(js->done.next);
        if (!s) {
            if (js->len == 0) {
                old = weft_waker_take(&js->waker);
                pthread_mutex_unlock(&js->lock);
                weft_waker_drop(old);
                n->result = -WEFT_EEMPTY;
                return WEFT_READY;
            }
            old = weft_waker_replace(&js->waker, &cx->waker);
            pthread_mutex_unlock(&js->lock);
            weft_waker_drop(old);
            return WEFT_PENDING;
        }
        weft__list_remove(&s->link);
        s->where = SLOT_TAKEN;
        n->cur = s;
    }
    /* Give the handle a full budget unit of its own: this poll already paid. */
    cx->budget++;
    if (take_result(js, n->cur, n->out, cx, &n->result, &n->id) == WEFT_PENDING) {
        pthread_mutex_unlock(&js->lock);
        return WEFT_PENDING;
    }
    n->cur = NULL;
    old = weft_waker_take(&js->waker);
    pthread_mutex_unlock(&js->lock);
    weft_waker_drop(old);
    return WEFT_READY;
}

static void next_drop(weft_future *f) {
    weft_join_set_next *n = (weft_join_set_next *)f;
    weft_join_set *js = n->js;
    pthread_mutex_lock(&js->lock);
    if (n->cur) { /* give the finished task back, first in line */
        n->cur->where = SLOT_DONE;
        weft__list_push_front(&js->done, &n->cur->link);
        n->cur = NULL;
    }
    weft_waker w = weft_waker_take(&js->waker);
    pthread_mutex_unlock(&js->lock);
    weft_waker_drop(w);
}

static const weft_future_vtable next_vtable = {next_poll, next_drop, "weft_join_set_next"};

weft_future *weft_join_set_join_next_init(weft_join_set_next *f, weft_join_set *js, void *out) {
    weft_future_init(&f->base, &next_vtable);
    f->js = js;
    f->out = out;
    f->cur = NULL;
    f->result = 0;
    f->id = 0;
    return &f->base;
}

int weft_join_set_try_join_next(weft_join_set *js, void *out, uint64_t *id) {
    int rc;
    pthread_mutex_lock(&js->lock);
    slot_t *s = weft__list_empty(&js->done) ? NULL : slot_of(js->done.next);
    if (!s) {
        rc = js->len == 0 ? -WEFT_EEMPTY : -EAGAIN;
    } else {
        weft__list_remove(&s->link);
        weft_context cx = weft_context_make(weft_waker_noop());
        if (take_result(js, s, out, &cx, &rc, id) == WEFT_PENDING) {
            /* Not complete yet (another worker is finishing it). The
             * handle keeps the noop waker; the next poll replaces it. */
            weft__list_push_front(&js->done, &s->link);
            rc = -EAGAIN;
        }
    }
    pthread_mutex_unlock(&js->lock);
    return rc;
}
