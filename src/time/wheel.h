/*
 * The hierarchical timing wheel: 6 levels of 64 slots, 1 ms per slot at
 * level 0 (level L slot spans 64^L ms), so deadlines up to 64^6 ms (~2.2
 * years) ahead are placed directly; later ones wait in the last level and
 * are re-placed as time advances. Each slot is an intrusive doubly linked
 * list of weft_timer_entry, and each level has a 64-bit occupancy mask,
 * so insert and cancel are O(1) and finding the next deadline is a few
 * bit scans.
 *
 * None of these functions locks: every runtime's wheel has a mutex
 * (`lock`) that the callers hold, since a timer may be dropped on any
 * thread; the wheel's own tests use it unlocked.
 */
#ifndef WEFT_TIME_WHEEL_H
#define WEFT_TIME_WHEEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/list.h"
#include "weft/time.h"

#define WEFT_WHEEL_LEVELS 6
#define WEFT_WHEEL_SLOTS 64

typedef struct weft_wheel {
    uint64_t elapsed; /* ms (weft_clock_ms) up to which the wheel has advanced */
    uint64_t occupied[WEFT_WHEEL_LEVELS];
    weft_link slots[WEFT_WHEEL_LEVELS][WEFT_WHEEL_SLOTS]; /* lists of weft_timer_entry */
    size_t count;     /* entries in the wheel */
    uint64_t fired;   /* entries fired so far (statistics) */
    /* Every access to the wheel and to its entries' wheel/fired/waker/home
     * fields holds `lock` (NULL only in the wheel's unit tests). `on_insert` (may be NULL) is told each new deadline
     * with the lock held, so a driver sleeping past it can be woken. */
    pthread_mutex_t *lock;
    void (*on_insert)(struct weft_wheel *w, uint64_t deadline);
    void *owner;
    /* Timers registered with this wheel and not yet released (in the
     * wheel or not: a fired timer is released when it completes or is
     * dropped). If any remain when the runtime shuts down, the wheel takes
     * a reference on its runtime (`orphaned`), so that they can still lock
     * it and leave; the last one to leave drops that reference. */
    size_t homed;
    bool orphaned;
    struct weft_runtime *rt;
} weft_wheel;

static inline void weft_wheel_lock(weft_wheel *w) {
    if (w->lock) pthread_mutex_lock(w->lock);
}
static inline void weft_wheel_unlock(weft_wheel *w) {
    if (w->lock) pthread_mutex_unlock(w->lock);
}

/* Initialises an empty wheel whose time starts at `now_ms`. */
void weft__wheel_init(weft_wheel *w, uint64_t now_ms);

/* Inserts `e` (e->deadline set, not in any wheel). A deadline at or before
 * the wheel's time is placed in the next slot, so it fires at the next
 * advance. Sets e->wheel = w. O(1). */
void weft__wheel_insert(weft_wheel *w, weft_timer_entry *e);

/* Removes `e` from `w` (it must be in it). O(1). */
void weft__wheel_remove(weft_wheel *w, weft_timer_entry *e);

/* The earliest deadline in the wheel (a ms value), or UINT64_MAX if empty.
 * Never later than the true earliest deadline (it may be earlier for
 * entries in coarse levels, which then cascade without firing). */
uint64_t weft__wheel_next_deadline(const weft_wheel *w);

/* Advances the wheel to `now_ms`: every entry whose deadline is <= now_ms
 * is removed, marked fired (e->fired = 1, e->wheel = NULL) and its waker is
 * taken and woken. Entries in coarser levels whose slot is reached are
 * re-placed at finer levels. Returns the number of entries fired.
 * Entries fire in deadline order (equal deadlines in insertion order); the
 * cost depends on the entries passed, not on how far time jumps. A waker
 * may insert or remove entries (the wheel is consistent while it runs).
 * A `now_ms` earlier than the wheel's time fires nothing. */
size_t weft__wheel_advance(weft_wheel *w, uint64_t now_ms);

/* Releases every entry still in the wheel without waking (drops their
 * wakers, clears e->wheel). Used when the runtime shuts down after every
 * task was dropped; normally the wheel is already empty then. With the lock
 * held (shared wheels). If timers are still registered (futures outside
 * any task, dropped later), keeps the runtime's memory for them. */
void weft__wheel_clear(weft_wheel *w);

/* A timer leaves the wheel's registrations (with the lock held). Returns
 * true if the caller must drop the runtime reference the wheel took at
 * shutdown, after unlocking (it was the last timer of a dead runtime). */
static inline bool weft__wheel_unhome(weft_wheel *w) {
    w->homed--;
    return w->orphaned && w->homed == 0;
}

#endif
