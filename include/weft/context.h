/**
 * @file
 * weft/context.h — what a poll receives: the waker of the task being
 * polled, the runtime, and the task's cooperative budget.
 */
#ifndef WEFT_CONTEXT_H
#define WEFT_CONTEXT_H

#include <stdint.h>

#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup context Contexts and the cooperative budget
 * @{ */

struct weft_runtime;

/** Cooperative budget given to a task for each poll (Tokio's value). */
#define WEFT_COOP_BUDGET 128

/**
 * What a poll receives: the waker of the task being polled (borrowed for
 * the duration of the poll; clone it to keep it), the runtime that polls it
 * (NULL when polled by hand), and the task's remaining cooperative budget.
 */
typedef struct weft_context {
    weft_waker waker;             /**< borrowed: clone to keep */
    struct weft_runtime *runtime; /**< the polling runtime, or NULL */
    uint32_t budget;              /**< operations left in this task turn */
} weft_context;

/** A context with the given waker, no runtime and a full budget. */
static inline weft_context weft_context_make(weft_waker waker) {
    weft_context cx = {waker, NULL, WEFT_COOP_BUDGET};
    return cx;
}

/** The waker of the task being polled (borrowed). */
static inline const weft_waker *weft_context_waker(const weft_context *cx) { return &cx->waker; }

/**
 * Spends one unit of the cooperative budget. Leaf futures call this before
 * doing work that could complete. Returns true if the operation may go on;
 * false if the budget is spent, in which case the task has been woken and
 * the caller must return WEFT_PENDING without doing the work.
 */
static inline bool weft_coop_spend(weft_context *cx) {
    if (WEFT_LIKELY(cx->budget > 0)) {
        cx->budget--;
        return true;
    }
    weft_waker_wake_by_ref(&cx->waker);
    return false;
}

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CONTEXT_H */
