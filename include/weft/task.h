/**
 * @file
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

/** @defgroup task Tasks, join handles and abort handles
 * @{ */

struct weft_runtime;
/** A spawned task (opaque; reached through join and abort handles). */
typedef struct weft_task weft_task;

/** What a join handle knows of its task (weft_join_handle.state). */
enum {
    WEFT_JOIN_LIVE = 0,     /**< the task is running or finished, not joined yet */
    WEFT_JOIN_JOINED = 1,   /**< joined: `result` (and the output) were delivered */
    WEFT_JOIN_FAILED = 2,   /**< the spawn failed: `result` says why; nothing ran */
    WEFT_JOIN_DETACHED = 3, /**< dropped or detached: it no longer knows its task */
};

/**
 * A join handle, itself a future: it is ready when the task finished, with
 * `result` 0 and the task's output copied to `out` (if `out` is not NULL),
 * or with `result` -ECANCELED if the task was aborted (or its runtime shut
 * down) before it completed. `result` is -ENOMEM or -ESHUTDOWN if the spawn
 * itself failed (then nothing runs).
 *
 * Awaiting the handle itself consumes it: a combinator that drops it (a
 * select's loser, an expired timeout's inner future) detaches the task,
 * after which the handle can neither abort nor observe it. To wait with a
 * time limit and keep the handle, await it by reference with
 * weft_join_wait_init; to abort the task whatever becomes of the handle,
 * take an abort handle.
 *
 * Dropping the handle (weft_future_drop, or weft_join_handle_detach)
 * detaches the task: it runs on and its output is discarded (and destroyed,
 * if the spawn gave a destructor).
 */
typedef struct weft_join_handle {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_task *task; /**< @private set while the handle is live and the task not joined */
    void *out;       /**< where the task's output is copied when ready; may be NULL */
    int result;      /**< after ready: 0, -ECANCELED, -ENOMEM, -ESHUTDOWN (or -WEFT_ENOTHREAD: spawn_blocking) */
    int state;       /**< WEFT_JOIN_*: read it, never write it */
} weft_join_handle;

/**
 * Spawns `size` bytes of future at `future` (moved: the caller must not use
 * or drop its copy afterwards; it must never have been polled) onto `rt`.
 * When it completes, `out_size` bytes at `out_offset` within the future
 * are its output. `out_drop` (may be NULL) destroys an output that nobody
 * takes: run once if the task completes and its handle is detached, or is
 * joined with `out` NULL. Returns the join handle; the task is scheduled at
 * once. One allocation per task. Any thread, including threads outside the
 * runtime (such a thread must hold a reference to `rt`: see
 * weft_runtime_ref). If the runtime is shutting down the future is dropped
 * and the handle is ready with -ESHUTDOWN; if memory runs out, with -ENOMEM.
 */
WEFT_API weft_join_handle weft_spawn_raw(struct weft_runtime *rt, void *future, size_t size,
                                         size_t out_offset, size_t out_size, weft_drop_fn out_drop);

/**
 * Spawns the future `*fut` (a struct starting with weft_future) whose output
 * is its member `field`; the handle copies the output to `dst` (may be NULL).
 *     self->h = WEFT_SPAWN(cx->runtime, &dish, out, &self->dish1);
 */
#define WEFT_SPAWN(rt, fut, field, dst) WEFT_SPAWN_WITH_DROP(rt, fut, field, dst, NULL)

/** WEFT_SPAWN with a destructor for an output that nobody takes (see weft_spawn_raw). */
#define WEFT_SPAWN_WITH_DROP(rt, fut, field, dst, drop)                                      \
    weft__join_handle_with_out(                                                              \
        weft_spawn_raw((rt), (fut), sizeof(*(fut)), offsetof(__typeof__(*(fut)), field),     \
                       sizeof((fut)->field), (drop)),                                        \
        (dst))

/** Spawns `*fut`, discarding its output. */
#define WEFT_SPAWN_DETACHED(rt, fut) \
    weft_join_handle_detach_value(weft_spawn_raw((rt), (fut), sizeof(*(fut)), 0, 0, NULL))

static inline weft_join_handle weft__join_handle_with_out(weft_join_handle h, void *dst) {
    h.out = dst;
    return h;
}

/**
 * Waits for the task of a join handle without consuming the handle (Tokio's
 * `(&mut handle).await`): ready when the task finished, with `result` as
 * for the handle and the output copied to the handle's `out`; the handle is
 * then joined (WEFT_JOIN_JOINED, its `result` set too). Ready at once with
 * -EINVAL if the handle was already joined or detached, or with the spawn's
 * error if it failed. Cancel-safe: dropping it before it is ready leaves
 * the handle as it was (live, still able to abort or be awaited again), so
 * it can sit under a timeout or a select.
 */
typedef struct weft_join_wait {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_join_handle *handle; /**< @private */
    int result; /**< output: 0, -ECANCELED, -EINVAL or the spawn's error */
} weft_join_wait;

/** Initialises a wait on `h` (which must outlive it). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_join_wait_init(weft_join_wait *f, weft_join_handle *h);

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
 * completed or joined task, or a failed spawn, does nothing. Aborting
 * through a detached handle is a misuse (it no longer knows its task: keep
 * an abort handle): it aborts the process with a message, in every build.
 * Any thread; idempotent.
 */
WEFT_API void weft_join_handle_abort(weft_join_handle *h);

/** Detaches the task (same as dropping the handle); the task runs on. Any thread. */
WEFT_API void weft_join_handle_detach(weft_join_handle *h);

/** Detaches the task of a handle passed by value. Any thread. */
WEFT_API void weft_join_handle_detach_value(weft_join_handle h);

/**
 * True if the task has finished (completed, or cancelled), including a
 * joined handle and a failed spawn. Asking a detached handle is a misuse
 * (abort with a message, every build): it cannot know. Any thread.
 */
WEFT_API bool weft_join_handle_is_finished(const weft_join_handle *h);

/**
 * An abort handle: a reference to a task that can cancel it, whatever
 * becomes of its join handle (Tokio's AbortHandle). Clone it to hand it to
 * other threads; destroy every one. It keeps the task's memory (not its
 * future, which is dropped when the task ends) until destroyed.
 */
typedef struct weft_abort_handle {
    weft_task *task; /**< @private NULL: the task had already been joined, or the spawn failed */
} weft_abort_handle;

/**
 * Makes an abort handle for the task of `h`. Returns 0, or -EINVAL if `h`
 * was detached (it no longer knows its task). A joined handle or a failed
 * spawn gives an abort handle whose task is finished. Any thread.
 */
WEFT_API int weft_abort_handle_init(weft_abort_handle *ah, const weft_join_handle *h);

/** Makes `dst` another abort handle for the task of `src`. Any thread. */
WEFT_API void weft_abort_handle_clone(weft_abort_handle *dst, const weft_abort_handle *src);

/** Requests cancellation of the task, as weft_join_handle_abort. Any thread; idempotent. */
WEFT_API void weft_abort_handle_abort(const weft_abort_handle *ah);

/** True if the task has finished (completed or cancelled). Any thread. */
WEFT_API bool weft_abort_handle_is_finished(const weft_abort_handle *ah);

/** Releases the abort handle (the task is not affected). Idempotent. Any thread. */
WEFT_API void weft_abort_handle_destroy(weft_abort_handle *ah);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TASK_H */
