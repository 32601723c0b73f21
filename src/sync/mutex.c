/* Mutex: a FIFO semaphore with one permit. Unlock hands the permit straight
 * to the oldest waiter, so the lock cannot be barged. An unlock that would
 * leave more than one permit unheld unlocks a mutex that is not locked: it
 * is refused (and reported) before it changes anything, in every build. */
#include "sync/sem.h"

void weft_mutex_init(weft_mutex *m) { (void)weft_semaphore_init(&m->sem, 1); }

void weft_mutex_destroy(weft_mutex *m) {
    spin_lock(&m->sem.lock);
    bool busy = !weft__list_empty(&m->sem.waiters) || m->sem.permits != 1;
    spin_unlock(&m->sem.lock);
    if (busy) weft__sync_misuse("weft_mutex_destroy of a mutex that is locked or awaited (%p)", (void *)m);
}

int weft_mutex_try_lock(weft_mutex *m) { return weft__sem_try_acquire(&m->sem, 1, false) == 0 ? 0 : -EBUSY; }

void weft_mutex_unlock(weft_mutex *m) {
    if (weft__sem_release(&m->sem, 1, 1, SEM_RELEASE_PLAIN) != 0)
        weft__sync_misuse("weft_mutex_unlock of a mutex that is not locked (%p)", (void *)m);
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
