/* RwLock: a FIFO semaphore with max_readers permits; a reader takes one, a
 * writer all of them. A queued writer collects the permits of the readers
 * ahead of it as they leave, while later readers queue behind it: writers
 * are never starved, and readers queued behind a writer enter together
 * when it unlocks.
 *
 * The checks (every build, under the semaphore's lock): the semaphore
 * knows when the write lock is held or handed to a writer that has not
 * seen it yet (SEM_EXCLUSIVE), so write_unlock and downgrade require it
 * and read_unlock requires it clear; a read_unlock must also leave no more
 * than max_readers permits unheld (otherwise nobody held a read lock). */
#include "sync/sem.h"

int weft_rwlock_init(weft_rwlock *rw, size_t max_readers) {
    int rc = 0;
    if (max_readers > WEFT_SEMAPHORE_MAX_PERMITS) rc = -EINVAL; /* still usable, with the default */
    if (max_readers == 0 || rc) max_readers = WEFT_RWLOCK_MAX_READERS;
    rw->max_readers = max_readers;
    (void)weft_semaphore_init(&rw->sem, max_readers);
    return rc;
}

void weft_rwlock_destroy(weft_rwlock *rw) {
    spin_lock(&rw->sem.lock);
    bool busy = !weft__list_empty(&rw->sem.waiters) || rw->sem.permits != rw->max_readers;
    spin_unlock(&rw->sem.lock);
    if (busy) weft__sync_misuse("weft_rwlock_destroy of an rwlock that is locked or awaited (%p)", (void *)rw);
}

int weft_rwlock_try_read(weft_rwlock *rw) { return weft__sem_try_acquire(&rw->sem, 1, false) == 0 ? 0 : -EBUSY; }

int weft_rwlock_try_write(weft_rwlock *rw) {
    return weft__sem_try_acquire(&rw->sem, rw->max_readers, true) == 0 ? 0 : -EBUSY;
}

void weft_rwlock_read_unlock(weft_rwlock *rw) {
    int rc = weft__sem_release(&rw->sem, 1, rw->max_readers, SEM_RELEASE_SHARED);
    if (rc == -EPERM) weft__sync_misuse("weft_rwlock_read_unlock of an rwlock that is write-locked (%p)", (void *)rw);
    if (rc != 0) weft__sync_misuse("weft_rwlock_read_unlock of an rwlock that has no reader (%p)", (void *)rw);
}

void weft_rwlock_write_unlock(weft_rwlock *rw) {
    if (weft__sem_release(&rw->sem, rw->max_readers, rw->max_readers, SEM_RELEASE_EXCLUSIVE) != 0)
        weft__sync_misuse("weft_rwlock_write_unlock of an rwlock that is not write-locked (%p)", (void *)rw);
}

void weft_rwlock_downgrade(weft_rwlock *rw) {
    if (weft__sem_release(&rw->sem, rw->max_readers - 1, rw->max_readers, SEM_RELEASE_EXCLUSIVE) != 0)
        weft__sync_misuse("weft_rwlock_downgrade of an rwlock that is not write-locked (%p)", (void *)rw);
}

static weft_poll rw_poll(weft_future *f, weft_context *cx) {
    weft_rwlock_lock *l = (weft_rwlock_lock *)f;
    size_t n = (l->node.flags & SEM_NODE_EXCLUSIVE) ? l->rw->max_readers : 1;
    int result;
    return weft__sem_poll_acquire(&l->rw->sem, &l->node, n, cx, &result);
}

static void rw_drop(weft_future *f) {
    weft_rwlock_lock *l = (weft_rwlock_lock *)f;
    weft__sem_drop_acquire(&l->rw->sem, &l->node);
}

static const weft_future_vtable read_vtable = {rw_poll, rw_drop, "weft_rwlock_read"};
static const weft_future_vtable write_vtable = {rw_poll, rw_drop, "weft_rwlock_write"};

static weft_future *rw_init(weft_rwlock_lock *f, weft_rwlock *rw, bool write) {
    weft_future_init(&f->base, write ? &write_vtable : &read_vtable);
    f->rw = rw;
    node_init(&f->node);
    if (write) f->node.flags = SEM_NODE_EXCLUSIVE;
    return &f->base;
}

weft_future *weft_rwlock_read_init(weft_rwlock_lock *f, weft_rwlock *rw) { return rw_init(f, rw, false); }
weft_future *weft_rwlock_write_init(weft_rwlock_lock *f, weft_rwlock *rw) { return rw_init(f, rw, true); }
