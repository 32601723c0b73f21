/**
 * @file
 * weft/combinator.h — futures built from other futures: join, select,
 * yield_now, and a future made of a poll function and its state.
 * None of them allocates; children live in the caller's struct.
 * (timeout lives in weft/time.h, since it needs a timer.)
 */
#ifndef WEFT_COMBINATOR_H
#define WEFT_COMBINATOR_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* join: ready when every child is ready                                     */
/* ------------------------------------------------------------------------ */

/** @defgroup join join: wait for every child
 * @{ */
/**
 * Joins N futures of any types. The children stay in the caller's memory;
 * `children` points at the caller's array of N child pointers, which must
 * live as long as the join. Each child is polled only while it is pending.
 * Ready when all children are ready; every child's output is then valid.
 * Dropping the join drops the children that have not completed.
 */
typedef struct weft_join {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_future **children; /**< @private */
    uint32_t n; /**< @private */
    uint32_t remaining; /**< @private */
    uint32_t start; /**< @private rotates the first child polled, for fairness */
} weft_join;

/**
 * Initialises `j` over `children[0..n)`. Does no work. Returns `&j->base`.
 * Any thread; the join is then polled by one task.
 */
WEFT_API weft_future *weft_join_init(weft_join *j, weft_future **children, size_t n);

/**
 * Convenience: fills `storage` (an array of at least as many pointers as
 * given, living as long as the join) with the futures given and initialises
 * `j` over them: WEFT_JOIN(&self->j, self->kids, fa, fb).
 */
#define WEFT_JOIN(j, storage, ...)                                                      \
    weft_join_init((j), weft__fill((storage), (weft_future *[]){__VA_ARGS__},             \
                                   sizeof((weft_future *[]){__VA_ARGS__}) / sizeof(weft_future *)), \
                   sizeof((weft_future *[]){__VA_ARGS__}) / sizeof(weft_future *))

/* Copies n child pointers into storage; returns storage. */
static inline weft_future **weft__fill(weft_future **storage, weft_future *const *src, size_t n) {
    for (size_t i = 0; i < n; i++) storage[i] = src[i];
    return storage;
}

/** @} */

/* ------------------------------------------------------------------------ */
/* select: ready with the index of the first ready child                     */
/* ------------------------------------------------------------------------ */

/** @defgroup select select: the first child to finish
 * @{ */
/** What select does with the children that did not win. */
typedef enum weft_select_losers {
    WEFT_SELECT_DROP_LOSERS = 0, /**< drop them when the winner is found (default) */
    WEFT_SELECT_KEEP_LOSERS = 1, /**< leave them pending: the caller may poll or must drop them */
} weft_select_losers;

/**
 * Races N futures. Ready with `winner` = the index of the first child that
 * completed (children are polled in order, starting from a rotating index
 * so no child is always favoured). The winner's output is valid. The losers
 * are dropped, unless `losers` is WEFT_SELECT_KEEP_LOSERS, in which case they
 * are handed back untouched, as the seeds' select returns the still-pending
 * future. Dropping the select before it completes drops every child.
 */
typedef struct weft_select {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_future **children; /**< @private */
    uint32_t n; /**< @private */
    uint32_t start; /**< @private */
    weft_select_losers losers; /**< @private */
    int winner; /**< output: index of the winning child */
} weft_select;

/** Initialises `s` over `children[0..n)`. Does no work. Returns `&s->base`. */
WEFT_API weft_future *weft_select_init(weft_select *s, weft_future **children, size_t n,
                                       weft_select_losers losers);

/** Convenience like WEFT_JOIN: WEFT_SELECT(&self->s, self->kids, WEFT_SELECT_DROP_LOSERS, fa, fb). */
#define WEFT_SELECT(s, storage, losers, ...)                                            \
    weft_select_init((s), weft__fill((storage), (weft_future *[]){__VA_ARGS__},           \
                                     sizeof((weft_future *[]){__VA_ARGS__}) / sizeof(weft_future *)), \
                     sizeof((weft_future *[]){__VA_ARGS__}) / sizeof(weft_future *), (losers))

/** @} */

/* ------------------------------------------------------------------------ */
/* yield_now, ready, poll_fn                                                 */
/* ------------------------------------------------------------------------ */

/** @defgroup yield yield_now, ready and poll_fn
 * @{ */
/** Pending once (after waking its task), ready on the next poll. */
typedef struct weft_yield_now {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    bool yielded; /**< @private */
} weft_yield_now;

/** Initialises a yield_now future. Returns `&y->base`. */
WEFT_API weft_future *weft_yield_now_init(weft_yield_now *y);

/** A future that is ready on its first poll (for APIs that take a future). */
typedef struct weft_ready {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
} weft_ready;

/** Initialises a ready future. Returns `&r->base`. */
WEFT_API weft_future *weft_ready_init(weft_ready *r);

/** The signature of a poll function for weft_poll_fn. */
typedef weft_poll (*weft_poll_fn_t)(void *state, weft_context *cx);

/**
 * A future from a poll function and its state: each poll calls
 * `fn(state, cx)`. `drop`, if not NULL, is called with `state` when the
 * future is dropped before completing. The state is the caller's.
 */
typedef struct weft_poll_fn {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_poll_fn_t fn; /**< @private */
    void (*drop)(void *state); /**< @private */
    void *state; /**< @private */
} weft_poll_fn;

/** Initialises a poll_fn future. Returns `&p->base`. */
WEFT_API weft_future *weft_poll_fn_init(weft_poll_fn *p, weft_poll_fn_t fn, void *state,
                                        void (*drop)(void *state));

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_COMBINATOR_H */
