/* Deadlines for timed condvar waits; see deadline.h. */
#include "util/deadline.h"

#include <stdint.h>

#define TIME_T_MAX ((time_t)((UINTMAX_C(1) << (sizeof(time_t) * 8 - 1)) - 1))

void weft__timespec_add_ms(struct timespec *ts, uint64_t ms) {
    uint64_t secs = ms / 1000;
    long nsec = ts->tv_nsec + (long)(ms % 1000) * 1000000L; /* < 2e9: fits a long */
    if (nsec >= 1000000000L) {
        nsec -= 1000000000L;
        secs++;
    }
    if (secs > (uint64_t)(TIME_T_MAX - ts->tv_sec)) {
        ts->tv_sec = TIME_T_MAX;
        ts->tv_nsec = 999999999L;
        return;
    }
    ts->tv_sec += (time_t)secs;
    ts->tv_nsec = nsec;
}

struct timespec weft__deadline_after_ms(uint64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    weft__timespec_add_ms(&ts, ms);
    return ts;
}

void weft__cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}
