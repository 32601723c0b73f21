/*
 * Fibers inside weft: the control block's flags, the switch protocol
 * between a fiber and whoever resumes it, and the hooks the other files
 * of src/fiber share.
 */
#ifndef WEFT_SRC_FIBER_H
#define WEFT_SRC_FIBER_H

#include <stdbool.h>

#include "weft/fiber.h"

enum {
    FIBER_STARTED = 1u << 0,   /* it has a context on its stack (fn was called or is about to be) */
    FIBER_DONE = 1u << 1,      /* fn returned */
    FIBER_CANCELLED = 1u << 2, /* its awaits return -ECANCELED */
};

/* Awaits after cancellation before a fiber is reported as ignoring it. */
#define WEFT_FIBER_CANCELLED_AWAIT_LIMIT 10000

/* The fiber running on this thread (NULL on a thread's own stack). Only
 * read before a switch, or through weft__fiber_running(): a fiber's code
 * after a switch must not reuse an address computed before it. */
extern _Thread_local weft_fiber *weft__fiber_tls;

/* weft__fiber_tls, read afresh (never inlined, so never cached). */
weft_fiber *weft__fiber_running(void);

/* From the resumer's side: switches into `f` (which has a context) and
 * returns when it suspends or finishes. */
void weft__fiber_resume(weft_fiber *f);

/* From the fiber: switches back to its resumer; returns when resumed. */
void weft__fiber_suspend(weft_fiber *f);

/* The first code on a fiber's stack: runs fn, then leaves for good. */
void weft__fiber_entry(void *fiber);

/* Cancels a started fiber that has not finished: drops the future it
 * waits on, marks it cancelled and resumes it until fn returns. */
void weft__fiber_cancel(weft_fiber *f);

/* An await in a cancelled fiber: counts it, reports a fiber that ignores
 * its cancellation. */
void weft__fiber_cancelled_await(weft_fiber *f);

/* Stack overflow reporting (overflow.c). The SIGSEGV handler is installed
 * once; each thread that resumes fibers gets an alternate signal stack. */
#define WEFT__ALTSTACK_SIZE (64u * 1024u)
extern _Thread_local bool weft__overflow_thread_ready;
void weft__overflow_install(void);
void weft__overflow_thread_slow(void);

#endif
