/* The pieces of the future contract that are not inline: the no-op waker,
 * misuse reports, and the coroutine drop/finish hooks. */
#include <stdio.h>
#include <stdlib.h>

#include "weft/coro.h"

static weft_waker noop_clone(void *data) {
    extern const weft_waker_vtable weft__noop_vtable;
    return (weft_waker){&weft__noop_vtable, data};
}
static void noop_op(void *data) { (void)data; }

const weft_waker_vtable weft__noop_vtable = {noop_clone, noop_op, noop_op, noop_op};

weft_waker weft_waker_noop(void) { return (weft_waker){&weft__noop_vtable, NULL}; }

void weft__misuse(const weft_future *f, const char *what) {
    const char *name = (f && f->vtable && f->vtable->name) ? f->vtable->name : "future";
    fprintf(stderr, "weft: misuse: %s %p %s\n", name, (const void *)f, what);
    fflush(stderr);
    abort();
}

static void run_cleanup(weft_future *f) {
    const weft_coro_vtable *vt = (const weft_coro_vtable *)f->vtable;
    if (vt->cleanup) vt->cleanup(f);
}

void weft__coro_drop(weft_future *f) {
    weft_coro *co = (weft_coro *)(f + 1);
    if (co->child) {
        weft_future *child = co->child;
        co->child = NULL;
        weft_future_drop(child);
    }
    run_cleanup(f);
}

void weft__coro_finish(weft_future *f) {
    weft_coro *co = (weft_coro *)(f + 1);
    co->child = NULL;
    run_cleanup(f);
}
