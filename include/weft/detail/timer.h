/*
 * weft/detail/timer.h — the timing wheel's node, embedded in every timer
 * future (weft_sleep, and through it intervals and timeouts). Private: its
 * fields belong to the runtime's timer wheel.
 */
#ifndef WEFT_DETAIL_TIMER_H
#define WEFT_DETAIL_TIMER_H

#include <stdint.h>

#include "../waker.h"
#include "list.h"

/** A node of the timing wheel, embedded in every timer future. Private. */
typedef struct weft_timer_entry {
    weft_link link;          /* in a wheel slot */
    uint64_t deadline;       /* ms on the wheel's clock */
    weft_waker waker;
    void *wheel;             /* the wheel it is in, NULL if none (written under the wheel's lock) */
    void *home;              /* the wheel it was registered with (written by its owner only) */
    uint32_t fired;          /* set by the wheel when the deadline passed */
    uint32_t slot;           /* level*64+slot index, for O(1) removal */
} weft_timer_entry;

#endif /* WEFT_DETAIL_TIMER_H */
