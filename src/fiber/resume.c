/*
 * The switch protocol between a fiber and its resumer (the fiber task's
 * poll, or whoever drops it). Each direction is one weft__ctx_switch,
 * bracketed by what the sanitizers must be told. The thread-local
 * "running fiber" is set around the resume and restored after it, so
 * fibers may nest (a fiber awaiting a fiber future resumes it from its own
 * stack).
 */
#include <errno.h>
#include <stdlib.h>

#include "fiber/context.h"
#include "fiber/fiber.h"
#include "fiber/sanitizer.h"
#include "fiber/stack.h"

_Thread_local weft_fiber *weft__fiber_tls;

__attribute__((noinline)) weft_fiber *weft__fiber_running(void) {
    weft_fiber *f = weft__fiber_tls;
    __asm__ volatile("" ::: "memory");
    return f;
}

/* errno is per thread and fibers share their thread: each side of a
 * switch keeps its own, as a thread would across a blocking call. The
 * store after a switch goes through a call that is never inlined, so that
 * errno's address is computed afresh (compilers keep it across calls). */
static __attribute__((noinline)) void restore_errno(int value) { errno = value; }

void weft__fiber_resume(weft_fiber *f) {
    weft_fiber_ctl *c = &f->ctl;
    if (__builtin_expect(!weft__overflow_thread_ready, 0)) weft__overflow_thread_slow();
    /* The resumer never changes threads while the fiber runs (the fiber
     * comes back to this very call), so these thread-local accesses may
     * share one address. */
    c->outer = weft__fiber_tls;
    weft__fiber_tls = f;
    c->tsan_caller = tsan_fiber_current();
    san_start_switch(&c->asan_caller_fake, c->stack->lo,
                     (size_t)((char *)c->stack->hi - (char *)c->stack->lo));
    tsan_fiber_switch(c->tsan_fiber);
    int saved_errno = errno;
    weft__ctx_switch(&c->caller, c->sp);
    san_finish_switch(c->asan_caller_fake, NULL, NULL);
    restore_errno(saved_errno);
    weft__fiber_tls = c->outer;
    c->outer = NULL;
}

void weft__fiber_suspend(weft_fiber *f) {
    weft_fiber_ctl *c = &f->ctl;
    san_start_switch(&c->asan_fiber_fake, c->asan_caller_bottom, c->asan_caller_size);
    tsan_fiber_switch(c->tsan_caller);
    int saved_errno = errno;
    weft__ctx_switch(&c->sp, c->caller);
    /* Resumed, possibly by another resumer (and, on a current_thread
     * runtime driven from several threads in turn, on another thread):
     * nothing computed before the switch from thread-locals is reused. */
    san_finish_switch(c->asan_fiber_fake, &c->asan_caller_bottom, &c->asan_caller_size);
    restore_errno(saved_errno);
}

void weft__fiber_entry(void *p) {
    weft_fiber *f = p;
    weft_fiber_ctl *c = &f->ctl;
    san_finish_switch(NULL, &c->asan_caller_bottom, &c->asan_caller_size);
    restore_errno(0); /* as a new thread's */
    f->output.value = c->fn(c->arg);
    c->flags |= FIBER_DONE;
    /* Leave for good: ASan frees the fiber's fake stack (NULL), the
     * resumer releases the stack and the TSan fiber. */
    san_start_switch(NULL, c->asan_caller_bottom, c->asan_caller_size);
    tsan_fiber_switch(c->tsan_caller);
    weft__ctx_switch(&c->sp, c->caller);
    abort(); /* a finished fiber is never resumed */
}
