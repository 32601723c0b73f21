/*
 * weft/future.h — the future contract: poll results, wakers, contexts,
 * futures, and the coroutine macros that turn a struct plus a poll function
 * into an "async function".
 *
 * Ownership rules that every part of weft relies on:
 *
 *  - A future is a struct whose first member is `weft_future`. Initialising
 *    it does no work (futures are lazy); work happens only in poll.
 *  - A future may be moved (memcpy'd) until its first poll and never after.
 *    Debug builds detect a poll at a different address.
 *  - `weft_future_poll` returns WEFT_READY exactly once. From then on the
 *    future holds nothing but its output, which the caller owns: a ready
 *    future has already left every timer, wait list and reactor registration
 *    and released every waker. Polling it again is a misuse.
 *  - `weft_future_drop` cancels a future that has not completed: it leaves
 *    every registration and releases its waker and children. Dropping a
 *    completed future is allowed and does nothing. Dropping twice is a misuse.
 *  - Misuse is reported by an abort whose message names the mistake, in
 *    builds without NDEBUG (or with WEFT_CHECKS defined to 1).
 */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WEFT_CHECKS
#ifdef NDEBUG
#define WEFT_CHECKS 0
#else
#define WEFT_CHECKS 1
#endif
#endif

#if defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WEFT_API
#define WEFT_LIKELY(x) (x)
#define WEFT_UNLIKELY(x) (x)
#endif

/** The result of a poll. */
typedef enum weft_poll {
    WEFT_PENDING = 0, /**< not done; the future arranged to be woken */
    WEFT_READY = 1,   /**< done; the output fields are valid */
} weft_poll;

/* ------------------------------------------------------------------------ */
/* Wakers                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct weft_waker_vtable weft_waker_vtable;

/**
 * A waker: a two-word value, like Rust's RawWaker. Whoever holds one owns it
 * and must eventually pass it to weft_waker_wake (which consumes it) or
 * weft_waker_drop. The empty waker (vtable == NULL) is a valid "no waker"
 * value for slots; wake and drop on it do nothing.
 */
typedef struct weft_waker {
    const weft_waker_vtable *vtable;
    void *data;
} weft_waker;

/** The operations behind a waker. All of them may be called from any thread. */
struct weft_waker_vtable {
    weft_waker (*clone)(void *data);  /**< a new owned waker for the same target */
    void (*wake)(void *data);         /**< wake and release this waker */
    void (*wake_by_ref)(void *data);  /**< wake, keep this waker */
    void (*drop)(void *data);         /**< release this waker without waking */
};

/** The empty waker ("no waker stored"). */
#define WEFT_WAKER_NONE ((weft_waker){NULL, NULL})

/** Returns a new owned copy of `w`. Any thread. */
static inline weft_waker weft_waker_clone(const weft_waker *w) {
    return w->vtable ? w->vtable->clone(w->data) : WEFT_WAKER_NONE;
}

/** Wakes the target of `w` and releases `w`. Idempotent per target; any thread. */
static inline void weft_waker_wake(weft_waker w) {
    if (w.vtable) w.vtable->wake(w.data);
}

/** Wakes the target of `*w` and keeps the waker. Any thread. */
static inline void weft_waker_wake_by_ref(const weft_waker *w) {
    if (w->vtable) w->vtable->wake_by_ref(w->data);
}

/** Releases `w` without waking. Any thread. */
static inline void weft_waker_drop(weft_waker w) {
    if (w.vtable) w.vtable->drop(w.data);
}

/** True if waking `a` would wake the same target as waking `b`. */
static inline bool weft_waker_will_wake(const weft_waker *a, const weft_waker *b) {
    return a->vtable == b->vtable && a->data == b->data;
}

/** True if `w` is the empty waker. */
static inline bool weft_waker_is_none(const weft_waker *w) { return w->vtable == NULL; }

/**
 * Like weft_waker_store (below), but returns the waker it replaced (the empty waker
 * if nothing changed) instead of dropping it: for a caller that holds a
 * lock and drops the old waker after unlocking (dropping may free a task).
 */
static inline weft_waker weft_waker_replace(weft_waker *slot, const weft_waker *w) {
    if (weft_waker_will_wake(slot, w)) return WEFT_WAKER_NONE;
    weft_waker old = *slot;
    *slot = weft_waker_clone(w);
    return old;
}

/**
 * Stores a copy of `w` in `*slot`, unless the slot already holds a waker that
 * will wake the same target (then nothing is cloned). The previous waker in
 * the slot is dropped. The slot must be protected by its owner (a lock, or a
 * single thread). Returns nothing; never allocates for task wakers.
 */
