/* spawn_blocking: a task whose future calls the function once, queued on
 * the blocking pool instead of a run queue. It never registers a waker, so
 * nothing ever schedules it anywhere else; an abort before it starts is
 * seen by its poller (transition_to_running: CANCELLED). */
#include <errno.h>
#include <stddef.h>

#include "runtime/rt.h"
#include "sched/blocking.h"

typedef struct blocking_call {
    weft_future base;
    weft_blocking_fn fn;
    void *arg;
    void *out;
} blocking_call;

static weft_poll blocking_call_poll(weft_future *f, weft_context *cx) {
    (void)cx;
    blocking_call *c = (blocking_call *)f;
    c->out = c->fn(c->arg);
    return WEFT_READY;
}

static const weft_future_vtable blocking_call_vtable = {blocking_call_poll, NULL, "weft_spawn_blocking"};

weft_join_handle weft_spawn_blocking(weft_runtime *rt, weft_blocking_fn fn, void *arg) {
    blocking_call c = {WEFT_FUTURE_INIT(&blocking_call_vtable), fn, arg, NULL};
    weft_join_handle h;
    weft_task *t = weft__task_create(rt, &c, sizeof c, offsetof(blocking_call, out), sizeof(void *), &h);
    if (!t) return h;
    int err = blocking_pool_submit(rt, t);
    if (err) {
        /* Nobody will run it: cancel it here (completing it consumes the
         * queue reference we hold), so the handle reports -ECANCELED. */
        if (transition_to_shutdown(&t->state)) weft__task_shutdown(t);
    }
    return h;
}
