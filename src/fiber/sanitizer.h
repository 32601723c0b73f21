/*
 * What the sanitizers must be told about every stack switch. ASan keeps
 * shadow state per stack and a "fake stack" per context for
 * use-after-return detection: each switch is bracketed by
 * __sanitizer_start_switch_fiber (naming the stack we go to) and
 * __sanitizer_finish_switch_fiber (on arrival, learning the stack we came
 * from). TSan models each fiber as its own thread of execution: created,
 * switched to, destroyed. In builds without the sanitizers every hook is
 * an empty inline function.
 */
#ifndef WEFT_FIBER_SANITIZER_H
#define WEFT_FIBER_SANITIZER_H

#include <stddef.h>

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

/* ---- ASan ------------------------------------------------------------------ */

/* About to leave the current stack for [bottom, bottom + size). `fake`
 * receives the current context's fake stack, to be handed back on return;
 * NULL when the current context is leaving for good (a finished fiber):
 * ASan then frees its fake stack. */
static inline void san_start_switch(void **fake, const void *bottom, size_t size) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_start_switch_fiber(fake, bottom, size);
#else
    (void)fake, (void)bottom, (void)size;
#endif
}

/* Arrived back on a stack. `fake` is what start_switch saved when this
 * context left (NULL on a fiber's first entry); the stack we came from is
 * stored in *from_bottom / *from_size (either may be NULL). */
static inline void san_finish_switch(void *fake, const void **from_bottom, size_t *from_size) {
#ifdef WEFT_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, from_bottom, from_size);
#else
    (void)fake, (void)from_bottom, (void)from_size;
#endif
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

/* ---- TSan ------------------------------------------------------------------ */

static inline void *tsan_fiber_create(void) {
#ifdef WEFT_FIBER_TSAN
    return __tsan_create_fiber(0);
#else
    return NULL;
#endif
}

static inline void *tsan_fiber_current(void) {
#ifdef WEFT_FIBER_TSAN
    return __tsan_get_current_fiber();
#else
    return NULL;
#endif
}

/* Called just before the stack switch: everything after it is attributed
 * to `fiber`. The switch synchronises (flags 0): what one side did before
 * the switch happens-before what the other does after it. */
static inline void tsan_fiber_switch(void *fiber) {
#ifdef WEFT_FIBER_TSAN
    __tsan_switch_to_fiber(fiber, 0);
#else
    (void)fiber;
#endif
}

static inline void tsan_fiber_destroy(void *fiber) {
#ifdef WEFT_FIBER_TSAN
    if (fiber) __tsan_destroy_fiber(fiber);
#else
    (void)fiber;
#endif
}

#endif
