/**
 * @file
 * weft/future.h — the future contract: the header every future starts
 * with, its vtable, and polling and dropping it.
 *
 * Ownership rules that every part of weft relies on:
 *
 *  - A future is a struct whose first member is `weft_future`. Initialising
 *    it does no work (futures are lazy); work happens only in poll.
 *  - A future may be moved (memcpy'd) until its first poll and never after.
 *    A poll at a different address aborts with a message.
 *  - `weft_future_poll` returns WEFT_READY exactly once. From then on the
 *    future holds nothing but its output, which the caller owns: a ready
 *    future has already left every timer, wait list and reactor registration
 *    and released every waker. Polling it again is a misuse.
 *  - `weft_future_drop` cancels a future that has not completed: it leaves
 *    every registration and releases its waker and children. Dropping a
 *    completed future is allowed and does nothing. Dropping twice is a misuse.
 *  - Misuse is reported by an abort whose message names the mistake, in
 *    every build (see docs/api.md, "Checks").
 */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "context.h"
#include "poll.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup future Futures
 * @{ */

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
    const weft_future_vtable *vtable; /**< @private */
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
 * Aborts with a message naming the mistake on polling a completed or
 * dropped future, or a future that moved since its first poll. These
 * checks are the same in every build (they cost a compare each), so an
 * application and the library agree whatever flags each was built with.
 */
static inline weft_poll weft_future_poll(weft_future *f, weft_context *cx) {
    uint32_t here = (uint32_t)(uintptr_t)f | 1u;
    if (WEFT_UNLIKELY(f->state >= WEFT_FUTURE_READY))
        weft__misuse(f, f->state == WEFT_FUTURE_READY ? "polled after it completed"
                                                      : "polled after it was dropped");
    if (f->state == WEFT_FUTURE_FRESH)
        f->pinned = here;
    else if (WEFT_UNLIKELY(f->pinned != here))
        weft__misuse(f, "moved after its first poll");
    f->state = WEFT_FUTURE_PENDING;
    weft_poll r = f->vtable->poll(f, cx);
    if (r == WEFT_READY) f->state = WEFT_FUTURE_READY;
    return r;
}

/**
 * Drops `f`: cancels it if it has not completed (it leaves every
 * registration and releases its waker and children). Dropping a completed
 * future only marks it dropped. Aborts with a message on a second drop, in
 * every build.
 */
static inline void weft_future_drop(weft_future *f) {
    if (WEFT_UNLIKELY(f->state == WEFT_FUTURE_DROPPED)) weft__misuse(f, "dropped twice");
    if (f->state != WEFT_FUTURE_READY && f->vtable->drop) f->vtable->drop(f);
    f->state = WEFT_FUTURE_DROPPED;
}

/** True once `f` returned WEFT_READY (and was not dropped since). */
static inline bool weft_future_is_ready(const weft_future *f) { return f->state == WEFT_FUTURE_READY; }

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FUTURE_H */
