/*
 * The out-of-line half of the switch protocol (fiber/switch.h): the
 * thread-local running fiber, the first code on every fiber's stack, and
 * a resume for the paths that are not hot (cancellation).
 */
#include <stdlib.h>

#include "fiber/switch.h"

_Thread_local weft_fiber *weft__fiber_tls WEFT__TLS_IE;

__attribute__((noinline)) weft_fiber *weft__fiber_running(void) {
    weft_fiber *f = weft__fiber_tls;
    __asm__ volatile("" ::: "memory");
    return f;
}

_Thread_local int *weft__errno_addr WEFT__TLS_IE;

void weft__fiber_resume(weft_fiber *f) { fiber_resume(f); }

void weft__fiber_entry(void *p) {
    weft__fiber_run *r = p;
    weft_fiber *f = r->fiber;
    san_entry(r);
    *weft__errno_addr = 0; /* as a new thread's */
    f->output.value = f->ctl.fn(f->ctl.arg);
    f->ctl.flags |= FIBER_DONE;
    /* Leave for good: ASan frees the fiber's fake stack (NULL), the
     * resumer releases the stack and the TSan fiber. */
    san_exit(r);
    weft__ctx_switch(&f->ctl.sp, r->caller);
    abort(); /* a finished fiber is never resumed */
}
