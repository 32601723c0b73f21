/*
 * The library's spinlock: test-and-test-and-set, for critical sections of a
 * few dozen instructions (list links, counters, one message copy) that never
 * call user code, never wake and never allocate. The uncontended path is one
 * exchange and one plain release store — half the locked operations of a
 * pthread mutex. A waiter that keeps finding it taken yields the CPU (the
 * holder may have been preempted on a crowded machine).
 */
#ifndef WEFT_RUNTIME_SPINLOCK_H
#define WEFT_RUNTIME_SPINLOCK_H

#include <sched.h>
#include <stdbool.h>

#include "weft/future.h"
#include "weft/detail/spinlock.h"

#if defined(__x86_64__) || defined(__i386__)
#define weft__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define weft__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define weft__cpu_relax() ((void)0)
#endif

void weft__spin_lock_slow(weft_spinlock *l);

static inline void spin_init(weft_spinlock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELAXED); }

static inline void spin_lock(weft_spinlock *l) {
    if (WEFT_LIKELY(!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))) return;
    weft__spin_lock_slow(l);
}

static inline bool spin_trylock(weft_spinlock *l) {
    return !__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
           !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(weft_spinlock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

#endif