static inline void weft_waker_store(weft_waker *slot, const weft_waker *w) {
    weft_waker_drop(weft_waker_replace(slot, w));
}

/** Takes the waker out of `*slot`, leaving the slot empty. */
static inline weft_waker weft_waker_take(weft_waker *slot) {
    weft_waker w = *slot;
    *slot = WEFT_WAKER_NONE;
    return w;
}

/** A waker that does nothing; cloning and dropping it are free. Any thread. */
WEFT_API weft_waker weft_waker_noop(void);

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------ */
/* Futures                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct weft_future weft_future;

/** The operations of a future type. */
typedef struct weft_future_vtable {
    /** Advances the future; never blocks. */
    weft_poll (*poll)(weft_future *self, weft_context *cx);
    /** Cancels a future that has not completed; may be NULL (nothing to release). */
    void (*drop)(weft_future *self);
    /** Type name, used in misuse messages. */
    const char *name;
} weft_future_vtable;

/** Lifecycle of a future as tracked by weft_future_poll / weft_future_drop. */
enum {
    WEFT_FUTURE_FRESH = 0,   /**< initialised, never polled */
    WEFT_FUTURE_PENDING = 1, /**< polled at least once, not complete */
    WEFT_FUTURE_READY = 2,   /**< returned READY; output valid */
    WEFT_FUTURE_DROPPED = 3, /**< dropped */
};

/** The header every future starts with. */
struct weft_future {
    const weft_future_vtable *vtable;
    uint32_t state;   /**< WEFT_FUTURE_* */
    uint32_t pinned;  /**< low bits of the address of the first poll (move detection) */
};

/** Initialiser for the header of a future of type `vt`. */
#define WEFT_FUTURE_INIT(vt) ((weft_future){(vt), WEFT_FUTURE_FRESH, 0})

/** Sets up the header of a future. Does no work. */
static inline void weft_future_init(weft_future *f, const weft_future_vtable *vt) {
    f->vtable = vt;
    f->state = WEFT_FUTURE_FRESH;
    f->pinned = 0;
}

/* Reports a misuse (names the mistake and the future type) and aborts. */
WEFT_API void weft__misuse(const weft_future *f, const char *what) __attribute__((noreturn, cold));

/**
 * Polls `f` once with `cx`. Returns WEFT_READY once, when the output is
 * valid; WEFT_PENDING otherwise (the future has arranged a wake-up).
 * Debug builds abort with a message on polling a completed or dropped
 * future, or a future that moved since its first poll.
 */
static inline weft_poll weft_future_poll(weft_future *f, weft_context *cx) {
#if WEFT_CHECKS
    uint32_t here = (uint32_t)(uintptr_t)f | 1u;
    if (WEFT_UNLIKELY(f->state >= WEFT_FUTURE_READY))
        weft__misuse(f, f->state == WEFT_FUTURE_READY ? "polled after it completed"
                                                      : "polled after it was dropped");
    if (f->state == WEFT_FUTURE_FRESH)
        f->pinned = here;
    else if (WEFT_UNLIKELY(f->pinned != here))
        weft__misuse(f, "moved after its first poll");
#endif
    f->state = WEFT_FUTURE_PENDING;
    weft_poll r = f->vtable->poll(f, cx);
    if (r == WEFT_READY) f->state = WEFT_FUTURE_READY;
    return r;
}

/**
 * Drops `f`: cancels it if it has not completed (it leaves every
 * registration and releases its waker and children). Dropping a completed
 * future only marks it dropped. Debug builds abort on a second drop.
 */
static inline void weft_future_drop(weft_future *f) {
#if WEFT_CHECKS
    if (WEFT_UNLIKELY(f->state == WEFT_FUTURE_DROPPED)) weft__misuse(f, "dropped twice");
#endif
    if (f->state != WEFT_FUTURE_READY && f->state != WEFT_FUTURE_DROPPED && f->vtable->drop)
        f->vtable->drop(f);
    f->state = WEFT_FUTURE_DROPPED;
}

/** True once `f` returned WEFT_READY (and was not dropped since). */
static inline bool weft_future_is_ready(const weft_future *f) { return f->state == WEFT_FUTURE_READY; }

/* ------------------------------------------------------------------------ */
/* Coroutines                                                                */
/* ------------------------------------------------------------------------ */

/**
 * The coroutine header, the second member of every coroutine struct (right
 * after its weft_future). `resume` is where the next poll continues;
 * `child` is the future being awaited, which dropping the coroutine drops.
 */
typedef struct weft_coro {
    void *resume;
    weft_future *child;
} weft_coro;

/** The vtable of a coroutine type: a future vtable plus the cleanup hook. */
typedef struct weft_coro_vtable {
    weft_future_vtable future;
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

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FUTURE_H */
