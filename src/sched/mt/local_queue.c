/* The work-stealing ring; see local_queue.h for the protocol. */
#include "sched/mt/local_queue.h"

#include <assert.h>

#include "sched/inject.h"

static inline uint64_t pack(uint32_t steal, uint32_t real) { return (uint64_t)steal << 32 | real; }
static inline uint32_t steal_of(uint64_t h) { return (uint32_t)(h >> 32); }
static inline uint32_t real_of(uint64_t h) { return (uint32_t)h; }

#define SLOT(q, i) (&(q)->buffer[(i) & LOCAL_QUEUE_MASK])

void weft__local_queue_init(weft_local_queue *q) {
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (unsigned i = 0; i < LOCAL_QUEUE_CAPACITY; i++) atomic_init(&q->buffer[i], NULL);
}

uint32_t weft__local_queue_len(weft_local_queue *q) {
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    return t - real_of(h);
}

/* Moves the oldest half of a full ring plus `t` to the inject queue.
 * False if a stealer moved `head` meanwhile (the caller retries). */
static bool push_overflow(weft_local_queue *q, weft_task *t, uint32_t head, weft_inject *inject) {
    const uint32_t n = LOCAL_QUEUE_CAPACITY / 2;
    uint64_t prev = pack(head, head);
    if (!atomic_compare_exchange_strong_explicit(&q->head, &prev, pack(head + n, head + n),
                                                 memory_order_acq_rel, memory_order_acquire))
        return false;
    /* The slots [head, head+n) are ours now: nobody else can read them. */
    weft_task_queue batch;
    task_queue_init(&batch);
    for (uint32_t i = 0; i < n; i++)
        task_queue_push(&batch, atomic_load_explicit(SLOT(q, head + i), memory_order_relaxed));
    task_queue_push(&batch, t);
    if (!inject_push_batch(inject, &batch, n + 1)) {
        /* Shut down meanwhile: nobody will run them. */
        weft_task *x;
        while ((x = task_queue_pop(&batch))) weft__task_drop_notified(x);
    }
    return true;
}

void weft__local_queue_push_back(weft_local_queue *q, weft_task *t, weft_inject *inject) {
    for (;;) {
        uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t steal = steal_of(h), real = real_of(h);
        uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        if (tail - steal < LOCAL_QUEUE_CAPACITY) {
            atomic_store_explicit(SLOT(q, tail), t, memory_order_relaxed);
            atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
            return;
        }
        if (steal != real) {
            /* A stealer is emptying the ring right now: it will have room
             * soon, but this one task goes to the inject queue. */
            if (!inject_push(inject, t)) weft__task_drop_notified(t);
            return;
        }
        if (push_overflow(q, t, real, inject)) return;
    }
}

weft_task *weft__local_queue_pop(weft_local_queue *q) {
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint32_t steal = steal_of(h), real = real_of(h);
        uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        if (real == tail) return NULL;
        uint32_t next_real = real + 1;
        uint64_t next = steal == real ? pack(next_real, next_real) : pack(steal, next_real);
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return atomic_load_explicit(SLOT(q, real), memory_order_relaxed);
    }
}

/* Claims half of `src`, copies it to `dst` from `dst_tail`; returns how many. */
static uint32_t steal_half(weft_local_queue *src, weft_local_queue *dst, uint32_t dst_tail) {
    uint64_t prev = atomic_load_explicit(&src->head, memory_order_acquire);
    uint64_t next;
    uint32_t first, n;
    for (;;) {
        uint32_t steal = steal_of(prev), real = real_of(prev);
        if (steal != real) return 0; /* another stealer is at work */
        uint32_t tail = atomic_load_explicit(&src->tail, memory_order_acquire);
        n = tail - real;
        n -= n / 2;
        if (n == 0) return 0;
        first = real;
        next = pack(steal, real + n); /* advance real, keep steal: the slots stay ours */
        if (atomic_compare_exchange_weak_explicit(&src->head, &prev, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    assert(n <= LOCAL_QUEUE_CAPACITY / 2);
    for (uint32_t i = 0; i < n; i++) {
        weft_task *t = atomic_load_explicit(SLOT(src, first + i), memory_order_relaxed);
        atomic_store_explicit(SLOT(dst, dst_tail + i), t, memory_order_relaxed);
    }
    /* Release the slots: steal catches up with real (which the owner may
     * have advanced by popping meanwhile). */
    prev = next;
    for (;;) {
        uint32_t real = real_of(prev);
        assert(steal_of(prev) == first);
        if (atomic_compare_exchange_weak_explicit(&src->head, &prev, pack(real, real),
                                                  memory_order_acq_rel, memory_order_acquire))
            break;
    }
    return n;
}

weft_task *weft__local_queue_steal_into(weft_local_queue *src, weft_local_queue *dst) {
    uint32_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
    uint32_t dst_steal = steal_of(atomic_load_explicit(&dst->head, memory_order_acquire));
    if (dst_tail - dst_steal > LOCAL_QUEUE_CAPACITY / 2) return NULL; /* we have enough */
    uint32_t n = steal_half(src, dst, dst_tail);
    if (n == 0) return NULL;
    n--; /* the last one stolen is returned, not queued */
    weft_task *ret = atomic_load_explicit(SLOT(dst, dst_tail + n), memory_order_relaxed);
    if (n > 0) atomic_store_explicit(&dst->tail, dst_tail + n, memory_order_release);
    return ret;
}
