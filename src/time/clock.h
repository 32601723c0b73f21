/*
 * Internal clock helpers shared by the time module.
 */
#ifndef WEFT_TIME_CLOCK_H
#define WEFT_TIME_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds; weft_clock_ms() is this divided down. */
uint64_t weft__clock_ns(void);

/* a + b, saturating at UINT64_MAX (deadlines "never" must not wrap to "now"). */
static inline uint64_t weft__sat_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
