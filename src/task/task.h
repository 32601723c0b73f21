/*
 * The task cell: header and future in one allocation, and the harness that
 * polls, completes, cancels and frees it. Every scheduler flavour uses these
 * same functions; they differ only in where `schedule` puts a task.
 */
#ifndef WEFT_TASK_TASK_H
#define WEFT_TASK_TASK_H

#include <stdalign.h>

#include "task/state.h"
#include "weft/detail/list.h"
#include "weft/task.h"

/*
 * The task header. Which thread may touch which field:
 *
 *   state        any thread, atomically (task/state.h)
 *   queue_next   whoever holds the task's "notified" reference: the queue
 *                it sits in (under that queue's lock or ownership), or
 *                the thread that popped it
 *   owned        the runtime's owned-list shard, under its lock
 *   rt, out_offset, out_size, flags (TASK_HAS_OUT_DROP)
 *                written once by spawn, read-only afterwards
 *   future[]     the thread that set RUNNING (the poller, or the canceller
 *                at shutdown / abort), and after COMPLETE the join handle
 *                (reading the output) and the last reference (dealloc)
 *   result       written by the thread that completes the task, before
 *                COMPLETE is published; read after COMPLETE is seen
 *   join_waker   as JOIN_WAKER says (task/state.h): the join handle while
 *                the bit is clear, the task side while it is set
 *   flags (TASK_OUTPUT_TAKEN)
 *                written by the join handle after COMPLETE, read at
 *                dealloc (ordered by the reference count)
 *   pin          written by the task's own poll (a fiber that started),
 *                read by the schedulers when they queue or take it
 */
enum {
    TASK_HAS_OUT_DROP = 1u << 0,  /* an output destructor sits in the allocation's prefix */
    TASK_OUTPUT_TAKEN = 1u << 1,  /* the join handle copied the output out */
};

struct weft_task {
    weft_state state;
    struct weft_task *queue_next;                 /* run / inject queue link */
    weft_link owned;                              /* in the runtime's owned-task list */
    struct weft_runtime *rt;
    weft_waker join_waker;                        /* owned by the side JOIN_WAKER says */
    uint32_t out_offset, out_size;
    int32_t result;                               /* 0, or -ECANCELED */
    uint32_t flags;                               /* TASK_* */
    /* The worker the task must run on (its index + 1), or 0: any. Set by
     * the task's own poll (a fiber that started), read by schedulers. */
    _Atomic uint32_t pin;
    alignas(16) unsigned char future[];           /* the future, moved in by spawn */
};

static inline weft_future *task_future(weft_task *t) { return (weft_future *)t->future; }

/* A task with an output destructor is allocated with a 16-byte prefix
 * that holds it, so that a task without one pays nothing for it. */
#define WEFT__TASK_PREFIX 16
static inline weft_drop_fn *weft__task_out_drop(weft_task *t) { return &((weft_drop_fn *)t)[-1]; }

/* Allocates a task for the future (moved in) and lists it in the runtime's
 * owned tasks, without scheduling it. Returns the task (notified, with the
 * queue's reference for the caller to hand to a queue) and sets *h to its
 * join handle; or returns NULL with *h ready with -ESHUTDOWN / -ENOMEM. */
weft_task *weft__task_create(struct weft_runtime *rt, void *future, size_t size,
                             size_t out_offset, size_t out_size, weft_drop_fn out_drop,
                             weft_join_handle *h);

/* A join handle that is ready with `err` and knows no task (a failed spawn). */
weft_join_handle weft__join_handle_failed(int err);

/* Polls the task once; consumes the queue's reference (the caller popped it
 * from a run queue). Sets the thread's "current task" for the poll. */
void weft__task_run(weft_task *t);

/* The task being polled on this thread (NULL outside a task's poll). */
extern _Thread_local weft_task *weft__tls_task;

/* Keeps the task being polled on this thread's worker from now on (a
 * fiber started in it: its thread-local addresses are this thread's).
 * Does nothing outside a task or on a scheduler with one thread. */
void weft__task_pin_running(void);

/* Cancels a task the caller owns (weft__transition_to_shutdown returned true):
 * drops the future, completes the task with -ECANCELED. */
void weft__task_shutdown(weft_task *t);



/* Drops one reference (a waker's or a handle's); frees the task at zero. */
void weft__task_drop_ref(weft_task *t);

/* Drops the queue's reference of a task that will never be polled (queues
 * drained at shutdown, a push to a closed queue). */
static inline void weft__task_drop_notified(weft_task *t) { weft__task_drop_ref(t); }

/* Frees a task whose reference count reached zero (destroying an output
 * nobody took) and drops its runtime reference. */
void weft__task_dealloc(weft_task *t);

/* Frees the task's memory only. */
void weft__task_free(weft_task *t);

/* The waker of task `t` (borrowed: no reference taken). */
weft_waker weft__task_waker_ref(weft_task *t);

#endif
