/**
 * @file
 * weft/waker.h — wakers: how a pending future arranges to be polled again.
 * A waker is a two-word value {vtable, data}, like Rust's RawWaker.
 */
#ifndef WEFT_WAKER_H
#define WEFT_WAKER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup waker Wakers
 * @{ */

typedef struct weft_waker_vtable weft_waker_vtable;

/**
 * A waker: a two-word value, like Rust's RawWaker. Whoever holds one owns it
 * and must eventually pass it to weft_waker_wake (which consumes it) or
 * weft_waker_drop. The empty waker (vtable == NULL) is a valid "no waker"
 * value for slots; wake and drop on it do nothing.
 */
typedef struct weft_waker {
    const weft_waker_vtable *vtable; /**< @private */
    void *data; /**< @private */
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

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_WAKER_H */
