/* spawn_blocking: a task whose future calls the function once, queued on
 * the blocking pool instead of a run queue. It never registers a waker, so
 * nothing ever schedules it anywhere else; an abort before it starts is
 * seen by its poller (weft__transition_to_running: CANCELLED). */
#include <errno.h>
#include <stddef.h>

#include "runtime/rt.h"
#include "sched/blocking_pool.h"

typedef struct blocking_call {
    weft_future base;
    weft_blocking_fn fn;
    void *arg;
    void (*cancel)(void *arg); /* called instead of fn if cancelled before it starts */
    void *out;
} blocking_call;

static weft_poll blocking_call_poll(weft_future *f, weft_context *cx) {
    (void)cx;
    blocking_call *c = (blocking_call *)f;
    c->out = c->fn(c->arg);
    return WEFT_READY;
}

static void blocking_call_drop(weft_future *f) {
    blocking_call *c = (blocking_call *)f;
    if (c->cancel) c->cancel(c->arg);
}

static const weft_future_vtable blocking_call_vtable = {blocking_call_poll, blocking_call_drop,
                                                        "weft_spawn_blocking"};

static weft_join_handle spawn_call(weft_runtime *rt, blocking_call *c) {
    weft_join_handle h;
    weft_task *t = weft__task_create(rt, c, sizeof *c, offsetof(blocking_call, out), sizeof(void *), NULL, &h);
    if (!t) return h;
    if (weft__blocking_pool_submit(rt, t) != 0) {
        /* Nobody will run it: cancel it here (completing it consumes the
         * queue reference we hold), so the handle reports -ECANCELED. */
        if (weft__transition_to_shutdown(&t->state)) weft__task_shutdown(t);
    }
    return h;
}

weft_join_handle weft_spawn_blocking(weft_runtime *rt, weft_blocking_fn fn, void *arg) {
    blocking_call c = {WEFT_FUTURE_INIT(&blocking_call_vtable), fn, arg, NULL, NULL};
    return spawn_call(rt, &c);
}

int weft__blocking_detached(weft_runtime *rt, weft_blocking_fn fn, void (*cancel)(void *arg),
                            void *arg) {
    blocking_call c = {WEFT_FUTURE_INIT(&blocking_call_vtable), fn, arg, cancel, NULL};
    weft_join_handle h = spawn_call(rt, &c);
    /* A failed spawn dropped the call (and ran `cancel`): report why. */
    int err = h.task ? 0 : h.result;
    weft_join_handle_detach(&h);
    return err;
}
