/*
 * weft/detail/wait_node.h — the wait node embedded in every waiting future
 * of weft/sync.h and weft/channel.h. Private: only weft's own code touches
 * its fields; they are not part of the API and may change in any release.
 */
#ifndef WEFT_DETAIL_WAIT_NODE_H
#define WEFT_DETAIL_WAIT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "../waker.h"
#include "list.h"

/**
 * A waiter, embedded in every waiting future. Private: the primitive's
 * lock guards it while it is queued; once it is handed the resource
 * (state "done") only its future touches it.
 */
typedef struct weft_wait_node {
    weft_link link;
    weft_waker waker; /* the waiting task's waker while queued */
    uint32_t state;   /* idle, queued, done, closed (read atomically) */
    uint32_t flags;   /* per-primitive */
    size_t need;      /* permits wanted (semaphores) */
    size_t got;       /* permits assigned so far, while queued */
} weft_wait_node;

#endif /* WEFT_DETAIL_WAIT_NODE_H */
