/*
 * Cancelling a fiber. A fiber future is dropped when its task is aborted,
 * when its runtime is destroyed, or when a combinator above it lets it go.
 * A stack cannot simply be thrown away — the fiber holds locks, buffers,
 * descriptors in its locals — so the drop resumes it with every await
 * failing with -ECANCELED, and the fiber unwinds through its own error
 * paths until fn returns. A cancelled fiber never suspends again (its
 * awaits return at once), so one resume runs it to its end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fiber/fiber.h"

void weft__fiber_cancel(weft_fiber *f) {
    weft_fiber_ctl *c = &f->ctl;
    weft__fiber_run *r = c->run;
    if (c->awaiting) {
        weft_future *child = c->awaiting;
        c->awaiting = NULL;
        weft_future_drop(child);
    }
    c->flags |= FIBER_CANCELLED;
    r->cx = NULL;
    weft__fiber_resume(f);
    if (!(c->flags & FIBER_DONE)) {
        /* Only weft_await suspends a fiber, and it does not once cancelled. */
        fprintf(stderr, "weft: fiber %p (fn %p) suspended after it was cancelled\n", (void *)f,
                (void *)(uintptr_t)c->fn);
        abort();
    }
}

void weft__fiber_cancelled_await(weft_fiber *f) {
    weft_fiber_ctl *c = &f->ctl;
    if (++c->cancelled_awaits != WEFT_FIBER_CANCELLED_AWAIT_LIMIT) return;
    fprintf(stderr,
            "weft: fiber %p (fn %p) ignores its cancellation: %u awaits have returned "
            "-ECANCELED since its task was aborted or its runtime destroyed; a cancelled "
            "fiber must unwind and return (see docs/fibers.md, \"Cancellation\")\n",
            (void *)f, (void *)(uintptr_t)c->fn, (unsigned)WEFT_FIBER_CANCELLED_AWAIT_LIMIT);
    fflush(stderr);
#if WEFT_CHECKS
    abort();
#endif
}
