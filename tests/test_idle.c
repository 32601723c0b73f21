/* The idle-worker bookkeeping of the multi_thread runtime
 * (src/sched/mt/idle.c): its rules one by one, then the protocol as the
 * workers use it — producers add work and notify, workers search, park on
 * the futex parker and are woken — raced for hundreds of thousands of
 * items: every item is taken and nobody sleeps while work is left (a lost
 * wake-up would leave the run stuck, caught by a watchdog).
 * weft-test: threaded
 * weft-test: timeout=600 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "isolate.h"

#include "sched/mt/idle.h"
#include "util/parker.h"

static void test_rules(void **state) {
    (void)state;
    weft_idle idle;
    assert_int_equal(weft__idle_init(&idle, 4), 0);
    /* Nobody sleeps: nobody to wake. */
    assert_int_equal(weft__idle_worker_to_notify(&idle), -1);
    assert_int_equal(weft__idle_num_searching(&idle), 0);
    /* Two workers park (not searching). */
    assert_false(weft__idle_transition_to_parked(&idle, 1, false));
    assert_false(weft__idle_transition_to_parked(&idle, 3, false));
    assert_true(weft__idle_is_parked(&idle, 1));
    assert_true(weft__idle_is_parked(&idle, 3));
    assert_false(weft__idle_is_parked(&idle, 0));
    /* New work wakes one sleeper, which becomes a searcher... */
    int woken = weft__idle_worker_to_notify(&idle);
    assert_true(woken == 1 || woken == 3);
    assert_false(weft__idle_is_parked(&idle, (unsigned)woken));
    assert_int_equal(weft__idle_num_searching(&idle), 1);
    /* ...and while somebody searches, more work wakes nobody else. */
    assert_int_equal(weft__idle_worker_to_notify(&idle), -1);
    /* At most half the workers search. */
    assert_true(weft__idle_transition_to_searching(&idle)); /* 2 of 4 */
    assert_false(weft__idle_transition_to_searching(&idle));
    assert_int_equal(weft__idle_num_searching(&idle), 2);
    /* Only the last searcher to stop says so. */
    assert_false(weft__idle_transition_from_searching(&idle));
    assert_true(weft__idle_transition_from_searching(&idle));
    assert_int_equal(weft__idle_num_searching(&idle), 0);
    /* The woken worker parks again as the last searcher: it must re-check. */
    assert_true(weft__idle_transition_to_searching(&idle));
    assert_true(weft__idle_transition_to_parked(&idle, (unsigned)woken, true));
    /* A worker that wakes on its own unlists itself, once. */
    assert_true(weft__idle_unpark_worker_by_id(&idle, 3));
    assert_false(weft__idle_unpark_worker_by_id(&idle, 3));
    assert_false(weft__idle_is_parked(&idle, 3));
    assert_true(weft__idle_unpark_worker_by_id(&idle, 1));
    /* Everyone awake, nobody searching: back to the start. */
    assert_int_equal(weft__idle_worker_to_notify(&idle), -1);
    assert_int_equal(weft__idle_num_searching(&idle), 0);
    weft__idle_destroy(&idle);
}

/* ---- the protocol under stress ------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
#define ITEMS 100000
#else
#define ITEMS 600000
#endif
#define WORKERS 4
#define PRODUCERS 2

static weft_idle idle;
static weft_parker parkers[WORKERS];
static _Atomic long pending, done_items;
static _Atomic bool stop;
static _Atomic long parks;

static void notify_one(void) {
    int i = weft__idle_worker_to_notify(&idle);
    if (i >= 0) weft__parker_unpark(&parkers[i]);
}

static bool try_take(void) {
    long n = atomic_load(&pending);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&pending, &n, n - 1)) return true;
    }
    return false;
}

static void *worker(void *arg) {
    unsigned me = (unsigned)(uintptr_t)arg;
    bool searching = false;
    while (!atomic_load(&stop)) {
        if (try_take()) {
            if (searching) {
                searching = false;
                /* The last searcher found work: another looks for the rest. */
                if (weft__idle_transition_from_searching(&idle)) notify_one();
            }
            atomic_fetch_add(&done_items, 1);
            continue;
        }
        if (!searching && weft__idle_transition_to_searching(&idle)) {
            searching = true;
            continue; /* one more look as a searcher */
        }
        bool last = weft__idle_transition_to_parked(&idle, me, searching);
        searching = false;
        if (last && atomic_load(&pending) > 0) notify_one();
        while (!atomic_load(&stop)) {
            atomic_fetch_add(&parks, 1);
            weft__parker_park(&parkers[me]);
            if (!weft__idle_is_parked(&idle, me)) {
                searching = true; /* notify picked us to search */
                break;
            }
        }
    }
    if (searching) weft__idle_transition_from_searching(&idle);
    return NULL;
}

static void *producer(void *arg) {
    (void)arg;
    for (int i = 0; i < ITEMS / PRODUCERS; i++) {
        atomic_fetch_add(&pending, 1);
        notify_one();
        if ((i & 63) == 0) usleep(20); /* let the workers run dry and park */
    }
    return NULL;
}

static void test_no_lost_wakeup(void **state) {
    (void)state;
    assert_int_equal(weft__idle_init(&idle, WORKERS), 0);
    for (int i = 0; i < WORKERS; i++) weft__parker_init(&parkers[i]);
    pthread_t w[WORKERS], p[PRODUCERS];
    for (int i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i);
    for (int i = 0; i < PRODUCERS; i++) pthread_create(&p[i], NULL, producer, NULL);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(p[i], NULL);
    /* Watchdog: every item is taken by workers that sleep with no timeout,
     * so a lost wake-up leaves items behind forever. */
    for (int waited = 0; atomic_load(&done_items) < ITEMS && waited < 120000; waited++) usleep(1000);
    assert_int_equal(atomic_load(&done_items), ITEMS);
    assert_int_equal(atomic_load(&pending), 0);
    assert_true(atomic_load(&parks) > 0); /* the workers did run dry and sleep */
    atomic_store(&stop, true);
    for (int i = 0; i < WORKERS; i++) weft__parker_unpark(&parkers[i]);
    for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
    assert_int_equal(weft__idle_num_searching(&idle), 0);
    weft__idle_destroy(&idle);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_no_lost_wakeup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
