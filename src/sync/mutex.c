/* Mutex: a FIFO semaphore with one permit. Unlock hands the permit straight
 * to the oldest waiter, so the lock cannot be barged. */
#include "sync/sem.h"

void weft_mutex_init(weft_mutex *m) { weft_semaphore_init(&m->sem, 1); }

void weft_mutex_destroy(weft_mutex *m) {
#if WEFT_CHECKS
    if (!weft__list_empty(&m->sem.waiters) || m->sem.permits != 1) {
        fprintf(stderr, "weft: misuse: mutex %p destroyed while locked or awaited\n", (void *)m);
        abort();
    }
#endif
    weft_semaphore_destroy(&m->sem);
}

int weft_mutex_try_lock(weft_mutex *m) { return weft__sem_try_acquire(&m->sem, 1) == 0 ? 0 : -EBUSY; }

void weft_mutex_unlock(weft_mutex *m) {
    weft__sem_release(&m->sem, 1, 1, "weft_mutex_unlock of a mutex that is not locked");
}

bool weft_mutex_is_locked(weft_mutex *m) { return weft_semaphore_available(&m->sem) == 0; }

static weft_poll lock_poll(weft_future *f, weft_context *cx) {
    weft_mutex_lock *l = (weft_mutex_lock *)f;
    int result;
    return weft__sem_poll_acquire(&l->mutex->sem, &l->node, 1, cx, &result);
}

static void lock_drop(weft_future *f) {
    weft_mutex_lock *l = (weft_mutex_lock *)f;
    weft__sem_drop_acquire(&l->mutex->sem, &l->node);
}

static const weft_future_vtable lock_vtable = {lock_poll, lock_drop, "weft_mutex_lock"};

weft_future *weft_mutex_lock_init(weft_mutex_lock *f, weft_mutex *m) {
    weft_future_init(&f->base, &lock_vtable);
    f->mutex = m;
    node_init(&f->node);
    return &f->base;
}
