/*
 * weft/detail/fiber.h — the control block of a fiber, embedded in
 * weft_fiber. Private: its fields are not part of the API. What a fiber
 * needs only while it runs (its saved context, the future it awaits, the
 * sanitizers' state) lives at the top of its own stack, so a fiber task
 * costs little more than a future task until it starts.
 */
#ifndef WEFT_DETAIL_FIBER_H
#define WEFT_DETAIL_FIBER_H

#include <stddef.h>
#include <stdint.h>

struct weft_future;
struct weft__fiber_run;

/** The control block of a fiber. Private. */
typedef struct weft_fiber_ctl {
    void *(*fn)(void *);
    void *arg;
    void (*arg_drop)(void *);
    void (*out_drop)(void *);
    size_t stack_size;            /* requested; 0: the runtime's */
    struct weft__fiber_run *run;  /* at the top of its stack once started */
    /* Read by every poll of a suspended fiber, so here, next to the task
     * header, rather than on the fiber's stack: the future it waits on,
     * and its saved context. */
    struct weft_future *awaiting;
    void *sp;
    uint32_t flags;
    uint32_t cancelled_awaits;    /* awaits since cancellation */
} weft_fiber_ctl;

#endif /* WEFT_DETAIL_FIBER_H */
