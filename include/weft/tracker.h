/**
 * @file
 * weft/tracker.h — task trackers (Tokio-util's TaskTracker): count the
 * tasks spawned through it, and wait until it is closed and every one of
 * them has finished — the second half of a graceful shutdown.
 *
 *     weft_task_tracker *tr;
 *     weft_task_tracker_create(&tr);
 *     ... WEFT_TRACKER_SPAWN_DETACHED(tr, cx->runtime, &conn);   // per connection
 *     // shutting down: stop accepting, cancel the connections' token, then
 *     weft_task_tracker_close(tr);
 *     WEFT_AWAIT(weft_timeout_init(&self->t, weft_task_tracker_wait_init(&self->w, tr), grace_ms));
 *
 * A tracker is not a JoinSet: it keeps no handle and no output, only a
 * count, so a server can spawn millions of detached tasks through it at the
 * cost of one atomic add each. Each spawn returns the task's ordinary join
 * handle (await it, abort it, detach it); outputs follow weft's usual rules
 * (a destructor given at spawn runs for an output nobody takes).
 *
 * A task counts until its future completes or is dropped (aborted, or its
 * runtime destroyed); a spawn_blocking call until its function returns or
 * is cancelled before it started. Closing does not stop anything: tasks may
 * still be spawned through a closed tracker, and count as usual. The wait
 * is woken by whichever event makes the tracker closed and empty — the
 * close, or the last task finishing — with no polling and no timer.
 *
 * Threads: every function may be called from any thread. The tracker is
 * reference counted internally: it may be destroyed while tracked tasks
 * still run (they keep what they need), but not while a wait future uses it.
 */
#ifndef WEFT_TRACKER_H
#define WEFT_TRACKER_H

#include <stdbool.h>
#include <stddef.h>

