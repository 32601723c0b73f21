/*
 * Fiber stacks: mmap'd in slabs, each stack above a guard region, pooled
 * per size and reused. The pool is process-wide (a stack can go to any
 * runtime's fiber); its address space is kept for reuse, and the pages of
 * stacks that sit idle beyond a small hot set are given back to the
 * kernel.
 */
#ifndef WEFT_FIBER_STACK_H
#define WEFT_FIBER_STACK_H

#include <stdbool.h>
#include <stddef.h>

/* The default stack size: what weft's own polls and an ordinary handler
 * need with room to spare. Only the pages a fiber touches are resident. */
#ifndef WEFT_FIBER_STACK_DEFAULT
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_FIBER_STACK_DEFAULT (1024u * 1024u) /* sanitizers grow every frame */
#else
#define WEFT_FIBER_STACK_DEFAULT (256u * 1024u)
#endif
#endif
#define WEFT_FIBER_STACK_MIN (16u * 1024u)
#define WEFT_FIBER_STACK_MAX ((size_t)1 << 30)
/* Below every stack: an access there stops the process with a message. */
#define WEFT_FIBER_GUARD (16u * 1024u)
/* Idle stacks kept with their pages per size; the rest are given back. */
#define WEFT_FIBER_HOT_STACKS 128

typedef struct weft__stack {
    void *lo, *hi;                 /* the usable stack: [lo, hi); the guard is below lo */
    struct weft__stack *next_free; /* in its class's hot or cold list */
    struct weft__stack_class *cls;
} weft__stack;

/* Rounds a requested size up to whole pages; returns 0 if it is out of
 * range (0 is not a request: callers substitute their default first). */
size_t weft__stack_round(size_t requested);

/* Takes a stack of exactly `size` bytes (a weft__stack_round result) from
 * the pool, mapping a new slab if none is free. Returns 0, or -ENOMEM
 * (no address space, or the guard could not be installed). Any thread. */
int weft__stack_acquire(size_t size, weft__stack **out);

/* Gives a stack back to the pool. Any thread. */
void weft__stack_release(weft__stack *s);

/* If `addr` lies in the guard region of a pool stack, returns that stack's
 * usable size; else 0. Async-signal-safe (reads only published slabs). */
size_t weft__stack_guard_hit(const void *addr);

/* Counts for tests and benchmarks: stacks handed out, idle with their
 * pages (hot: in the pool or a thread's cache), idle with their pages
 * given back (cold), and mapped slabs. A thread's cache is read while it
 * may change: exact only when no fiber starts or ends meanwhile. */
typedef struct weft__stack_stats {
    size_t in_use, hot, cold, slabs;
} weft__stack_stats;
void weft__stack_stats_get(weft__stack_stats *out);

#endif
