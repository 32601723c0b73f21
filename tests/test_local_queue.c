/* The work-stealing ring (src/sched/mt/local_queue.c), built here with 8
 * slots so that every edge (full ring, overflow to the inject queue,
 * stealing while the owner pushes and pops, index wrap-around) is reached
 * constantly. Tokio tests its queue with a small capacity under loom; this
 * is the stress + ThreadSanitizer equivalent: an owner pushing and popping
 * races several stealers (and a thread draining the inject queue) for
 * millions of operations, and every task must be seen exactly once.
 * weft-test: threaded
 * weft-test: timeout=600 */
#define WEFT_LOCAL_QUEUE_CAPACITY 8u
#include "sched/mt/local_queue.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "isolate.h"

/* The inject queue is never closed here, so no task is ever dropped. */
void weft__task_drop_ref(weft_task *t) {
    (void)t;
    fail_msg("a task was dropped: the inject queue is never closed in this test");
}

#if defined(__SANITIZE_THREAD__)
#define STRESS_TASKS 300000u
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TASKS 300000u
#endif
#endif
#ifndef STRESS_TASKS
#define STRESS_TASKS 3000000u
#endif

#define NUM_STEALERS 3
#define TASK_OBJECTS 1024u /* reused: a task object is pushed again once it was seen */

static weft_task *task_objs;
static _Atomic uint8_t *seen;     /* per push id: how many times it was taken */
static _Atomic uint32_t taken;    /* ids taken so far */
static weft_local_queue owner_q;
static weft_local_queue stealer_q[NUM_STEALERS];
static weft_inject inject;
static _Atomic bool owner_done;
static _Atomic uint64_t stolen_total, inject_total, popped_total;

static uint32_t id_of(weft_task *t) { return (uint32_t)t->out_size; }

static void take(weft_task *t) {
    uint32_t id = id_of(t);
    uint8_t before = atomic_fetch_add_explicit(&seen[id], 1, memory_order_acq_rel);
    if (before != 0) {
        fprintf(stderr, "task %u taken twice\n", id);
        abort();
    }
    atomic_fetch_add_explicit(&taken, 1, memory_order_release);
}

static void drain_inject(void) {
    weft_task *t;
    while ((t = inject_pop(&inject))) {
        take(t);
        atomic_fetch_add_explicit(&inject_total, 1, memory_order_relaxed);
    }
}

static void *stealer(void *arg) {
    unsigned me = (unsigned)(uintptr_t)arg;
    weft_local_queue *mine = &stealer_q[me];
    for (;;) {
        bool done = atomic_load_explicit(&owner_done, memory_order_acquire);
        weft_task *t = weft__local_queue_steal_into(&owner_q, mine);
        if (t) {
            take(t);
            uint64_t n = 1;
            while ((t = weft__local_queue_pop(mine))) {
                take(t);
                n++;
            }
            atomic_fetch_add_explicit(&stolen_total, n, memory_order_relaxed);
        }
        if (me == 0) drain_inject();
        if (done && !t && local_queue_is_empty(&owner_q)) break;
    }
    return NULL;
}

static uint32_t xorshift(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void owner_pop_some(unsigned n) {
    weft_task *t;
    while (n-- && (t = weft__local_queue_pop(&owner_q))) {
        take(t);
        atomic_fetch_add_explicit(&popped_total, 1, memory_order_relaxed);
    }
}

static void test_owner_races_stealers(void **state) {
    (void)state;
    task_objs = calloc(TASK_OBJECTS, sizeof(weft_task) + 16);
    seen = calloc(STRESS_TASKS, 1);
    assert_non_null(task_objs);
    assert_non_null(seen);
    weft__local_queue_init(&owner_q);
    for (unsigned i = 0; i < NUM_STEALERS; i++) weft__local_queue_init(&stealer_q[i]);
    inject_init(&inject);
    atomic_store(&owner_done, false);
    pthread_t th[NUM_STEALERS];
    for (unsigned i = 0; i < NUM_STEALERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, stealer, (void *)(uintptr_t)i), 0);
    uint32_t rnd = 0x12345678u;
    size_t stride = sizeof(weft_task) + 16;
    for (uint32_t id = 0; id < STRESS_TASKS; id++) {
        weft_task *t = (weft_task *)((char *)task_objs + (size_t)(id % TASK_OBJECTS) * stride);
        /* Reuse an object only once its previous push was taken (popping
         * our own ring meanwhile: it may be there). */
        if (id >= TASK_OBJECTS) {
            while (!atomic_load_explicit(&seen[id - TASK_OBJECTS], memory_order_acquire)) owner_pop_some(1);
        }
        t->out_size = id;
        weft__local_queue_push_back(&owner_q, t, &inject);
        uint32_t r = xorshift(&rnd);
        /* Mostly push, sometimes pop a few: the ring fills, overflows, and
         * is stolen from while the owner works at both ends. */
        if ((r & 3) == 0) owner_pop_some(r >> 29);
    }
    owner_pop_some(UINT32_MAX);
    atomic_store_explicit(&owner_done, true, memory_order_release);
    for (unsigned i = 0; i < NUM_STEALERS; i++) pthread_join(th[i], NULL);
    drain_inject();
    assert_int_equal(atomic_load(&taken), STRESS_TASKS);
    for (uint32_t id = 0; id < STRESS_TASKS; id++) assert_int_equal(seen[id], 1);
    uint64_t stolen = atomic_load(&stolen_total), inj = atomic_load(&inject_total),
             popped = atomic_load(&popped_total);
    assert_int_equal(stolen + inj + popped, STRESS_TASKS);
    /* Every path was taken: steals, overflow to the inject queue, pops. */
    assert_true(stolen > 0);
    assert_true(inj > 0);
    assert_true(popped > 0);
    for (unsigned i = 0; i < NUM_STEALERS; i++) assert_true(local_queue_is_empty(&stealer_q[i]));
    inject_destroy(&inject);
    free(seen);
    free(task_objs);
}

