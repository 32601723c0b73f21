/* select: the first child to complete wins; losers dropped or handed back. */
#include "weft/combinator.h"

static void drop_pending_children(weft_select *s) {
    for (uint32_t i = 0; i < s->n; i++) {
        weft_future *c = s->children[i];
        if (c->state == WEFT_FUTURE_FRESH || c->state == WEFT_FUTURE_PENDING) weft_future_drop(c);
    }
}

static weft_poll select_poll(weft_future *f, weft_context *cx) {
    weft_select *s = (weft_select *)f;
    uint32_t n = s->n, start = s->start;
    s->start = n ? (start + 1) % n : 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = start + k < n ? start + k : start + k - n;
        if (weft_future_poll(s->children[i], cx) == WEFT_READY) {
            s->winner = (int)i;
            if (s->losers == WEFT_SELECT_DROP_LOSERS) drop_pending_children(s);
            return WEFT_READY;
        }
    }
    return WEFT_PENDING;
}

static void select_drop(weft_future *f) { drop_pending_children((weft_select *)f); }

static const weft_future_vtable select_vtable = {select_poll, select_drop, "weft_select"};

weft_future *weft_select_init(weft_select *s, weft_future **children, size_t n,
                              weft_select_losers losers) {
    weft_future_init(&s->base, &select_vtable);
    s->children = children;
    s->n = (uint32_t)n;
    s->start = 0;
    s->losers = losers;
    s->winner = -1;
    return &s->base;
}
