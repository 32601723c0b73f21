/* Task wakers: {vtable, task pointer}. Each owned waker holds one task
 * reference; waking moves the task to a run queue at most once until it is
 * polled again (the NOTIFIED bit), so wakes are idempotent and never lost. */
#include "runtime/rt.h"
#include "task/task.h"

static const weft_waker_vtable task_waker_vtable;

static void schedule(weft_task *t) { t->rt->ops->schedule(t->rt, t, false); }

static weft_waker task_clone(void *p) {
    weft__ref_inc(&((weft_task *)p)->state);
    return (weft_waker){&task_waker_vtable, p};
}

static void task_wake(void *p) {
    weft_task *t = p;
    switch (weft__transition_to_notified_by_val(&t->state)) {
    case TR_WAKE_SUBMIT: schedule(t); break;
    case TR_WAKE_DEALLOC: weft__task_dealloc(t); break;
    case TR_WAKE_DO_NOTHING: break;
    }
}

static void task_wake_by_ref(void *p) {
    weft_task *t = p;
    if (weft__transition_to_notified_by_ref(&t->state) == TR_WAKE_SUBMIT) schedule(t);
}

static void task_drop(void *p) { weft__task_drop_ref((weft_task *)p); }

static const weft_waker_vtable task_waker_vtable = {task_clone, task_wake, task_wake_by_ref,
                                                    task_drop};

weft_waker weft__task_waker_ref(weft_task *t) { return (weft_waker){&task_waker_vtable, t}; }
