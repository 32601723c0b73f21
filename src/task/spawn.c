/* spawn: one allocation holds the task header and the moved future. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"
#include "task/task.h"

extern const weft_future_vtable weft__join_handle_vtable;

static weft_join_handle failed_handle(weft_future *fut, int err) {
    weft_future_drop(fut);
    weft_join_handle h = {WEFT_FUTURE_INIT(&weft__join_handle_vtable), NULL, NULL, err};
    return h;
}

weft_task *weft__task_create(weft_runtime *rt, void *future, size_t size, size_t out_offset,
                             size_t out_size, weft_join_handle *h) {
    weft_future *fut = future;
    if (fut->state != WEFT_FUTURE_FRESH) weft__misuse(fut, "spawned after it was polled");
    if (out_offset + out_size > size || size < sizeof(weft_future))
        weft__misuse(fut, "spawned with an output outside the future");
    if (atomic_load_explicit(&rt->shutting_down, memory_order_acquire)) {
        *h = failed_handle(fut, -ESHUTDOWN);
        return NULL;
    }
    weft_task *t = malloc(sizeof(weft_task) + size);
    if (!t) {
        *h = failed_handle(fut, -ENOMEM);
        return NULL;
    }
    atomic_init(&t->state, ST_INITIAL);
    t->queue_next = NULL;
    t->rt = rt;
    t->join_waker = WEFT_WAKER_NONE;
    t->out_offset = (uint32_t)out_offset;
    t->out_size = (uint32_t)out_size;
    t->result = 0;
    memcpy(t->future, future, size);

    weft__runtime_ref(rt);
    if (!weft__owned_insert(rt, t)) {
        weft_future_drop(task_future(t));
        free(t);
        weft__runtime_unref(rt);
        *h = (weft_join_handle){WEFT_FUTURE_INIT(&weft__join_handle_vtable), NULL, NULL, -ESHUTDOWN};
        return NULL;
    }
    *h = (weft_join_handle){WEFT_FUTURE_INIT(&weft__join_handle_vtable), t, NULL, 0};
    return t;
}

weft_join_handle weft_spawn_raw(weft_runtime *rt, void *future, size_t size, size_t out_offset,
                                size_t out_size) {
    weft_join_handle h;
    weft_task *t = weft__task_create(rt, future, size, out_offset, out_size, &h);
    if (t) rt->ops->schedule(rt, t, false);
    return h;
}
