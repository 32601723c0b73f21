/* Misuse is reported by an abort whose message names the mistake, in every
 * build (the ThreadSanitizer build runs this against an NDEBUG library).
 * Each case runs in a child process. */
#include "support.h"

static void poll_after_ready(void) {
    weft_ready r;
    weft_ready_init(&r);
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(&r.base, &cx);
    weft_future_poll(&r.base, &cx);
}

static void drop_twice(void) {
    weft_yield_now y;
    weft_yield_now_init(&y);
    weft_future_drop(&y.base);
    weft_future_drop(&y.base);
}

static void poll_after_drop(void) {
    weft_yield_now y;
    weft_yield_now_init(&y);
    weft_future_drop(&y.base);
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(&y.base, &cx);
}

static void moved_after_poll(void) {
    weft_yield_now a, b;
    weft_yield_now_init(&a);
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(&a.base, &cx);
    memcpy(&b, &a, sizeof a);
    weft_future_poll(&b.base, &cx);
}

static void sleep_outside_runtime(void) {
    weft_sleep s;
    weft_sleep_init(&s, 1000);
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(&s.base, &cx);
}

static void spawn_polled_future(void) {
    weft_runtime *rt = NULL;
    weft_runtime_create(&rt, NULL);
    weft_yield_now y;
    weft_yield_now_init(&y);
    weft_context cx = weft_context_make(weft_waker_noop());
    weft_future_poll(&y.base, &cx);
    WEFT_SPAWN_DETACHED(rt, &y);
}

static void expect_misuse(void (*fn)(void), const char *words) {
    int sig = 0;
    const char *err = run_in_child(fn, &sig);
    assert_non_null(err);
    assert_int_equal(sig, SIGABRT);
    if (!strstr(err, words)) fail_msg("expected \"%s\" in: %s", words, err);
    assert_non_null(strstr(err, "weft: misuse:"));
}

static void test_poll_after_ready(void **s) { (void)s; expect_misuse(poll_after_ready, "weft_ready"); expect_misuse(poll_after_ready, "polled after it completed"); }
static void test_drop_twice(void **s) { (void)s; expect_misuse(drop_twice, "dropped twice"); }
static void test_poll_after_drop(void **s) { (void)s; expect_misuse(poll_after_drop, "polled after it was dropped"); }
static void test_moved(void **s) { (void)s; expect_misuse(moved_after_poll, "moved after its first poll"); }
static void test_sleep_outside(void **s) { (void)s; expect_misuse(sleep_outside_runtime, "outside a runtime"); }
static void test_spawn_polled(void **s) { (void)s; expect_misuse(spawn_polled_future, "spawned after it was polled"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_after_ready), cmocka_unit_test(test_drop_twice),
        cmocka_unit_test(test_poll_after_drop),  cmocka_unit_test(test_moved),
        cmocka_unit_test(test_sleep_outside),    cmocka_unit_test(test_spawn_polled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

