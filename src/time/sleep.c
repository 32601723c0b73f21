/*
 * sleep and sleep_until: a deadline plus a wheel entry that lives in the
 * future itself, so a timer costs no allocation. The entry joins the wheel
 * only on the first poll that finds the deadline still ahead.
 */
#include <stdbool.h>

#include "runtime/rt.h"
#include "time/clock.h"
#include "time/sleep.h"
#include "time/wheel.h"

static void entry_reset(weft_timer_entry *e, uint64_t deadline) {
    *e = (weft_timer_entry){.deadline = deadline, .waker = WEFT_WAKER_NONE};
}

/* Leaves the wheel and releases the waker: what "done" and "dropped" share.
 * The wheel is the entry's `home` (set by us, never by the wheel), so this
 * is safe while another thread advances a shared wheel. */
static void sleep_release(weft_sleep *s) {
    weft_wheel *w = s->entry.home;
    if (!w) return;
    weft_wheel_lock(w);
    if (s->entry.wheel) weft__wheel_remove(w, &s->entry);
    weft_waker old = weft_waker_take(&s->entry.waker);
    s->entry.home = NULL;
    bool last = weft__wheel_unhome(w);
    struct weft_runtime *rt = w->rt;
    weft_wheel_unlock(w);
    weft_waker_drop(old); /* outside the lock: dropping may free a task */
    if (last) weft__runtime_unref(rt); /* may free the wheel */
}

weft_poll weft__sleep_poll(weft_sleep *s, weft_context *cx) {
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    uint64_t now = weft_clock_ms();
    weft_wheel *w = s->entry.home;
    if (!w) {
        /* Never registered: a deadline already passed needs no wheel. */
        if (s->deadline <= now) {
            s->entry.fired = 1;
            return WEFT_READY;
        }
        w = weft__wheel_for(cx, &s->base);
        weft_wheel_lock(w);
        s->entry.home = w;
        w->homed++;
    } else {
        weft_wheel_lock(w);
    }
    /* The clock check also covers a wheel not advanced yet this turn. */
    bool done = s->entry.fired || s->deadline <= now;
    weft_waker old = WEFT_WAKER_NONE;
    bool last = false;
    if (done) {
        if (s->entry.wheel) weft__wheel_remove(w, &s->entry);
        s->entry.fired = 1;
        old = weft_waker_take(&s->entry.waker);
        s->entry.home = NULL;
        last = weft__wheel_unhome(w);
    } else {
        if (!s->entry.wheel) {
            /* An empty wheel is not advanced by the runtime (that would cost
             * a clock read per turn); bring its time up to date first so the
             * entry lands in a fine slot. */
            if (w->count == 0) weft__wheel_advance(w, now);
            s->entry.deadline = s->deadline;
            weft__wheel_insert(w, &s->entry);
            if (w->on_insert) w->on_insert(w, s->deadline);
        }
        weft_waker_store(&s->entry.waker, &cx->waker);
    }
    struct weft_runtime *rt = w->rt;
    weft_wheel_unlock(w);
    weft_waker_drop(old);
    if (last) weft__runtime_unref(rt);
    return done ? WEFT_READY : WEFT_PENDING;
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
    weft_wheel *w = s->entry.home;
    if (w) {
        weft_wheel_lock(w);
        s->entry.fired = 0;
        if (s->entry.wheel) {
            weft__wheel_remove(w, &s->entry);
            s->entry.deadline = deadline_ms;
            weft__wheel_insert(w, &s->entry);
            if (w->on_insert) w->on_insert(w, deadline_ms);
        }
        weft_wheel_unlock(w);
    } else {
        s->entry.fired = 0;
    }
    /* A completed sleep becomes pending again and may be polled anew. */
    if (s->base.state == WEFT_FUTURE_READY) s->base.state = WEFT_FUTURE_PENDING;
}
