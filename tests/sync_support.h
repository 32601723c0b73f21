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

/* Runs `fn` in a child process and checks that it returned normally (exit
 * status 0, no signal): nothing was a misuse, nothing crashed. A child
 * reports a failed check with CHILD_CHECK. */
static inline __attribute__((unused)) void expect_no_misuse(void (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) fail_msg("the child was killed by signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0) fail_msg("the child failed the check on line %d", WEXITSTATUS(status));
}

/* In a child of expect_no_misuse: exits with the line number if `cond` is false. */
#define CHILD_CHECK(cond)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
            _exit(__LINE__ & 0xff ? __LINE__ & 0xff : 1);                   \
        }                                                                   \
    } while (0)

static inline __attribute__((unused)) void weft__cpu_relax_test(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
