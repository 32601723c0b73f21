/* RwLock: a FIFO semaphore with max_readers permits; a reader takes one, a
 * writer all of them. A queued writer collects the permits of the readers
 * ahead of it as they leave, while later readers queue behind it: writers
 * are never starved, and readers queued behind a writer enter together
 * when it unlocks. */
#include "sync/sem.h"

void weft_rwlock_init(weft_rwlock *rw, size_t max_readers) {
    if (max_readers == 0 || max_readers > WEFT_SEMAPHORE_MAX_PERMITS) max_readers = WEFT_RWLOCK_MAX_READERS;
    rw->max_readers = max_readers;
    weft_semaphore_init(&rw->sem, max_readers);
}

void weft_rwlock_destroy(weft_rwlock *rw) {
#if WEFT_CHECKS
    if (!weft__list_empty(&rw->sem.waiters) || rw->sem.permits != rw->max_readers) {
        fprintf(stderr, "weft: misuse: rwlock %p destroyed while locked or awaited\n", (void *)rw);
        abort();
    }
#endif
    weft_semaphore_destroy(&rw->sem);
}

int weft_rwlock_try_read(weft_rwlock *rw) { return weft__sem_try_acquire(&rw->sem, 1) == 0 ? 0 : -EBUSY; }

int weft_rwlock_try_write(weft_rwlock *rw) {
    return weft__sem_try_acquire(&rw->sem, rw->max_readers) == 0 ? 0 : -EBUSY;
}

void weft_rwlock_read_unlock(weft_rwlock *rw) {
    weft__sem_release(&rw->sem, 1, rw->max_readers, "weft_rwlock_read_unlock without a read lock");
}

void weft_rwlock_write_unlock(weft_rwlock *rw) {
    weft__sem_release(&rw->sem, rw->max_readers, rw->max_readers,
                      "weft_rwlock_write_unlock without the write lock");
}

void weft_rwlock_downgrade(weft_rwlock *rw) {
    weft__sem_release(&rw->sem, rw->max_readers - 1, rw->max_readers,
                      "weft_rwlock_downgrade without the write lock");
}

#define RW_WRITE 1u

static weft_poll rw_poll(weft_future *f, weft_context *cx) {
    weft_rwlock_lock *l = (weft_rwlock_lock *)f;
    size_t n = (l->node.flags & RW_WRITE) ? l->rw->max_readers : 1;
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
    if (write) f->node.flags = RW_WRITE;
    return &f->base;
}

weft_future *weft_rwlock_read_init(weft_rwlock_lock *f, weft_rwlock *rw) { return rw_init(f, rw, false); }
weft_future *weft_rwlock_write_init(weft_rwlock_lock *f, weft_rwlock *rw) { return rw_init(f, rw, true); }
