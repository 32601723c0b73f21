/*
 * What the sanitizers must be told about every stack switch. ASan keeps
 * shadow state per stack and a "fake stack" per context for
 * use-after-return detection: each switch is bracketed by
 * __sanitizer_start_switch_fiber (naming the stack we go to) and
 * __sanitizer_finish_switch_fiber (on arrival, learning the stack we came
 * from). TSan models each fiber as its own thread of execution: created,
 * switched to, destroyed. In builds without the sanitizers every hook is
 * an empty inline function and the run state has no fields for them.
 */
#ifndef WEFT_FIBER_SANITIZER_H
#define WEFT_FIBER_SANITIZER_H

#include <stddef.h>

#include "fiber/fiber.h"
#include "fiber/stack.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_FIBER_TSAN 1
#endif
#endif

#ifdef WEFT_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef WEFT_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* A fiber starts (its TSan identity) and ends. */
static inline void san_fiber_create(weft__fiber_run *r) {
#ifdef WEFT_FIBER_TSAN
    r->tsan_fiber = __tsan_create_fiber(0);
#else
    (void)r;
#endif
}

static inline void san_fiber_destroy(weft__fiber_run *r) {
#ifdef WEFT_FIBER_TSAN
    if (r->tsan_fiber) __tsan_destroy_fiber(r->tsan_fiber);
#else
    (void)r;
#endif
}

/* The resumer is about to switch to the fiber: ASan learns the stack we
 * go to and keeps the resumer's fake stack; TSan attributes what follows
 * to the fiber (a switch synchronises: what one side did before it
 * happens-before what the other does after it). */
static inline void san_resume_leave(weft__fiber_run *r) {
#ifdef WEFT_FIBER_TSAN
    r->tsan_caller = __tsan_get_current_fiber();
#endif
#ifdef WEFT_FIBER_ASAN
    __sanitizer_start_switch_fiber(&r->asan_caller_fake, r->stack->lo,
                                   (size_t)((char *)r->stack->hi - (char *)r->stack->lo));
#endif
#ifdef WEFT_FIBER_TSAN
    __tsan_switch_to_fiber(r->tsan_fiber, 0);
#endif
    (void)r;
}

/* Back on the resumer's stack. */
static inline void san_resume_back(weft__fiber_run *r) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_finish_switch_fiber(r->asan_caller_fake, NULL, NULL);
#endif
    (void)r;
}

/* The fiber suspends: it goes back to the stack it came from. */
static inline void san_suspend_leave(weft__fiber_run *r) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_start_switch_fiber(&r->asan_fiber_fake, r->asan_caller_bottom, r->asan_caller_size);
#endif
#ifdef WEFT_FIBER_TSAN
    __tsan_switch_to_fiber(r->tsan_caller, 0);
#endif
    (void)r;
}

/* The fiber is resumed: it learns its resumer's stack (which may differ
 * from the last one's: fibers nest). */
static inline void san_suspend_back(weft__fiber_run *r) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_finish_switch_fiber(r->asan_fiber_fake, &r->asan_caller_bottom, &r->asan_caller_size);
#endif
    (void)r;
}

/* The first code on the fiber's stack. */
static inline void san_entry(weft__fiber_run *r) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_finish_switch_fiber(NULL, &r->asan_caller_bottom, &r->asan_caller_size);
#endif
    (void)r;
}

/* The fiber leaves for good: ASan frees its fake stack (NULL). */
static inline void san_exit(weft__fiber_run *r) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_start_switch_fiber(NULL, r->asan_caller_bottom, r->asan_caller_size);
#endif
#ifdef WEFT_FIBER_TSAN
    __tsan_switch_to_fiber(r->tsan_caller, 0);
#endif
    (void)r;
}

/* A stack goes back to the pool: the frames that were live on it when its
 * fiber left for good never returned, and their redzones must not trip up
 * the next fiber that gets it. */
static inline void san_stack_unpoison(void *lo, size_t size) {
#ifdef WEFT_FIBER_ASAN
    __asan_unpoison_memory_region(lo, size);
#else
    (void)lo, (void)size;
#endif
}

#endif
