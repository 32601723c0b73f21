/**
 * @file
 * weft/cancel.h — cancellation tokens (Tokio-util's CancellationToken):
 * a signal that says "stop", shared by any number of tasks and threads,
 * arranged in trees.
 *
 *     weft_cancel_token root, conn;
 *     weft_cancel_token_init(&root);              // one per server
 *     weft_cancel_token_child(&conn, &root);      // one per connection
 *     ...  WEFT_AWAIT(weft_cancel_token_cancelled_init(&self->c, &conn));
 *     weft_cancel_token_cancel(&root);            // Ctrl-C: every connection stops
 *
 * A token is a small handle (one pointer) on a shared, reference-counted
 * node. `_clone` gives another handle on the same node; `_child` makes a
 * new node below it. Cancelling a node cancels every node below it (its
 * children, their children, ...) before the call returns; cancelling a
 * child does not touch its parent. When the last handle of a node is
 * destroyed, the node leaves its tree: its children move up to its parent,
 * and the parent keeps nothing of it. Cancellation is final: a cancelled
 * token stays cancelled, and a child made from it is born cancelled.
 *
 * Waiting: weft_cancelled is a future that is ready once its token is
 * cancelled. Any number of them may wait on one token, from any tasks of
 * any runtimes and from plain threads (weft_wait_blocking); the wait node
 * lives in the future, so waiting allocates nothing.
 *
 * Threads: every function may be called from any thread, on any handle of
 * a node, concurrently — except that one handle must not be destroyed
 * while another call uses that same handle (as for any object). A handle
 * (this one or a clone) must stay alive while a future waits on its node.
 */
#ifndef WEFT_CANCEL_H
#define WEFT_CANCEL_H

#include <stdbool.h>

#include "detail/wait_node.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup cancel Cancellation tokens
 * @{ */

struct weft__cancel_node;

/**
 * A handle on a cancellation node. Zero-initialised, or after
 * weft_cancel_token_destroy, it is empty: it is never cancelled, cancelling
 * it does nothing, and cloning it or making a child of it fails with
 * -EINVAL.
 */
typedef struct weft_cancel_token {
    struct weft__cancel_node *node; /**< @private NULL when empty */
} weft_cancel_token;

/**
 * Makes `t` a new root token, not cancelled. Returns 0, -EINVAL (`t` is
 * NULL) or -ENOMEM (`t` is then empty). One allocation. Any thread.
 */
WEFT_API int weft_cancel_token_init(weft_cancel_token *t);

/**
 * Makes `dst` another handle on the node of `src`: cancelling either
 * cancels both. Returns 0, or -EINVAL if `src` is empty or either is NULL
 * (`dst` is then empty). Never allocates. Any thread.
 */
WEFT_API int weft_cancel_token_clone(weft_cancel_token *dst, const weft_cancel_token *src);

/**
 * Makes `child` a new token below `parent`: it is cancelled when `parent`
 * (or any node above it) is; cancelling it leaves `parent` alone. A child
 * of a cancelled token is born cancelled. Returns 0, -EINVAL (`parent`
 * empty or an argument NULL; `child` is then empty) or -ENOMEM. One
 * allocation. Any thread.
 */
WEFT_API int weft_cancel_token_child(weft_cancel_token *child, const weft_cancel_token *parent);

/**
 * Cancels the token's node and every node below it, and wakes every
 * weft_cancelled future waiting on any of them (the wakes happen outside
 * weft's locks, in batches). When it returns, the node and its whole
 * subtree are cancelled — unless another thread's cancel of the same node
 * or of a node above is still running, which finishes the job. Idempotent;
 * does nothing on an empty token. Any thread; never waits (it takes each
 * node's spinlock briefly).
 */
WEFT_API void weft_cancel_token_cancel(const weft_cancel_token *t);

/** True once the token's node was cancelled (directly or through a node above it).
 *  False for an empty token. Any thread; one atomic load. */
WEFT_API bool weft_cancel_token_is_cancelled(const weft_cancel_token *t);

/**
 * Destroys this handle (other handles on the node are not affected) and
 * empties `t`; destroying it again does nothing. It does not cancel. When
 * it was the node's last handle, the node leaves its tree (its children
 * move up to its parent) and is freed once nothing refers to it. Destroying
 * the last handle of a node that weft_cancelled futures still wait on is a
 * misuse (abort with a message, every build). Any thread.
 */
WEFT_API void weft_cancel_token_destroy(weft_cancel_token *t);

/**
 * The future that waits for cancellation: ready with `result` 0 once its
 * token is cancelled (at once if it already is), or -EINVAL for an empty
 * token. Cancel-safe: dropping it only leaves the token's wait list. No
 * allocation. Poll it from one task at a time.
 */
typedef struct weft_cancelled {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    struct weft__cancel_node *node; /**< @private */
    weft_wait_node wait; /**< @private */
    int result; /**< output: 0, or -EINVAL for an empty token */
} weft_cancelled;

/**
 * Initialises a wait for the cancellation of `t` (this handle, or another
 * handle on the same node, must outlive the future). Does no work.
 * Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_cancel_token_cancelled_init(weft_cancelled *f, const weft_cancel_token *t);

/**
 * Runs `inner` until it completes or the token is cancelled, whichever
 * comes first (Tokio-util's run_until_cancelled). Ready with `result`:
 *   0           `inner` completed; its output is valid;
 *   -ECANCELED  the token was cancelled first: `inner` has been dropped
 *               (with whatever cancel-safety it documents);
 *   -EINVAL     the token is empty (`inner` was dropped unpolled).
 * Cancellation is checked before `inner` is polled, so once the token is
 * cancelled `inner` is never polled again. Dropping this future drops
 * `inner`. No allocation.
 */
typedef struct weft_until_cancelled {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_cancelled cancelled; /**< @private */
    weft_future *inner; /**< @private */
    int result; /**< output: 0, -ECANCELED or -EINVAL */
} weft_until_cancelled;

/**
 * Initialises `f` to run `inner` (which must outlive it) until the token
 * `t` is cancelled. Does no work. Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_until_cancelled_init(weft_until_cancelled *f, const weft_cancel_token *t,
                                                weft_future *inner);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup cancel_fiber Cancellation tokens from fibers
 * Blocking-style calls for fibers (weft/fiber.h), each weft_await over the
 * future of the same name: it suspends the fiber, never the thread. It
 * returns what the future's `result` says, or -ECANCELED (the fiber
 * itself was cancelled: the future was dropped, leaving the token's wait
 * list) or -EPERM (not called from a fiber). To bound another wait by a
 * token, await weft_until_cancelled_init(&u, token, inner) with
 * weft_await. Fiber only.
 * @{ */

/** Waits until the token `t` is cancelled (weft_cancelled): 0 (at once if
 *  it already is), or -EINVAL for an empty token. */
WEFT_API int weft_fiber_cancel_token_cancelled(const weft_cancel_token *t);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CANCEL_H */
