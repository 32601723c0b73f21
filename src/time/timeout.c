/*
 * timeout: races an inner future against a sleep. The inner future is
 * polled first, so an inner future that is ready wins even if the deadline
 * passed too (its work is done; throwing it away would lose it).
 */
#include <errno.h>

#include "time/sleep.h"

static weft_poll timeout_poll(weft_future *f, weft_context *cx) {
    weft_timeout *t = (weft_timeout *)f;
    uint32_t budget_before = cx->budget;
    if (weft_future_poll(t->inner, cx) == WEFT_READY) {
        t->result = 0;
        weft_future_drop(&t->sleep.base);
        return WEFT_READY;
    }
    /* If the inner future spent the last of the budget, check the deadline
     * anyway (as Tokio does): an inner future that always exhausts the
     * budget must not be able to outrun its time limit. */
    weft_poll r;
    if (budget_before > 0 && cx->budget == 0) {
        cx->budget = 1;
        r = weft_future_poll(&t->sleep.base, cx);
        cx->budget = 0;
    } else {
        r = weft_future_poll(&t->sleep.base, cx);
    }
    if (r == WEFT_PENDING) return WEFT_PENDING;
    weft_future_drop(t->inner);
    t->result = -ETIMEDOUT;
    return WEFT_READY;
}

static void timeout_drop(weft_future *f) {
    weft_timeout *t = (weft_timeout *)f;
    weft_future_drop(t->inner);
    weft_future_drop(&t->sleep.base);
}

static const weft_future_vtable timeout_vtable = {timeout_poll, timeout_drop, "weft_timeout"};

WEFT_API weft_future *weft_timeout_init(weft_timeout *t, weft_future *inner, uint64_t ms) {
    weft_future_init(&t->base, &timeout_vtable);
    t->inner = inner;
    weft_sleep_init(&t->sleep, ms);
    t->result = 0;
    return &t->base;
}
