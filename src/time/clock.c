/*
 * The clock every weft deadline is expressed in: CLOCK_MONOTONIC, so that
 * wall-clock jumps (NTP, settimeofday) never fire or stall timers.
 */
#include <time.h>

#include "time/clock.h"
#include "weft/time.h"

uint64_t weft__clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

WEFT_API uint64_t weft_clock_ms(void) { return weft__clock_ns() / 1000000u; }
