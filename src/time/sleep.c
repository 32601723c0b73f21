/*
 * sleep and sleep_until: a deadline plus a wheel entry that lives in the
 * future itself, so a timer costs no allocation. The entry joins the wheel
 * only on the first poll that finds the deadline still ahead.
 */
#include "runtime/rt.h"
#include "time/clock.h"
#include "time/sleep.h"
#include "time/wheel.h"

static void entry_reset(weft_timer_entry *e, uint64_t deadline) {
    *e = (weft_timer_entry){.deadline = deadline, .waker = WEFT_WAKER_NONE};
}

/* Leaves the wheel and releases the waker: what "done" and "dropped" share. */
static void sleep_release(weft_sleep *s) {
    if (s->entry.wheel) weft_wheel_remove(s->entry.wheel, &s->entry);
    weft_waker_drop(weft_waker_take(&s->entry.waker));
}

weft_poll weft__sleep_poll(weft_sleep *s, weft_context *cx) {
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    /* The clock check also covers deadlines that passed before the first
     * poll and sleeps whose wheel has not been advanced yet this turn. */
    if (s->entry.fired || s->deadline <= weft_clock_ms()) {
        sleep_release(s);
        s->entry.fired = 1;
        return WEFT_READY;
    }
    if (!s->entry.wheel) {
        struct weft_wheel *w = weft__wheel_for(cx, &s->base);
        s->entry.deadline = s->deadline;
        weft_wheel_insert(w, &s->entry);
    }
    weft_waker_store(&s->entry.waker, &cx->waker);
    return WEFT_PENDING;
}

static weft_poll sleep_poll(weft_future *f, weft_context *cx) {
    return weft__sleep_poll((weft_sleep *)f, cx);
}

void weft__sleep_drop(weft_future *f) { sleep_release((weft_sleep *)f); }

static const weft_future_vtable sleep_vtable = {sleep_poll, weft__sleep_drop, "weft_sleep"};

void weft__sleep_arm(weft_sleep *s, const weft_future_vtable *vt, uint64_t deadline_ms) {
    weft_future_init(&s->base, vt);
    s->deadline = deadline_ms;
    entry_reset(&s->entry, deadline_ms);
}

WEFT_API weft_future *weft_sleep_init(weft_sleep *s, uint64_t ms) {
    /* Round the deadline up to the next whole millisecond of the ns clock:
     * firing when weft_clock_ms() reaches it then means at least `ms` real
     * milliseconds have passed, not ms-1 and a fraction. */
    uint64_t deadline;
    if (ms == 0) {
        deadline = weft_clock_ms();
    } else {
        uint64_t now_ns = weft__clock_ns();
        deadline = weft__sat_add(weft__sat_add(now_ns / 1000000u, ms), now_ns % 1000000u != 0);
    }
    weft__sleep_arm(s, &sleep_vtable, deadline);
    return &s->base;
}

WEFT_API weft_future *weft_sleep_until_init(weft_sleep *s, uint64_t deadline_ms) {
    weft__sleep_arm(s, &sleep_vtable, deadline_ms);
    return &s->base;
}

WEFT_API void weft_sleep_reset(weft_sleep *s, uint64_t deadline_ms) {
#if WEFT_CHECKS
    if (s->base.state == WEFT_FUTURE_DROPPED) weft__misuse(&s->base, "reset after it was dropped");
#endif
    s->deadline = deadline_ms;
    s->entry.fired = 0;
    if (s->entry.wheel) {
        struct weft_wheel *w = s->entry.wheel;
        weft_wheel_remove(w, &s->entry);
        s->entry.deadline = deadline_ms;
        weft_wheel_insert(w, &s->entry);
    }
    /* A completed sleep becomes pending again and may be polled anew. */
    if (s->base.state == WEFT_FUTURE_READY) s->base.state = WEFT_FUTURE_PENDING;
}
