/*
 * A worker's bounded run queue: a ring of 256 task pointers (the capacity
 * is a compile-time parameter, WEFT_LOCAL_QUEUE_CAPACITY, a power of two:
 * the tests build the ring with 8 slots to reach every edge quickly) with one pusher
 * (the owning worker) and many stealers.
 *
 * `head` packs two 32-bit indices: `real`, the next task to pop, and
 * `steal`, the first slot a stealer is still copying out of. While a steal
 * is in progress steal != real, and the owner must not overwrite slots from
 * `steal` on; that is what keeps a stealer's copy safe without a lock.
 * `tail` is written only by the owner. Indices wrap modulo 2^32; the ring
 * position is index & (capacity - 1).
 *
 * When the ring is full the owner moves half of it, plus the new task, to
 * the global inject queue in one batch (one lock), so a burst of spawns
 * costs one lock per capacity/2 tasks.
 */
#ifndef WEFT_SCHED_MT_LOCAL_QUEUE_H
#define WEFT_SCHED_MT_LOCAL_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "task/task.h"

#ifndef WEFT_LOCAL_QUEUE_CAPACITY
#define WEFT_LOCAL_QUEUE_CAPACITY 256u
#endif
#define LOCAL_QUEUE_CAPACITY ((uint32_t)(WEFT_LOCAL_QUEUE_CAPACITY))
#define LOCAL_QUEUE_MASK (LOCAL_QUEUE_CAPACITY - 1)
_Static_assert(WEFT_LOCAL_QUEUE_CAPACITY >= 4 && (WEFT_LOCAL_QUEUE_CAPACITY & (WEFT_LOCAL_QUEUE_CAPACITY - 1)) == 0,
               "the ring's capacity is a power of two, at least 4");

typedef struct weft_local_queue {
    _Atomic uint64_t head; /* steal << 32 | real */
    _Atomic uint32_t tail;
    _Atomic(weft_task *) buffer[LOCAL_QUEUE_CAPACITY];
} weft_local_queue;

struct weft_inject;

void weft__local_queue_init(weft_local_queue *q);

/* Owner only. Pushes `t`; when the ring is full, moves half of it and `t`
 * to `inject`. */
void weft__local_queue_push_back(weft_local_queue *q, weft_task *t, struct weft_inject *inject);

/* Owner only. Pops the oldest task, or NULL. */
weft_task *weft__local_queue_pop(weft_local_queue *q);

/* A stealer (worker owning `dst`) takes half of `src`'s tasks: returns one
 * of them to run and leaves the rest in `dst`. NULL if there was nothing
 * (or another stealer is at work on `src`). */
weft_task *weft__local_queue_steal_into(weft_local_queue *src, weft_local_queue *dst);

/* Number of tasks (approximate when read by another thread). */
uint32_t weft__local_queue_len(weft_local_queue *q);

static inline bool local_queue_is_empty(weft_local_queue *q) { return weft__local_queue_len(q) == 0; }

#endif