#include "detail/wait_node.h"
#include "future.h"
#include "task.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup tracker Task trackers
 * @{ */

struct weft_runtime;

/** A task tracker (opaque; see the top of weft/tracker.h). */
typedef struct weft_task_tracker weft_task_tracker;

/** Creates an open, empty tracker in `*out`. Returns 0, -EINVAL (`out` NULL)
 *  or -ENOMEM. Any thread. */
WEFT_API int weft_task_tracker_create(weft_task_tracker **out);

/**
 * Releases the caller's reference. Tracked tasks run on (they are not
 * aborted, and their count still matters to nobody); the memory goes with
 * the last of them. `t` may be NULL. Destroying a tracker that a wait
 * future is still waiting on is a misuse (abort with a message, every
 * build). Any thread.
 */
WEFT_API void weft_task_tracker_destroy(weft_task_tracker *t);

/**
 * Spawns `size` bytes of future at `future` onto `rt` as a tracked task,
 * exactly as weft_spawn_raw does (the future is moved, must never have been
 * polled; `out_size` bytes at `out_offset` are its output; `out_drop`, may
 * be NULL, destroys an output nobody takes). Returns the task's join
 * handle. If the spawn fails (-EINVAL for a NULL `t` or `rt`, -ESHUTDOWN,
 * -ENOMEM) the handle is ready with the error, the future has been dropped
 * and nothing is counted. Any thread (a thread outside the runtime must
 * hold a reference to `rt`). One task allocation, as any spawn.
 */
WEFT_API weft_join_handle weft_task_tracker_spawn_raw(weft_task_tracker *t, struct weft_runtime *rt,
                                                      void *future, size_t size, size_t out_offset,
                                                      size_t out_size, weft_drop_fn out_drop);

/** Spawns `*fut` through the tracker `t` (see WEFT_SPAWN); its output is member `field`, copied to `dst`. */
#define WEFT_TRACKER_SPAWN(t, rt, fut, field, dst) WEFT_TRACKER_SPAWN_WITH_DROP(t, rt, fut, field, dst, NULL)

/** WEFT_TRACKER_SPAWN with a destructor for an output nobody takes. */
#define WEFT_TRACKER_SPAWN_WITH_DROP(t, rt, fut, field, dst, drop)                                 \
    weft__join_handle_with_out(                                                                   \
        weft_task_tracker_spawn_raw((t), (rt), (fut), sizeof(*(fut)),                              \
                                    offsetof(__typeof__(*(fut)), field), sizeof((fut)->field),    \
                                    (drop)),                                                      \
        (dst))

/** Spawns `*fut` through the tracker `t`, detached (its output discarded). */
#define WEFT_TRACKER_SPAWN_DETACHED(t, rt, fut) \
    weft_join_handle_detach_value(weft_task_tracker_spawn_raw((t), (rt), (fut), sizeof(*(fut)), 0, 0, NULL))

/**
 * Runs `fn(arg)` on the blocking pool of `rt` as weft_spawn_blocking does
 * (same handle, same rules for `arg` and `arg_drop`), counted by the
 * tracker until `fn` returns, or until the call is cancelled before it
 * started (then `arg_drop` runs, as always). A failed spawn is not counted
 * (the handle is ready with -EINVAL, -ESHUTDOWN, -ENOMEM or
 * -WEFT_ENOTHREAD; `arg_drop` has run). Allocates a few words besides the
 * task. Any thread.
 */
WEFT_API weft_join_handle weft_task_tracker_spawn_blocking(weft_task_tracker *t,
                                                           struct weft_runtime *rt,
                                                           weft_blocking_fn fn, void *arg,
                                                           weft_drop_fn arg_drop);

/**
 * Closes the tracker: from now on its wait completes as soon as no tracked
 * task is left (at once if none is). Returns true if this call closed it,
 * false if it was closed already (or `t` is NULL). Any thread.
 */
WEFT_API bool weft_task_tracker_close(weft_task_tracker *t);

/** Reopens a closed tracker (waits that already completed stay completed).
 *  Returns true if it was closed. Any thread. */
WEFT_API bool weft_task_tracker_reopen(weft_task_tracker *t);

/** True if the tracker is closed. Any thread. */
WEFT_API bool weft_task_tracker_is_closed(const weft_task_tracker *t);

/** How many tracked tasks have not finished. Any thread (may be stale at once). */
WEFT_API size_t weft_task_tracker_len(const weft_task_tracker *t);

/**
 * The wait: ready (`result` 0) once the tracker has been seen closed with
 * no tracked task left; -EINVAL for a NULL tracker. A wait that was woken
 * by that moment completes even if the tracker is reopened before it is
 * polled. Cancel-safe: dropping it only leaves the wait list. Any number
 * of waits may wait on one tracker. No allocation. Poll it from one task
 * at a time; plain threads may use weft_wait_blocking.
 */
typedef struct weft_task_tracker_wait {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_task_tracker *tracker; /**< @private */
    weft_wait_node wait; /**< @private */
    int result; /**< output: 0 or -EINVAL */
} weft_task_tracker_wait;

/** Initialises a wait on `t` (which must outlive it). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_task_tracker_wait_init(weft_task_tracker_wait *f, weft_task_tracker *t);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup tracker_fiber Task trackers from fibers
 * A blocking-style call for fibers (weft/fiber.h): weft_await over the
 * future of the same name, so it suspends the fiber, never the thread. It
 * returns what the future's `result` says, or -ECANCELED (the fiber was
 * cancelled: the wait was dropped and left the tracker's wait list) or
 * -EPERM (not called from a fiber). Spawn fibers through a tracker with
 * weft_task_tracker_spawn_fiber (weft/fiber.h). Fiber only.
 * @{ */

/** Waits until the tracker is closed and every tracked task has finished
 *  (weft_task_tracker_wait): 0, or -EINVAL for a NULL tracker. Bound it
 *  with weft_timeout through weft_await for a grace period. */
WEFT_API int weft_fiber_task_tracker_wait(weft_task_tracker *t);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TRACKER_H */
