/*
 * interval: a sleep re-armed for each tick. The tick future is the
 * interval's own weft_sleep with a vtable whose poll, on completion, books
 * the tick and computes the next deadline by the missed-tick policy.
 */
#include <errno.h>

#include "time/clock.h"
#include "time/sleep.h"

/* The deadline of the tick after the one scheduled at `due`, delivered at `now`. */
static uint64_t next_tick(const weft_interval *iv, uint64_t due, uint64_t now) {
    uint64_t next = weft__sat_add(due, iv->period);
    if (now < next) return next; /* on time (or late by less than a period) */
    switch (iv->policy) {
    case WEFT_MISSED_SKIP:
        /* The first point of the original schedule strictly after now. */
        return weft__sat_add(now, iv->period - (now - due) % iv->period);
    case WEFT_MISSED_DELAY:
        return weft__sat_add(now, iv->period);
    case WEFT_MISSED_BURST:
    default:
        return next; /* already due: the next poll delivers it at once */
    }
}

static weft_poll tick_poll(weft_future *f, weft_context *cx) {
    weft_interval *iv = (weft_interval *)f; /* the sleep is its first member */
    if (weft__sleep_poll(&iv->sleep, cx) == WEFT_PENDING) return WEFT_PENDING;
    iv->last_tick = iv->next;
    iv->ticks++;
    iv->next = next_tick(iv, iv->next, weft_clock_ms());
    return WEFT_READY;
}

static const weft_future_vtable tick_vtable = {tick_poll, weft__sleep_drop, "weft_interval_tick"};

WEFT_API int weft_interval_init(weft_interval *iv, uint64_t period_ms, weft_missed_tick policy) {
    if (period_ms == 0 || (unsigned)policy > WEFT_MISSED_DELAY) return -EINVAL;
    uint64_t now = weft_clock_ms();
    iv->period = period_ms;
    iv->next = now; /* the first tick completes immediately */
    iv->ticks = 0;
    iv->policy = policy;
    iv->last_tick = 0;
    weft__sleep_arm(&iv->sleep, &tick_vtable, now);
    return 0;
}

WEFT_API weft_future *weft_interval_tick(weft_interval *iv) {
    /* A pending tick is the same tick: hand it back as it is. A delivered
     * or dropped one is replaced by a fresh future for iv->next (a dropped
     * tick was not delivered, so iv->next has not moved). */
    uint32_t state = iv->sleep.base.state;
    if (state == WEFT_FUTURE_READY || state == WEFT_FUTURE_DROPPED)
        weft__sleep_arm(&iv->sleep, &tick_vtable, iv->next);
    return &iv->sleep.base;
}

WEFT_API void weft_interval_destroy(weft_interval *iv) {
    if (iv->sleep.base.state != WEFT_FUTURE_DROPPED) weft_future_drop(&iv->sleep.base);
}
