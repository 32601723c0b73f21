/*
 * weft/detail/fiber.h — the control block of a fiber, embedded in
 * weft_fiber. Private: its fields are not part of the API. The layout is
 * the same in every build (the sanitizer fields are unused without the
 * sanitizers), so an application and the library may be built
 * differently.
 */
#ifndef WEFT_DETAIL_FIBER_H
#define WEFT_DETAIL_FIBER_H

#include <stddef.h>
#include <stdint.h>

struct weft_future;
struct weft_context;
struct weft_fiber;
struct weft__stack;

/** The control block of a fiber. Private. */
typedef struct weft_fiber_ctl {
    void *sp;                        /* the fiber's saved context while suspended */
    void *caller;                    /* the resumer's saved context while it runs */
    struct weft__stack *stack;       /* NULL until it has one */
    void *(*fn)(void *);
    void *arg;
    void (*arg_drop)(void *);
    void (*out_drop)(void *);
    size_t stack_size;               /* requested; 0: the runtime's */
    struct weft_future *awaiting;    /* the future it is suspended on */
    struct weft_context *cx;         /* the poll that resumed it; NULL while cancelled */
    struct weft_fiber *outer;        /* the fiber running when it was resumed, if any */
    uint32_t flags;
    uint32_t cancelled_awaits;       /* awaits since cancellation */
    void *asan_caller_fake;          /* ASan: the resumer's fake stack */
    void *asan_fiber_fake;           /* ASan: the fiber's fake stack while suspended */
    const void *asan_caller_bottom;  /* ASan: the resumer's stack */
    size_t asan_caller_size;
    void *tsan_fiber, *tsan_caller;  /* TSan: this fiber, and its resumer */
} weft_fiber_ctl;

#endif /* WEFT_DETAIL_FIBER_H */
