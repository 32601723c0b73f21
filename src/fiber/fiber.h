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

/*
 * What a started fiber needs while it runs, at the top of its stack
 * (below it, the fiber's first frame). Owned by whoever runs the fiber:
 * its resumer, or the fiber itself while it runs. One cache line in
 * builds without sanitizers (a resume touches it; with a thousand fibers
 * taking turns it is a cache miss).
 */
struct weft__stack;
typedef struct weft__fiber_run {
    weft_fiber *fiber;
    struct weft__stack *stack;
    void *caller;                    /* the resumer's saved context while it runs */
    weft_context *cx;                /* the poll that resumed it; NULL while cancelled */
    weft_fiber *outer;               /* the fiber running when it was resumed, if any */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    void *asan_caller_fake;          /* ASan: the resumer's fake stack */
    void *asan_fiber_fake;           /* ASan: the fiber's fake stack while suspended */
    const void *asan_caller_bottom;  /* ASan: the resumer's stack */
    size_t asan_caller_size;
    void *tsan_fiber, *tsan_caller;  /* TSan: this fiber, and its resumer */
#endif
} weft__fiber_run;

/* Awaits after cancellation before a fiber is reported as ignoring it. */
#define WEFT_FIBER_CANCELLED_AWAIT_LIMIT 10000

/* Thread-locals read on every switch use the initial-exec model: one
 * %fs-relative access, also in the shared library (where the default
 * model would call __tls_get_addr). weft's are few bytes of the static
 * TLS space glibc keeps for libraries. */
#define WEFT__TLS_IE __attribute__((tls_model("initial-exec")))

/* The fiber running on this thread (NULL on a thread's own stack). Only
 * read before a switch, or through weft__fiber_running(): a fiber's code
 * after a switch must not reuse an address computed before it. */
extern _Thread_local weft_fiber *weft__fiber_tls WEFT__TLS_IE;

/* weft__fiber_tls, read afresh (never inlined, so never cached). */
weft_fiber *weft__fiber_running(void);

/* From the resumer's side: switches into `f` (which has a context) and
 * returns when it suspends or finishes (fiber/switch.h has the inline
 * version for the hot paths). */
void weft__fiber_resume(weft_fiber *f);

/* The address of this thread's errno, kept by every thread that resumes
 * fibers (set with the alternate signal stack, before its first resume).
 * Read through the thread pointer at each use, so never another
 * thread's; and no call into libc on a switch. */
extern _Thread_local int *weft__errno_addr WEFT__TLS_IE;

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
extern _Thread_local bool weft__overflow_thread_ready WEFT__TLS_IE;
void weft__overflow_install(void);
void weft__overflow_thread_slow(void);

#endif
