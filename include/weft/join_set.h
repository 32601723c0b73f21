/**
 * @file
 * weft/join_set.h — a set of spawned tasks whose results are collected in
 * completion order (Tokio's JoinSet).
 *
 * Each task is spawned wrapped in a small future that, when the task
 * completes (or is cancelled), moves its slot to the set's completion list
 * and wakes the task waiting in join_next: join_next is O(1), it never
 * polls every handle. Slots are recycled, so after warm-up a spawn costs
 * the task's own allocation only.
 *
 * Every task's output is copied into a buffer of the set's `out_size`
 * (given at creation; each spawned future's output must fit).
 *
 * Thread safety: every function may be called from any thread; the set
 * has an internal lock. join_next futures must not run concurrently with
 * each other. The set outlives its tasks internally (reference counted):
 * weft_join_set_destroy may be called while tasks still run; it aborts them.
 */
#ifndef WEFT_JOIN_SET_H
#define WEFT_JOIN_SET_H

#include <errno.h>

#include "future.h"
#include "runtime.h"
#include "task.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup join_set JoinSet
 * @{ */

/** A set of tasks whose results are collected in completion order (opaque). */
typedef struct weft_join_set weft_join_set;
struct weft_join_set_slot;

/**
 * Creates an empty set whose tasks run on `rt` and whose outputs are at
 * most `out_size` bytes. `out_drop` (may be NULL) destroys an output that
 * nobody takes: a result never joined, one joined with `out` NULL, one
 * left when the set is destroyed or the runtime shuts down. The set holds
 * a reference to `rt` (see weft_runtime_ref), so spawning into it after
 * the runtime was destroyed fails cleanly with -ESHUTDOWN. Stores it in
 * `*out`; returns 0, -EINVAL (no runtime) or -ENOMEM. Any thread.
 */
WEFT_API int weft_join_set_create(weft_join_set **out, weft_runtime *rt, size_t out_size,
                                  weft_drop_fn out_drop);

/**
 * Destroys the set: aborts every task still in it (their futures are
 * dropped on the runtime, asynchronously) and discards results not yet
 * joined. `js` may be NULL. No join_next may be pending. Any thread.
 */
WEFT_API void weft_join_set_destroy(weft_join_set *js);

/**
 * Spawns `size` bytes of future at `future` (moved, as with
 * weft_spawn_raw: never polled, not used by the caller afterwards) into the
 * set; `out_size` bytes at `out_offset` in it are its output (at most the
 * set's out_size). Returns the task's id (> 0, unique within the set), or
 * -ENOMEM / -ESHUTDOWN (the future was dropped), or -EINVAL (output too
 * large; the future was dropped). Any thread.
 */
WEFT_API int64_t weft_join_set_spawn_raw(weft_join_set *js, void *future, size_t size, size_t out_offset,
                                        size_t out_size);

/** Spawns `*fut` (a struct starting with weft_future) whose output is its member `field`. */
#define WEFT_JOIN_SET_SPAWN(js, fut, field)                                                    \
    weft_join_set_spawn_raw((js), (fut), sizeof(*(fut)), offsetof(__typeof__(*(fut)), field), \
                           sizeof((fut)->field))

/** Number of tasks in the set (running, or finished and not joined yet). Any thread. */
WEFT_API size_t weft_join_set_len(weft_join_set *js);

/**
 * Requests cancellation of every task in the set (weft_join_handle_abort
 * on each). They stay in the set: join_next reports each one, with
 * -ECANCELED if it was cancelled before it completed. Any thread.
 */
WEFT_API void weft_join_set_abort_all(weft_join_set *js);

/**
 * Removes every task from the set without cancelling it (their results
 * are discarded). Any thread.
 */
WEFT_API void weft_join_set_detach_all(weft_join_set *js);

/**
 * Waits for the next task to finish, in completion order. Ready with
 * `result`:
 *   0           a task completed; its output was copied to `out` (out_size
 *               bytes of the set; `out` may be NULL) and `id` names it;
 *   -ECANCELED  the task `id` was aborted (or its runtime shut down);
 *   -WEFT_EEMPTY     the set is empty (nothing to wait for).
 * The task leaves the set when reported.
 * Cancel-safe: a finished task is taken from the set only by the poll that
 * returns ready; a dropped join_next leaves it for the next one.
 */
typedef struct weft_join_set_next {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_join_set *js; /**< @private */
    void *out; /**< @private */
    struct weft_join_set_slot *cur; /**< @private a slot taken while its handle completes */
    int result;  /**< output */
    uint64_t id; /**< output: the task's id */
} weft_join_set_next;

/** Initialises a join_next on `js` copying the output to `out`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_join_set_join_next_init(weft_join_set_next *f, weft_join_set *js, void *out);

/**
 * Takes the next finished task without waiting: 0 or -ECANCELED (as for
 * join_next, with `*id` set if `id` is not NULL), -EAGAIN (tasks remain,
 * none finished), -WEFT_EEMPTY (empty). Any thread.
 */
WEFT_API int weft_join_set_try_join_next(weft_join_set *js, void *out, uint64_t *id);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_JOIN_SET_H */
