/* The harness: poll a task, complete it, cancel it, free it. These are the
 * only places that move a task through RUNNING and COMPLETE. */
#include <errno.h>
#include <stdlib.h>

#include "runtime/rt.h"
#include "task/task.h"

void weft__task_dealloc(weft_task *t) {
    weft_runtime *rt = t->rt;
    /* An output nobody took (a detached handle, a join without `out`, a
     * runtime shut down before the join) is destroyed here, once. */
    if ((t->flags & (TASK_HAS_OUT_DROP | TASK_OUTPUT_TAKEN)) == TASK_HAS_OUT_DROP && t->result == 0)
        (*weft__task_out_drop(t))(t->future + t->out_offset);
    weft__task_free(t);
    weft__runtime_unref(rt);
}

/* Publishes the result and tells the join handle; releases the owned-list
 * reference (if this call unlisted the task) and the running reference.
 * The task leaves the owned list (and is counted) before COMPLETE is
 * published, so whoever sees it complete sees it counted. */
static void complete(weft_task *t) {
    weft_runtime *rt = t->rt;
    bool listed = weft__owned_complete(rt, t);
    uint64_t s = weft__transition_to_complete(&t->state);
    if ((s & ST_JOIN_INTEREST) && (s & ST_JOIN_WAKER)) {
        weft_waker_wake_by_ref(&t->join_waker);
        uint64_t after = weft__unset_waker_after_complete(&t->state);
        /* The handle was dropped while we woke it: the waker is ours to drop. */
        if (!(after & ST_JOIN_INTEREST)) weft_waker_drop(weft_waker_take(&t->join_waker));
    }
    if (weft__transition_to_terminal(&t->state, listed ? 2 : 1)) weft__task_dealloc(t);
}

static void cancel_and_complete(weft_task *t) {
    weft_future_drop(task_future(t));
    t->result = -ECANCELED;
    complete(t);
}

_Thread_local weft_task *weft__tls_task;

void weft__task_pin_running(void) {
    weft_task *t = weft__tls_task;
    if (t && t->rt->ops->pin) t->rt->ops->pin(t->rt, t);
}

void weft__task_run(weft_task *t) {
    switch (weft__transition_to_running(&t->state)) {
    case TR_RUN_SUCCESS: break;
    case TR_RUN_CANCELLED: cancel_and_complete(t); return;
    case TR_RUN_FAILED: return;
    case TR_RUN_DEALLOC: weft__task_dealloc(t); return;
    }
    weft_runtime *rt = t->rt;
    weft_context cx = {weft__task_waker_ref(t), rt, WEFT_COOP_BUDGET};
    weft__tls_task = t;
    weft_poll r = weft_future_poll(task_future(t), &cx);
    weft__tls_task = NULL;
    if (r == WEFT_READY) {
        t->result = 0;
        complete(t);
        return;
    }
    switch (weft__transition_to_idle(&t->state)) {
    case TR_IDLE_OK: return;
    case TR_IDLE_OK_NOTIFIED: rt->ops->schedule(rt, t, true); return;
    case TR_IDLE_OK_DEALLOC: weft__task_dealloc(t); return;
    case TR_IDLE_CANCELLED: cancel_and_complete(t); return;
    }
}

void weft__task_shutdown(weft_task *t) { cancel_and_complete(t); }

void weft__task_drop_ref(weft_task *t) {
    if (weft__ref_dec(&t->state)) weft__task_dealloc(t);
}
