/* The futex parker (src/util/parker.c) and the reference-counted thread
 * waker built on it (src/util/thread_waker.c): the rules, then unpark/park
 * races by the million (under ThreadSanitizer too): no unpark is lost, a
 * park returns only after an unpark, and what the unparker wrote before is
 * visible after the park.
 * weft-test: threaded
 * weft-test: timeout=600 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "isolate.h"

#include "util/parker.h"
#include "util/thread_waker.h"

#if defined(__SANITIZE_THREAD__)
#define ROUNDS 200000
#define PING_ROUNDS 20000
#else
#define ROUNDS 1000000
#define PING_ROUNDS 100000 /* each a futex sleep and wake-up on both sides */
#endif

static void test_rules(void **state) {
    (void)state;
    weft_parker p;
    weft__parker_init(&p);
    /* An unpark before the park is kept: the park returns at once. */
    assert_int_equal(weft__parker_unpark(&p), WEFT_PARKER_EMPTY);
    assert_int_equal(weft__parker_unpark(&p), WEFT_PARKER_NOTIFIED); /* they do not add up */
    weft__parker_park(&p);
    assert_int_equal(atomic_load(&p.state), WEFT_PARKER_EMPTY);
    /* Sleeping elsewhere: a pending unpark cancels the sleep... */
    weft__parker_unpark(&p);
    assert_false(weft__parker_begin_elsewhere(&p));
    assert_int_equal(atomic_load(&p.state), WEFT_PARKER_EMPTY);
    /* ...otherwise the unparker is told to wake it there. */
    assert_true(weft__parker_begin_elsewhere(&p));
    assert_int_equal(weft__parker_unpark(&p), WEFT_PARKER_ELSEWHERE);
    weft__parker_end_elsewhere(&p);
    assert_int_equal(atomic_load(&p.state), WEFT_PARKER_EMPTY);
    assert_true(weft__parker_begin_elsewhere(&p));
    weft__parker_end_elsewhere(&p); /* woken by something else */
    assert_int_equal(atomic_load(&p.state), WEFT_PARKER_EMPTY);
}

/* Two threads hand a token back and forth through two parkers. Each hand
 * writes a plain counter before unparking; the other reads it after its
 * park: the park must order it (TSan checks), and a lost unpark hangs. */
static weft_parker ping, pong;
static long token; /* plain: ordered by the parkers */

static void *pong_thread(void *arg) {
    (void)arg;
    for (long i = 0; i < PING_ROUNDS; i++) {
        weft__parker_park(&pong);
        if (token != 2 * i + 1) abort();
        token++;
        weft__parker_unpark(&ping);
    }
    return NULL;
}

static void test_ping_pong(void **state) {
    (void)state;
    weft__parker_init(&ping);
    weft__parker_init(&pong);
    token = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pong_thread, NULL), 0);
    for (long i = 0; i < PING_ROUNDS; i++) {
        token++;
        weft__parker_unpark(&pong);
        weft__parker_park(&ping);
        assert_int_equal(token, 2 * i + 2);
    }
    pthread_join(th, NULL);
}

/* Several unparkers race one parking thread, each unparking after it
 * publishes an item; the parker parks until it has seen them all. Unparks
 * land before, during and after the park. */
#define UNPARKERS 3
static weft_parker target;
static _Atomic long published;

static void *unparker(void *arg) {
    (void)arg;
    for (long i = 0; i < ROUNDS / UNPARKERS; i++) {
        atomic_fetch_add_explicit(&published, 1, memory_order_relaxed);
        weft__parker_unpark(&target);
        if ((i & 1023) == 0) usleep(1);
    }
    return NULL;
}

static void test_many_unparkers(void **state) {
    (void)state;
    weft__parker_init(&target);
    atomic_store(&published, 0);
    pthread_t th[UNPARKERS];
    for (int i = 0; i < UNPARKERS; i++) assert_int_equal(pthread_create(&th[i], NULL, unparker, NULL), 0);
    const long want = (ROUNDS / UNPARKERS) * UNPARKERS;
    long parks = 0;
    /* Every publish is followed by an unpark: once we park, an unpark after
     * the last publish is pending or coming, so this never hangs. */
    while (atomic_load_explicit(&published, memory_order_relaxed) < want) {
        weft__parker_park(&target);
        parks++;
    }
    for (int i = 0; i < UNPARKERS; i++) pthread_join(th[i], NULL);
    assert_true(parks > 0);
}

/* The thread waker: clones outlive the waiting thread's reference; the
 * last reference frees it (LeakSanitizer / ASan check the memory). */
typedef struct {
    weft_waker w;
    long delay_us;
} wake_job;

static void *wake_later(void *arg) {
    wake_job *j = arg;
    usleep((useconds_t)j->delay_us);
    weft_waker_wake_by_ref(&j->w);
    weft_waker_wake(j->w); /* consumes the clone */
    return NULL;
}

static void test_thread_waker(void **state) {
    (void)state;
    for (int round = 0; round < 2000; round++) {
        weft_thread_waker *tw = weft__thread_waker_new();
        assert_non_null(tw);
        weft_waker borrowed = weft__thread_waker_get(tw);
        wake_job jobs[2] = {{weft_waker_clone(&borrowed), round % 3}, {weft_waker_clone(&borrowed), 0}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, wake_later, &jobs[i]), 0);
        weft__thread_waker_park(tw); /* returns after (at least) one wake */
        weft__thread_waker_release(tw); /* the clones may still be waking it */
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_many_unparkers),
        cmocka_unit_test(test_thread_waker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
