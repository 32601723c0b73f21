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

/*
 * Runs `fn` in a child process and checks that it aborted with
 * "weft: misuse:" and `words` on stderr. Works in every build: the misuse
 * checks of the sync primitives and channels are not compiled out.
 */
static inline __attribute__((unused)) void expect_misuse(void (*fn)(void), const char *words) {
    int sig = 0;
    const char *err = run_in_child(fn, &sig);
    assert_non_null(err);
    if (sig != SIGABRT) fail_msg("expected an abort (\"%s\"), got signal %d; stderr: %s", words, sig, err);
    if (!strstr(err, "weft: misuse:") || !strstr(err, words))
        fail_msg("expected \"weft: misuse: ...%s...\" in: %s", words, err);
}

/* The child exits normally: the call was not a misuse. */
static inline __attribute__((unused)) void expect_no_misuse(void (*fn)(void)) {
    int sig = 0;
    const char *err = run_in_child(fn, &sig);
    assert_non_null(err);
    if (sig != 0) fail_msg("expected a normal exit, got signal %d; stderr: %s", sig, err);
}

static inline __attribute__((unused)) void weft__cpu_relax_test(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
