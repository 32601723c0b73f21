/* spawn: one allocation holds the task header and the moved future. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"
#include "task/task.h"

extern const weft_future_vtable weft__join_handle_vtable;

weft_join_handle weft__join_handle_failed(int err) {
    weft_join_handle h = {WEFT_FUTURE_INIT(&weft__join_handle_vtable), NULL, NULL, err,
                          WEFT_JOIN_FAILED};
    return h;
}

static weft_task *task_alloc(size_t size, weft_drop_fn out_drop) {
    if (!out_drop) return malloc(sizeof(weft_task) + size);
    unsigned char *base = malloc(WEFT__TASK_PREFIX + sizeof(weft_task) + size);
    if (!base) return NULL;
    weft_task *t = (weft_task *)(base + WEFT__TASK_PREFIX);
    *weft__task_out_drop(t) = out_drop;
    return t;
}

void weft__task_free(weft_task *t) {
    if (t->flags & TASK_HAS_OUT_DROP) free((unsigned char *)t - WEFT__TASK_PREFIX);
    else free(t);
}

weft_task *weft__task_create(weft_runtime *rt, void *future, size_t size, size_t out_offset,
                             size_t out_size, weft_drop_fn out_drop, weft_join_handle *h) {
    weft_future *fut = future;
    if (fut->state != WEFT_FUTURE_FRESH) weft__misuse(fut, "spawned after it was polled");
    if (out_offset + out_size > size || size < sizeof(weft_future) || out_size > UINT32_MAX)
        weft__misuse(fut, "spawned with an output outside the future");
    if (atomic_load_explicit(&rt->shutting_down, memory_order_acquire)) {
        weft_future_drop(fut);
        *h = weft__join_handle_failed(-ESHUTDOWN);
        return NULL;
    }
    weft_task *t = task_alloc(size, out_drop);
    if (!t) {
        weft_future_drop(fut);
        *h = weft__join_handle_failed(-ENOMEM);
        return NULL;
    }
    atomic_init(&t->state, ST_INITIAL);
    t->queue_next = NULL;
    t->rt = rt;
    t->join_waker = WEFT_WAKER_NONE;
    t->out_offset = (uint32_t)out_offset;
    t->out_size = (uint32_t)out_size;
    t->result = 0;
    t->flags = out_drop ? TASK_HAS_OUT_DROP : 0;
    atomic_init(&t->pin, 0);
    memcpy(t->future, future, size);

    weft__runtime_ref(rt);
    if (!weft__owned_insert(rt, t)) {
        weft_future_drop(task_future(t));
        weft__task_free(t);
        weft__runtime_unref(rt);
        *h = weft__join_handle_failed(-ESHUTDOWN);
        return NULL;
    }
    *h = (weft_join_handle){WEFT_FUTURE_INIT(&weft__join_handle_vtable), t, NULL, 0, WEFT_JOIN_LIVE};
    return t;
}

weft_join_handle weft_spawn_raw(weft_runtime *rt, void *future, size_t size, size_t out_offset,
                                size_t out_size, weft_drop_fn out_drop) {
    if (!rt) {
        weft_future_drop((weft_future *)future);
        return weft__join_handle_failed(-EINVAL);
    }
    weft_join_handle h;
    weft_task *t = weft__task_create(rt, future, size, out_offset, out_size, out_drop, &h);
    if (t) rt->ops->schedule(rt, t, false);
    return h;
}
