/* The spinlock's contended path: spin politely, then yield. */
#include "util/spinlock.h"

void weft__spin_lock_slow(weft_spinlock *l) {
    for (unsigned spins = 0;; spins++) {
        if (!__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
            !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
            return;
        if (spins < 64) weft__cpu_relax();
        else sched_yield(); /* the holder may be preempted: let it run */
    }
}
