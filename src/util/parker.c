/* The futex parker; see parker.h. The only transitions are: the parking
 * thread moves EMPTY -> PARKED/ELSEWHERE and NOTIFIED -> EMPTY; an unparker
 * moves anything -> NOTIFIED. So the parking thread that finds EMPTY and
 * fails to leave it has found NOTIFIED, and an unparker that finds PARKED
 * knows the thread is in (or entering) the futex wait, which returns at
 * once if the word is no longer PARKED: no wake-up is lost. */
#include "util/parker.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#include <time.h>
/* ThreadSanitizer runs an asynchronous signal's handler only when the
 * thread the kernel chose next passes through one of its interceptors, and
 * a raw futex wait is none: a SIGCHLD landing on a thread parked here (the
 * main thread in block_on, say) would wait for this thread's next unpark,
 * which may be the very wake-up the handler was to cause. So in TSan builds
 * the wait ends every 50 ms and passes through an intercepted call. Park
 * still returns only once notified: a lost wake-up still hangs. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expect) {
    struct timespec slice = {0, 50 * 1000 * 1000}, none = {0, 0};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expect, &slice, NULL, 0);
    nanosleep(&none, NULL);
}
#else
static void futex_wait(_Atomic uint32_t *word, uint32_t expect) {
    /* Returns on a wake, on EAGAIN (the word changed), on EINTR: the
     * caller re-checks the word in every case. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expect, NULL, NULL, 0);
}
#endif

static void futex_wake_one(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static bool consume_notification(weft_parker *p) {
    uint32_t expect = WEFT_PARKER_NOTIFIED;
    return atomic_compare_exchange_strong_explicit(&p->state, &expect, WEFT_PARKER_EMPTY,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* EMPTY -> `to`; false if an unpark came first (then it is consumed). */
static bool enter(weft_parker *p, uint32_t to) {
    uint32_t expect = WEFT_PARKER_EMPTY;
    if (atomic_compare_exchange_strong_explicit(&p->state, &expect, to, memory_order_acq_rel,
                                                memory_order_acquire))
        return true;
    /* Only an unpark moves the word off EMPTY: it is NOTIFIED. Read it with
     * an exchange so we synchronise with the latest unpark. */
    atomic_exchange_explicit(&p->state, WEFT_PARKER_EMPTY, memory_order_acquire);
    return false;
}

void weft__parker_park(weft_parker *p) {
    if (consume_notification(p)) return;
    if (!enter(p, WEFT_PARKER_PARKED)) return;
    for (;;) {
        futex_wait(&p->state, WEFT_PARKER_PARKED);
        if (consume_notification(p)) return;
        /* A spurious return (EINTR, a stale wake): still PARKED. */
    }
}

uint32_t weft__parker_unpark(weft_parker *p) {
    uint32_t prev = atomic_exchange_explicit(&p->state, WEFT_PARKER_NOTIFIED, memory_order_acq_rel);
    if (prev == WEFT_PARKER_PARKED) futex_wake_one(&p->state);
    return prev;
}

bool weft__parker_begin_elsewhere(weft_parker *p) {
    if (consume_notification(p)) return false;
    return enter(p, WEFT_PARKER_ELSEWHERE);
}

void weft__parker_end_elsewhere(weft_parker *p) {
    atomic_exchange_explicit(&p->state, WEFT_PARKER_EMPTY, memory_order_acquire);
}
