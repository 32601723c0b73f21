/* join: polls every pending child; ready when all are. */
#include "weft/combinator.h"

static weft_poll join_poll(weft_future *f, weft_context *cx) {
    weft_join *j = (weft_join *)f;
    uint32_t n = j->n, start = j->start;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = start + k < n ? start + k : start + k - n;
        weft_future *c = j->children[i];
        if (weft_future_is_ready(c)) continue;
        if (weft_future_poll(c, cx) == WEFT_READY) j->remaining--;
    }
    /* Rotate so that a child that always makes progress cannot always go
     * first and spend the shared budget before the others. */
    j->start = n ? (start + 1) % n : 0;
    return j->remaining == 0 ? WEFT_READY : WEFT_PENDING;
}

static void join_drop(weft_future *f) {
    weft_join *j = (weft_join *)f;
    for (uint32_t i = 0; i < j->n; i++)
        if (!weft_future_is_ready(j->children[i])) weft_future_drop(j->children[i]);
}

static const weft_future_vtable join_vtable = {join_poll, join_drop, "weft_join"};

weft_future *weft_join_init(weft_join *j, weft_future **children, size_t n) {
    weft_future_init(&j->base, &join_vtable);
    j->children = children;
    j->n = (uint32_t)n;
    j->remaining = (uint32_t)n;
    j->start = 0;
    return &j->base;
}
