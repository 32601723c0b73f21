/*
 * A test-and-test-and-set spinlock for very short critical sections (a few
 * pointer writes). Unlock is a plain release store, so an uncontended
 * lock/unlock pair costs one atomic exchange instead of the two locked
 * operations of a pthread mutex. Spins politely and yields the CPU if the
 * holder was preempted.
 */
#ifndef WEFT_RUNTIME_SPINLOCK_H
#define WEFT_RUNTIME_SPINLOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct weft_rt_spinlock {
    atomic_bool held;
} weft_rt_spinlock;

static inline void rt_spin_init(weft_rt_spinlock *l) { atomic_init(&l->held, false); }

static inline void rt_spin_lock(weft_rt_spinlock *l) {
    for (unsigned spins = 0;; spins++) {
        if (!atomic_exchange_explicit(&l->held, true, memory_order_acquire)) return;
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins % 64 == 0) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
            else __builtin_ia32_pause();
#endif
        }
    }
}

static inline void rt_spin_unlock(weft_rt_spinlock *l) {
    atomic_store_explicit(&l->held, false, memory_order_release);
}

#endif
