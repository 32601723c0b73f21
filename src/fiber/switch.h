/*
 * The switch protocol between a fiber and its resumer (the fiber task's
 * poll, or whoever drops it). Each direction is one weft__ctx_switch,
 * bracketed by what the sanitizers must be told. The thread-local
 * "running fiber" is set around the resume and restored after it, so
 * fibers may nest (a fiber awaiting a fiber future resumes it from its own
 * stack).
 *
 * Inline on purpose: a stack switch leaves the CPU's return-address
 * predictor holding the other side's return addresses, so every `ret`
 * between the switch and the code that loops (weft_await's caller, the
 * task's poll) is mispredicted once. Inlining resume into the fiber's
 * poll and suspend into weft_await leaves one such return on each side.
 *
 * errno is per thread and fibers share their thread: each side of a
 * switch keeps its own, as a thread would across a blocking call. It is
 * reached through weft__errno_addr, a thread-local read afresh after the
 * switch (not through __errno_location(), whose result compilers keep
 * across calls).
 */
#ifndef WEFT_FIBER_SWITCH_H
#define WEFT_FIBER_SWITCH_H

#include "fiber/context.h"
#include "fiber/fiber.h"
#include "fiber/sanitizer.h"
#include "fiber/stack.h"

static inline __attribute__((always_inline)) void fiber_resume(weft_fiber *f) {
    weft__fiber_run *r = f->ctl.run;
    if (__builtin_expect(!weft__overflow_thread_ready, 0)) weft__overflow_thread_slow();
    /* The resumer never changes threads while the fiber runs (the fiber
     * comes back to this very call), so these thread-local accesses may
     * share one address. */
    r->outer = weft__fiber_tls;
    weft__fiber_tls = f;
    san_resume_leave(r);
    int saved_errno = *weft__errno_addr;
    weft__ctx_switch(&r->caller, f->ctl.sp);
    san_resume_back(r);
    *weft__errno_addr = saved_errno;
    weft__fiber_tls = r->outer;
}

static inline __attribute__((always_inline)) void fiber_suspend(weft_fiber *f, weft__fiber_run *r) {
    san_suspend_leave(r);
    int saved_errno = *weft__errno_addr;
    weft__ctx_switch(&f->ctl.sp, r->caller);
    /* Resumed, possibly by another resumer (and, on a current_thread
     * runtime driven from several threads in turn, on another thread):
     * nothing computed before the switch from thread-locals is reused. */
    san_suspend_back(r);
    *weft__errno_addr = saved_errno;
}

#endif
