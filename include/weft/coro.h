/**
 * @file
 * weft/coro.h — coroutines: the macros that turn a struct plus a poll
 * function into an "async function" (WEFT_ASYNC, WEFT_BEGIN, WEFT_AWAIT,
 * WEFT_YIELD, WEFT_RETURN, WEFT_END). See docs/coroutines.md.
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup coro Coroutines
 * @{ */

/**
 * The coroutine header, the second member of every coroutine struct (right
 * after its weft_future). `resume` is where the next poll continues;
 * `child` is the future being awaited, which dropping the coroutine drops.
 */
typedef struct weft_coro {
    void *resume; /**< @private */
    weft_future *child; /**< @private */
} weft_coro;

/** The vtable of a coroutine type: a future vtable plus the cleanup hook. */
typedef struct weft_coro_vtable {
    weft_future_vtable future; /**< @private */
    /** Releases the coroutine's own resources; runs exactly once, when the
     *  coroutine finishes or is dropped, whichever comes first. May be NULL. */
    void (*cleanup)(void *self);
} weft_coro_vtable;

/** The two members every coroutine struct starts with. */
#define WEFT_CORO_FIELDS \
    weft_future base;    \
    weft_coro co

/* Drops the child in flight and runs the cleanup hook (the coroutine drop). */
WEFT_API void weft__coro_drop(weft_future *f);
/* Runs the cleanup hook on completion. */
WEFT_API void weft__coro_finish(weft_future *f);

/* Stores the address of a resume label. GCC 12 mistakes a label address
 * for the address of a local variable (-Wdangling-pointer); it is not one. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define WEFT__SAVE_RESUME(label)                                        \
    _Pragma("GCC diagnostic push")                                      \
    _Pragma("GCC diagnostic ignored \"-Wdangling-pointer\"")            \
    self->co.resume = &&label;                                          \
    _Pragma("GCC diagnostic pop")
#else
#define WEFT__SAVE_RESUME(label) self->co.resume = &&label
#endif

#define WEFT__CAT2(a, b) a##b
#define WEFT__CAT(a, b) WEFT__CAT2(a, b)

/**
 * Defines coroutine type `T` (a struct type that starts with
 * WEFT_CORO_FIELDS) with cleanup hook `cleanup` (a `void (*)(T *)` or NULL)
 * and opens its body, in which `self` (a `T *`) and `cx` (the context) are in
 * scope. Also defines `T##_start(T *)`, which initialises the headers; call
 * it from your init function before setting the arguments.
 *
 *     WEFT_ASYNC(cook_dish, NULL) {
 *         WEFT_BEGIN();
 *         WEFT_AWAIT(weft_sleep_init(&self->sleep, self->ms));
 *         self->out = self->ms;
 *         WEFT_END();
 *     }
 *
 * Rules (see docs/coroutines.md): a local variable does not survive an
 * await, so anything that lives across one belongs in the struct; at most
 * one WEFT_AWAIT per source line (a second one is a compile error);
 * WEFT_AWAIT may appear in loops, branches and switch statements but not in
 * a nested function or statement expression.
 */
#define WEFT_ASYNC(T, cleanup)                                                          \
    static weft_poll T##__body(T *self, weft_context *cx);                              \
    static weft_poll T##__poll(weft_future *f, weft_context *cx) {                      \
        return T##__body((T *)f, cx);                                                   \
    }                                                                                   \
    static const weft_coro_vtable T##__vtable = {                                       \
        {T##__poll, weft__coro_drop, #T}, (void (*)(void *))(cleanup)};                 \
    static inline __attribute__((unused)) void T##_start(T *self) {                     \
        weft_future_init(&self->base, &T##__vtable.future);                             \
        self->co.resume = NULL;                                                         \
        self->co.child = NULL;                                                          \
    }                                                                                   \
    static weft_poll T##__body(T *self, weft_context *cx)

/** Opens a coroutine body: resumes at the last await, if any. */
#define WEFT_BEGIN()                                             \
    enum { weft__coro_begun = 1 };                               \
    if (self->co.resume) goto *self->co.resume;                  \
    (void)cx

/**
 * Awaits the future `expr` (a `weft_future *`, usually the result of an
 * init function on a child stored in the struct): polls it now and on every
 * later poll until it is ready, returning WEFT_PENDING in between. `expr` is
 * evaluated once. The child's output is valid after this statement.
 */
#define WEFT_AWAIT(expr) WEFT__AWAIT(expr, WEFT__CAT(weft__resume_, __LINE__))
#define WEFT__AWAIT(expr, label)                                                   \
    do {                                                                           \
        (void)weft__coro_begun; /* "undeclared": WEFT_BEGIN() is missing */       \
        self->co.child = (expr);                                                   \
        WEFT__SAVE_RESUME(label);                                                  \
    label:                                                                         \
        if (weft_future_poll(self->co.child, cx) == WEFT_PENDING) return WEFT_PENDING; \
        self->co.child = NULL;                                                     \
    } while (0)

/**
 * Suspends once: wakes the task and returns WEFT_PENDING, resuming here on
 * the next poll (lets other tasks run).
 */
#define WEFT_YIELD() WEFT__YIELD(WEFT__CAT(weft__resume_, __LINE__))
#define WEFT__YIELD(label)                               \
    do {                                                 \
        (void)weft__coro_begun;                          \
        WEFT__SAVE_RESUME(label);                        \
        weft_waker_wake_by_ref(&cx->waker);              \
        return WEFT_PENDING;                             \
    label:;                                              \
    } while (0)

/** Finishes the coroutine from anywhere in its body: runs cleanup, returns READY. */
#define WEFT_RETURN()                     \
    do {                                  \
        (void)weft__coro_begun;           \
        weft__coro_finish(&self->base);   \
        return WEFT_READY;                \
    } while (0)

/** Closes a coroutine body (the implicit return at its end). */
#define WEFT_END() WEFT_RETURN()

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CORO_H */
