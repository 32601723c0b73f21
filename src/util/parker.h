/*
 * The thread parker: one atomic word that a thread sleeps on until another
 * thread unparks it (Linux futex). An unpark that comes before the park is
 * kept, so the park then returns at once without a system call; an unpark
 * of a thread that is not parked and not about to park only makes its next
 * park return at once. A park returns only after an unpark (never
 * spuriously), consuming it.
 *
 * One parker has one parking thread at a time; any thread may unpark it.
 *
 * A thread can also sleep somewhere else (the multi_thread worker sleeps in
 * the I/O driver): it marks the parker "parked elsewhere" first, and an
 * unparker that finds that mark must wake it there itself
 * (weft__parker_unpark returns WEFT_PARKER_ELSEWHERE).
 */
#ifndef WEFT_UTIL_PARKER_H
#define WEFT_UTIL_PARKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
    WEFT_PARKER_EMPTY = 0,     /* running, no unpark pending */
    WEFT_PARKER_NOTIFIED = 1,  /* an unpark is pending */
    WEFT_PARKER_PARKED = 2,    /* asleep on the futex */
    WEFT_PARKER_ELSEWHERE = 3, /* asleep elsewhere: the unparker wakes it there */
};

typedef struct weft_parker {
    _Atomic uint32_t state;
} weft_parker;

static inline void weft__parker_init(weft_parker *p) { atomic_init(&p->state, WEFT_PARKER_EMPTY); }

/* Sleeps until unparked (returns at once if an unpark is pending), and
 * consumes the unpark. Everything the unparker wrote before unparking is
 * visible after. The parker's thread only. */
void weft__parker_park(weft_parker *p);

/* Wakes the parker's thread, or makes its next park return at once.
 * Returns the state it found: WEFT_PARKER_ELSEWHERE means the thread sleeps
 * somewhere else and the caller must wake it there. Any thread. */
uint32_t weft__parker_unpark(weft_parker *p);

/* Before sleeping elsewhere: false if an unpark is pending (it is consumed:
 * do not sleep), true if the parker is now marked ELSEWHERE. */
bool weft__parker_begin_elsewhere(weft_parker *p);
/* After sleeping elsewhere: clears the mark or a pending unpark (the sleep
 * is over either way). The parker's thread only. */
void weft__parker_end_elsewhere(weft_parker *p);

#endif
