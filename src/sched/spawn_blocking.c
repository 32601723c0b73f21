/* spawn_blocking: a task whose future calls the function once, queued on
 * the blocking pool instead of a run queue. It never registers a waker, so
 * nothing ever schedules it anywhere else; an abort before it starts is
 * seen by its poller (weft__transition_to_running: CANCELLED), which drops
 * the future: the drop runs arg_drop, since fn never ran. */
#include <errno.h>
#include <stddef.h>

#include "runtime/rt.h"
#include "sched/blocking_pool.h"
#include "weft/error.h"

extern const weft_future_vtable weft__join_handle_vtable;

typedef struct blocking_call {
    weft_future base;
    weft_blocking_fn fn;
    void *arg;
    weft_drop_fn arg_drop; /* run instead of fn if the call never starts */
    void *out;
} blocking_call;

static weft_poll blocking_call_poll(weft_future *f, weft_context *cx) {
    (void)cx;
    blocking_call *c = (blocking_call *)f;
    c->arg_drop = NULL; /* fn owns arg from here on */
    c->out = c->fn(c->arg);
    return WEFT_READY;
}

/* Dropped unpolled (cancelled, or the spawn failed): fn never ran. After
 * the poll the drop is the completed future's and arg_drop is cleared. */
static void blocking_call_drop(weft_future *f) {
    blocking_call *c = (blocking_call *)f;
    if (c->arg_drop) c->arg_drop(c->arg);
}

static const weft_future_vtable blocking_call_vtable = {blocking_call_poll, blocking_call_drop,
                                                        "weft_spawn_blocking"};

weft_join_handle weft_spawn_blocking(weft_runtime *rt, weft_blocking_fn fn, void *arg,
                                     weft_drop_fn arg_drop) {
    blocking_call c = {WEFT_FUTURE_INIT(&blocking_call_vtable), fn, arg, arg_drop, NULL};
    weft_join_handle h;
    weft_task *t = weft__task_create(rt, &c, sizeof c, offsetof(blocking_call, out), sizeof(void *),
                                     NULL, &h);
    if (!t) return h; /* the future was dropped: arg_drop ran */
    int err = weft__blocking_pool_submit(rt, t);
    if (err) {
        /* Nobody will run it: let go of the handle's interest, then cancel
         * the task here (completing it consumes the queue reference we
         * hold; the drop runs arg_drop), and report why on a fresh handle. */
        weft_join_handle_detach(&h);
        if (weft__transition_to_shutdown(&t->state)) weft__task_shutdown(t);
        h = weft__join_handle_failed(err);
    }
    return h;
}

int weft__blocking_detached(weft_runtime *rt, weft_blocking_fn fn, weft_drop_fn cancel, void *arg) {
    weft_join_handle h = weft_spawn_blocking(rt, fn, arg, cancel);
    /* A failed spawn dropped the call (and ran `cancel`): report why. */
    int err = h.task ? 0 : h.result;
    weft_join_handle_detach(&h);
    return err;
}
