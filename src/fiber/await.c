/* weft_await and the other calls a fiber makes about itself. */
#include <errno.h>

#include "fiber/switch.h"
#include "weft/combinator.h"

int weft_await(weft_future *fut) {
    if (!fut) return -EINVAL;
    weft_fiber *f = weft__fiber_tls;
    if (!f) {
        weft_future_drop(fut);
        return -EPERM;
    }
    if (f->ctl.flags & FIBER_CANCELLED) {
        weft_future_drop(fut);
        weft__fiber_cancelled_await(f);
        return -ECANCELED;
    }
    weft__fiber_run *r = f->ctl.run;
    /* The first poll runs here, on the fiber's stack: a future that is
     * ready at once (data already there, a free lock) costs no switch. */
    if (weft_future_poll(fut, r->cx) == WEFT_READY) return 0;
    f->ctl.awaiting = fut;
    fiber_suspend(f, r);
    /* Resumed because `fut` is ready (the task's poll cleared awaiting),
     * or cancelled (the drop dropped it). */
    return (f->ctl.flags & FIBER_CANCELLED) ? -ECANCELED : 0;
}

bool weft_in_fiber(void) { return weft__fiber_running() != NULL; }

bool weft_fiber_is_cancelled(void) {
    weft_fiber *f = weft__fiber_running();
    return f && (f->ctl.flags & FIBER_CANCELLED);
}

int weft_fiber_yield(void) {
    weft_yield_now y;
    return weft_await(weft_yield_now_init(&y));
}
