/*
 * Absolute deadlines for the timed waits on CLOCK_MONOTONIC condvars
 * (pthread_cond_timedwait rejects a tv_nsec of 1e9 or more with EINVAL, so
 * every deadline is built here, normalised for any duration).
 */
#ifndef WEFT_UTIL_DEADLINE_H
#define WEFT_UTIL_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* `*ts` plus `ms` milliseconds, normalised (0 <= tv_nsec < 1e9). A sum past
 * what time_t holds is clamped to the largest time_t. Any thread. */
void weft__timespec_add_ms(struct timespec *ts, uint64_t ms);

/* CLOCK_MONOTONIC now plus `ms` milliseconds (see weft__timespec_add_ms),
 * for a condvar whose clock is CLOCK_MONOTONIC. Any thread. */
struct timespec weft__deadline_after_ms(uint64_t ms);

/* Makes `c` a condvar whose timed waits use CLOCK_MONOTONIC, the clock of
 * weft__deadline_after_ms. */
#include <pthread.h>
void weft__cond_init_monotonic(pthread_cond_t *c);

#endif
