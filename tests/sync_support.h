/* Helpers for the sync and channel tests: polling futures by hand with a
 * counting waker, and a tiny xorshift generator. */
#ifndef WEFT_TEST_SYNC_SUPPORT_H
#define WEFT_TEST_SYNC_SUPPORT_H

#include "support.h"

/* A hand-driven "task": a counting waker plus a context built from it. */
typedef struct hand {
    counting_waker cw;
} hand;

static inline __attribute__((unused)) weft_poll hand_poll(hand *h, weft_future *f) {
    weft_context cx = weft_context_make(counting_waker_get(&h->cw));
    return weft_future_poll(f, &cx);
}

/* Wakes seen so far (consumed by the caller: returns and resets). */
static inline __attribute__((unused)) int hand_wakes(hand *h) { return atomic_exchange(&h->cw.wakes, 0); }

/* Every clone was released (no waker leaked or double-dropped). */
static inline __attribute__((unused)) void hand_check_balanced(hand *h) {
    assert_int_equal(atomic_load(&h->cw.clones), atomic_load(&h->cw.drops));
}

static inline __attribute__((unused)) uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline __attribute__((unused)) void weft__cpu_relax_test(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
