/* The small futures: yield_now, ready, poll_fn. */
#include "weft/combinator.h"

static weft_poll yield_poll(weft_future *f, weft_context *cx) {
    weft_yield_now *y = (weft_yield_now *)f;
    if (y->yielded) return WEFT_READY;
    y->yielded = true;
    weft_waker_wake_by_ref(&cx->waker);
    return WEFT_PENDING;
}
static const weft_future_vtable yield_vtable = {yield_poll, NULL, "weft_yield_now"};

weft_future *weft_yield_now_init(weft_yield_now *y) {
    weft_future_init(&y->base, &yield_vtable);
    y->yielded = false;
    return &y->base;
}

static weft_poll ready_poll(weft_future *f, weft_context *cx) {
    (void)f, (void)cx;
    return WEFT_READY;
}
static const weft_future_vtable ready_vtable = {ready_poll, NULL, "weft_ready"};

weft_future *weft_ready_init(weft_ready *r) {
    weft_future_init(&r->base, &ready_vtable);
    return &r->base;
}

static weft_poll poll_fn_poll(weft_future *f, weft_context *cx) {
    weft_poll_fn *p = (weft_poll_fn *)f;
    return p->fn(p->state, cx);
}
static void poll_fn_drop(weft_future *f) {
    weft_poll_fn *p = (weft_poll_fn *)f;
    if (p->drop) p->drop(p->state);
}
static const weft_future_vtable poll_fn_vtable = {poll_fn_poll, poll_fn_drop, "weft_poll_fn"};

weft_future *weft_poll_fn_init(weft_poll_fn *p, weft_poll_fn_t fn, void *state,
                               void (*drop)(void *state)) {
    weft_future_init(&p->base, &poll_fn_vtable);
    p->fn = fn;
    p->drop = drop;
    p->state = state;
    return &p->base;
}
