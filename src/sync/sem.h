/* The semaphore's acquire machinery, shared by Mutex and RwLock (each is a
 * semaphore: one permit, or max_readers permits with a writer taking all). */
#ifndef WEFT_SYNC_SEM_H
#define WEFT_SYNC_SEM_H

#include "sync/waitq.h"
#include "weft/sync.h"

/* weft_semaphore.flags */
#define SEM_SHUT_DOWN 1u
#define SEM_EXCLUSIVE 2u /* the rwlock's write lock is held or handed over */

/* weft_wait_node.flags of an acquire that takes the write lock. */
#define SEM_NODE_EXCLUSIVE 1u

/* What a release gives back, checked under the lock. */
enum {
    SEM_RELEASE_PLAIN,     /* permits */
    SEM_RELEASE_SHARED,    /* a read lock: the write lock must not be held */
    SEM_RELEASE_EXCLUSIVE, /* the write lock: it must be held; it is given up */
};

/* One poll of an acquire of `n` permits through `node`. Ready with *result
 * 0 (permits owned), -WEFT_ECLOSED or -EINVAL. */
weft_poll weft__sem_poll_acquire(weft_semaphore *s, weft_wait_node *node, size_t n,
                                 weft_context *cx, int *result);

/* Drops an acquire that has not returned ready: leaves the queue and gives
 * back whatever was already assigned to it. */
void weft__sem_drop_acquire(weft_semaphore *s, weft_wait_node *node);

/* Takes `n` permits without waiting (`exclusive`: as the write lock):
 * 0, -EAGAIN, -WEFT_ECLOSED, -EINVAL. */
int weft__sem_try_acquire(weft_semaphore *s, size_t n, bool exclusive);

/* Adds `n` permits of `kind` and hands them to the waiters in FIFO order.
 * Changes nothing and returns -EOVERFLOW if the permits not held by anybody
 * (available, or collected by the head waiter) would then exceed `limit`,
 * or -EPERM if the write lock's state does not match `kind`: for a lock,
 * either means unlocking what is not locked. */
int weft__sem_release(weft_semaphore *s, size_t n, size_t limit, int kind);

#endif
