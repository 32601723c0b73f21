/* The semaphore's acquire machinery, shared by Mutex and RwLock (each is a
 * semaphore: one permit, or max_readers permits with a writer taking all). */
#ifndef WEFT_SYNC_SEM_H
#define WEFT_SYNC_SEM_H

#include <stdio.h>
#include <stdlib.h>

#include "sync/waitq.h"
#include "weft/sync.h"

/* One poll of an acquire of `n` permits through `node`. Ready with *result
 * 0 (permits owned), -WEFT_ECLOSED or -EINVAL. */
weft_poll weft__sem_poll_acquire(weft_semaphore *s, weft_wait_node *node, size_t n,
                                 weft_context *cx, int *result);

/* Drops an acquire that has not returned ready: leaves the queue and gives
 * back whatever was already assigned to it. */
void weft__sem_drop_acquire(weft_semaphore *s, weft_wait_node *node);

/* Takes `n` permits without waiting: 0, -EAGAIN, -WEFT_ECLOSED, -EINVAL. */
int weft__sem_try_acquire(weft_semaphore *s, size_t n);

/* Adds `n` permits; if `limit` is not 0 and the available count would pass
 * it, aborts naming `what` (unlocking something that was not locked). */
void weft__sem_release(weft_semaphore *s, size_t n, size_t limit, const char *what);

#endif
