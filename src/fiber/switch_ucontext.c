/*
 * The portable context switch, over ucontext (makecontext/swapcontext):
 * for architectures without a switch of weft's own, or when
 * WEFT_FIBER_UCONTEXT is defined (the benchmarks compare the two). glibc's
 * swapcontext saves and restores the signal mask with a system call on
 * every switch, so this costs a few hundred nanoseconds more per switch.
 */
#if defined(WEFT_FIBER_UCONTEXT) || !(defined(__x86_64__) || defined(__aarch64__))
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

#include "fiber/context.h"

const char weft__ctx_kind[] = "ucontext";

void weft__ctx_switch(void **save, void *load) {
    ucontext_t here;
    *save = &here;
    if (swapcontext(&here, (ucontext_t *)load) != 0) abort();
}

/* makecontext passes int arguments: the two pointers go in halves. */
static void start(unsigned e_hi, unsigned e_lo, unsigned a_hi, unsigned a_lo) {
    void (*entry)(void *) = (void (*)(void *))(uintptr_t)(((uint64_t)e_hi << 32) | e_lo);
    void *arg = (void *)(uintptr_t)(((uint64_t)a_hi << 32) | a_lo);
    entry(arg);
    abort(); /* entry never returns */
}

void *weft__ctx_make(void *lo, void *hi, void (*entry)(void *), void *arg) {
    /* The context record lives at the top of the fiber's own stack. */
    uintptr_t top = ((uintptr_t)hi - sizeof(ucontext_t)) & ~(uintptr_t)63;
    ucontext_t *uc = (ucontext_t *)top;
    if (getcontext(uc) != 0) abort();
    uc->uc_stack.ss_sp = lo;
    uc->uc_stack.ss_size = top - (uintptr_t)lo;
    uc->uc_link = NULL;
    uint64_t e = (uint64_t)(uintptr_t)entry, a = (uint64_t)(uintptr_t)arg;
    makecontext(uc, (void (*)(void))start, 4, (unsigned)(e >> 32), (unsigned)e, (unsigned)(a >> 32),
                (unsigned)a);
    return uc;
}

#endif