/* ---- single-threaded edges ------------------------------------------------- */

static weft_task fixed[64];

static void test_fifo_and_overflow(void **state) {
    (void)state;
    weft_local_queue q;
    weft_inject in;
    weft__local_queue_init(&q);
    inject_init(&in);
    for (unsigned i = 0; i < 64; i++) fixed[i].out_size = i;
    /* Fill the ring: nothing overflows. */
    for (unsigned i = 0; i < LOCAL_QUEUE_CAPACITY; i++) weft__local_queue_push_back(&q, &fixed[i], &in);
    assert_int_equal(weft__local_queue_len(&q), LOCAL_QUEUE_CAPACITY);
    assert_true(inject_is_empty(&in));
    /* One more: the oldest half plus the new one move to the inject queue, in order. */
    weft__local_queue_push_back(&q, &fixed[LOCAL_QUEUE_CAPACITY], &in);
    assert_int_equal(weft__local_queue_len(&q), LOCAL_QUEUE_CAPACITY / 2);
    assert_int_equal(atomic_load(&in.len), LOCAL_QUEUE_CAPACITY / 2 + 1);
    for (unsigned i = 0; i < LOCAL_QUEUE_CAPACITY / 2; i++) assert_ptr_equal(inject_pop(&in), &fixed[i]);
    assert_ptr_equal(inject_pop(&in), &fixed[LOCAL_QUEUE_CAPACITY]);
    assert_null(inject_pop(&in));
    /* The rest pops in FIFO order. */
    for (unsigned i = LOCAL_QUEUE_CAPACITY / 2; i < LOCAL_QUEUE_CAPACITY; i++)
        assert_ptr_equal(weft__local_queue_pop(&q), &fixed[i]);
    assert_null(weft__local_queue_pop(&q));
    /* Indices wrap around the ring many times. */
    for (unsigned round = 0; round < 1000; round++) {
        for (unsigned i = 0; i < 5; i++) weft__local_queue_push_back(&q, &fixed[i], &in);
        for (unsigned i = 0; i < 5; i++) assert_ptr_equal(weft__local_queue_pop(&q), &fixed[i]);
    }
    assert_true(inject_is_empty(&in));
    inject_destroy(&in);
}

static void test_steal_half(void **state) {
    (void)state;
    weft_local_queue src, dst;
    weft_inject in;
    weft__local_queue_init(&src);
    weft__local_queue_init(&dst);
    inject_init(&in);
    assert_null(weft__local_queue_steal_into(&src, &dst)); /* nothing to steal */
    for (unsigned i = 0; i < 7; i++) weft__local_queue_push_back(&src, &fixed[i], &in);
    /* Half, rounded up (4 of 7): the oldest ones; the last is returned. */
    assert_ptr_equal(weft__local_queue_steal_into(&src, &dst), &fixed[3]);
    assert_int_equal(weft__local_queue_len(&src), 3);
    assert_int_equal(weft__local_queue_len(&dst), 3);
    for (unsigned i = 0; i < 3; i++) assert_ptr_equal(weft__local_queue_pop(&dst), &fixed[i]);
    for (unsigned i = 4; i < 7; i++) assert_ptr_equal(weft__local_queue_pop(&src), &fixed[i]);
    /* One task: the stealer takes it. */
    weft__local_queue_push_back(&src, &fixed[9], &in);
    assert_ptr_equal(weft__local_queue_steal_into(&src, &dst), &fixed[9]);
    assert_null(weft__local_queue_pop(&src));
    /* A stealer that already holds more than half a ring takes nothing. */
    for (unsigned i = 0; i < LOCAL_QUEUE_CAPACITY / 2 + 1; i++) weft__local_queue_push_back(&dst, &fixed[i], &in);
    weft__local_queue_push_back(&src, &fixed[20], &in);
    assert_null(weft__local_queue_steal_into(&src, &dst));
    assert_int_equal(weft__local_queue_len(&src), 1);
    inject_destroy(&in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_overflow),
        cmocka_unit_test(test_steal_half),
        cmocka_unit_test(test_owner_races_stealers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
