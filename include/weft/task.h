/*
 * weft/task.h — spawning futures as tasks, and join handles.
 *
 * A task is a future moved into one allocation together with its header
 * (state word, reference count, queue links). The output stays in place
 * until the join handle copies it out.
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <errno.h>

#include "future.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_runtime;
typedef struct weft_task weft_task;

/**
 * A join handle is itself a future: it is ready when the task finished,
 * with `result` 0 and the task's output copied to `out` (if `out` is not
 * NULL), or with `result` -ECANCELED if the task was aborted (or the runtime
 * shut down) before it completed. `result` is -ENOMEM or -ESHUTDOWN if the
 * spawn itself failed (then nothing runs).
 *
 * Dropping the handle (weft_future_drop, or weft_join_handle_detach) detaches
 * the task: it runs on and its output is discarded.
 */
typedef struct weft_join_handle {
    weft_future base;
    weft_task *task; /* NULL once detached, finished, or if the spawn failed */
    void *out;       /**< where the task's output is copied when ready; may be NULL */
    int result;      /**< after ready: 0, -ECANCELED, -ENOMEM, -ESHUTDOWN (or -WEFT_ENOTHREAD: spawn_blocking) */
} weft_join_handle;

/**
 * Spawns `size` bytes of future at `future` (moved: the caller must not use
 * or drop its copy afterwards; it must never have been polled) onto `rt`.
 * When it completes, `out_size` bytes at `out_offset` within the future
 * are its output. Returns the join handle; the task is scheduled at once.
 * One allocation per task. Any thread, including threads outside the
 * runtime. If the runtime is shutting down the future is dropped and the
 * handle is ready with -ESHUTDOWN; if memory runs out, with -ENOMEM.
 */
WEFT_API weft_join_handle weft_spawn_raw(struct weft_runtime *rt, void *future, size_t size,
                                         size_t out_offset, size_t out_size);

/**
 * Spawns the future `*fut` (a struct starting with weft_future) whose output
 * is its member `field`; the handle copies the output to `dst` (may be NULL).
 *     self->h = WEFT_SPAWN(cx->runtime, &dish, out, &self->dish1);
 */
#define WEFT_SPAWN(rt, fut, field, dst)                                                       \
    weft__join_handle_with_out(                                                              \
        weft_spawn_raw((rt), (fut), sizeof(*(fut)), offsetof(__typeof__(*(fut)), field),     \
                       sizeof((fut)->field)),                                                \
        (dst))

/** Spawns `*fut`, discarding its output. */
#define WEFT_SPAWN_DETACHED(rt, fut) \
    weft_join_handle_detach_value(weft_spawn_raw((rt), (fut), sizeof(*(fut)), 0, 0))

static inline weft_join_handle weft__join_handle_with_out(weft_join_handle h, void *dst) {
    h.out = dst;
    return h;
}

/** A function for the blocking pool: runs to completion, may block. */
typedef void *(*weft_blocking_fn)(void *arg);

/**
 * Runs `fn(arg)` on the runtime's blocking pool, a set of threads apart
 * from the ones that poll tasks (at most `max_blocking` of them, 512 by
 * default; started on demand, reused, retired after 10 s idle). The join
 * handle is an ordinary future whose output is fn's `void *` result
 * (copied to `out` if set; see WEFT_SPAWN_BLOCKING). Aborting the handle
 * cancels the call only if it has not started; a running call is never
 * interrupted.
 *
 * Ownership of `arg`: if `fn` runs, `arg` is fn's. If `fn` never runs (the
 * handle was aborted before it started, the runtime shut down with the
 * call still queued, or the spawn failed), `arg_drop(arg)` runs instead,
 * exactly once, on whichever thread cancels it; `arg_drop` may be NULL
 * (nothing to release). `arg_drop` runs if and only if `fn` does not.
 *
 * Errors (the handle's `result`, the handle ready at once): -ESHUTDOWN if
 * the runtime is shutting down, -ENOMEM, -WEFT_ENOTHREAD if the pool has no
 * thread and cannot start one; -ECANCELED after an abort. Any thread. No
 * allocation besides the task's one (and a pool thread's when one starts).
 */
WEFT_API weft_join_handle weft_spawn_blocking(struct weft_runtime *rt, weft_blocking_fn fn, void *arg,
                                              weft_drop_fn arg_drop);

/** weft_spawn_blocking with the result copied to `dst` (a `void **`). */
#define WEFT_SPAWN_BLOCKING(rt, fn, arg, arg_drop, dst) \
    weft__join_handle_with_out(weft_spawn_blocking((rt), (fn), (arg), (arg_drop)), (dst))

/**
 * Requests cancellation of the task. If it has not completed, its future
 * is dropped on its runtime (at once if idle, after the current poll if it
 * is running) and the handle becomes ready with -ECANCELED. Aborting a
 * completed task does nothing. Any thread; idempotent.
 */
WEFT_API void weft_join_handle_abort(weft_join_handle *h);

/** Detaches the task (same as dropping the handle). Any thread. */
WEFT_API void weft_join_handle_detach(weft_join_handle *h);

/** Detaches the task of a handle passed by value. */
WEFT_API void weft_join_handle_detach_value(weft_join_handle h);

/** True if the task has completed (or was cancelled). Any thread. */
WEFT_API bool weft_join_handle_is_finished(const weft_join_handle *h);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TASK_H */
