/* Blocking-style calls of locks, signals, channels and JoinSets: each
 * initialises the future on the fiber's stack and awaits it. A cancelled
 * fiber gets -ECANCELED (the future was dropped: it holds nothing). */
#include "weft/channel.h"
#include "weft/fiber.h"
#include "weft/join_set.h"
#include "weft/sync.h"

int weft_fiber_mutex_lock(weft_mutex *m) {
    weft_mutex_lock f;
    return weft_await(weft_mutex_lock_init(&f, m));
}

int weft_fiber_rwlock_read(weft_rwlock *rw) {
    weft_rwlock_lock f;
    return weft_await(weft_rwlock_read_init(&f, rw));
}

int weft_fiber_rwlock_write(weft_rwlock *rw) {
    weft_rwlock_lock f;
    return weft_await(weft_rwlock_write_init(&f, rw));
}

int weft_fiber_semaphore_acquire(weft_semaphore *s, size_t n) {
    weft_semaphore_acquire f;
    int rc = weft_await(weft_semaphore_acquire_many_init(&f, s, n));
    return rc ? rc : f.result;
}

int weft_fiber_notified(weft_notify *n) {
    weft_notified f;
    return weft_await(weft_notify_notified_init(&f, n));
}

int weft_fiber_barrier_wait(weft_barrier *b, bool *is_leader) {
    weft_barrier_wait f;
    int rc = weft_await(weft_barrier_wait_init(&f, b));
    if (is_leader) *is_leader = rc == 0 && f.is_leader;
    return rc;
}

int weft_fiber_oneshot_recv(weft_oneshot_rx *rx, void *out) {
    weft_oneshot_recv f;
    int rc = weft_await(weft_oneshot_recv_init(&f, rx, out));
    return rc ? rc : f.result;
}

int weft_fiber_mpsc_send(weft_mpsc_tx *tx, const void *msg) {
    weft_mpsc_send f;
    int rc = weft_await(weft_mpsc_send_init(&f, tx, msg));
    return rc ? rc : f.result;
}

int weft_fiber_mpsc_recv(weft_mpsc_rx *rx, void *out) {
    weft_mpsc_recv f;
    int rc = weft_await(weft_mpsc_recv_init(&f, rx, out));
    return rc ? rc : f.result;
}

int weft_fiber_broadcast_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed) {
    weft_broadcast_recv f;
    int rc = weft_await(weft_broadcast_recv_init(&f, rx, out));
    if (missed) *missed = rc == 0 && f.result == -WEFT_ELAGGED ? f.missed : 0;
    return rc ? rc : f.result;
}

int weft_fiber_watch_changed(weft_watch_rx *rx) {
    weft_watch_changed f;
    int rc = weft_await(weft_watch_changed_init(&f, rx));
    return rc ? rc : f.result;
}

int weft_fiber_join_set_next(weft_join_set *js, void *out, uint64_t *id) {
    weft_join_set_next f;
    int rc = weft_await(weft_join_set_join_next_init(&f, js, out));
    if (id) *id = rc == 0 ? f.id : 0;
    return rc ? rc : f.result;
}
