/*
 * The machine context switch under every fiber: save the registers a call
 * must preserve, swap stacks, restore the other side's. One implementation
 * per architecture (switch_x86_64.c, switch_aarch64.c), and a portable one
 * over ucontext (switch_ucontext.c) for the others, or when
 * WEFT_FIBER_UCONTEXT is defined. docs/fibers.md has the measurements
 * behind the choice.
 */
#ifndef WEFT_FIBER_CONTEXT_H
#define WEFT_FIBER_CONTEXT_H

#include <stddef.h>

/*
 * Saves the caller's context on its own stack, stores its handle in *save,
 * and resumes the context `load` (a handle stored by an earlier switch, or
 * made by weft__ctx_make). Returns when some later switch resumes *save.
 * The handle is the saved stack pointer (ucontext: a ucontext_t pointer).
 */
void weft__ctx_switch(void **save, void *load);

/*
 * Prepares the fresh stack [lo, hi) so that the first switch to the
 * returned handle calls entry(arg) on it. `entry` must never return (it
 * leaves with a last switch). hi is aligned down to 16 bytes.
 */
void *weft__ctx_make(void *lo, void *hi, void (*entry)(void *), void *arg);

/* The name of the mechanism, for the benchmarks and the docs. */
extern const char weft__ctx_kind[];

#endif
