/**
 * @file
 * weft/sync.h — async-aware locks and signals: Semaphore, Mutex, RwLock,
 * Notify, Barrier; and weft_wait_blocking, which lets a plain thread wait
 * for one of their futures.
 *
 * A blocking mutex held across an await stalls (or deadlocks) every task on
 * the thread; these primitives make the waiting task return WEFT_PENDING
 * instead, and wake it when the resource is handed to it.
 *
 * Common rules (see docs/sync.md for the design):
 *
 *  - Each primitive lives in your memory: `_init` it before sharing it,
 *    `_destroy` it when no thread and no future uses it any more.
 *  - No allocation per wait: the wait node lives in the waiting future.
 *    A future joins its primitive's FIFO wait list on its first pending poll.
 *  - Every primitive may be used from any thread: tasks of any runtime
 *    (current_thread or multi_thread), and plain threads through the try_
 *    functions, the unlock/add_permits/notify functions and
 *    weft_wait_blocking.
 *  - Every waiting future spends one unit of the task's cooperative budget
 *    per poll; when the budget is spent it returns WEFT_PENDING after waking
 *    its task, without losing its place in the queue.
 *  - Dropping a waiting future is always allowed. If it had already been
 *    handed what it waited for (a permit, the lock, a notification) but had
 *    not returned WEFT_READY yet, the drop passes it to the next waiter.
 *    Every future states whether it is cancel-safe: "cancel-safe" means
 *    dropping the future before it is ready loses nothing and leaves no trace
 *    (apart from losing its place in the queue).
 *  - Ready means owned: once a lock/acquire future returned WEFT_READY the
 *    caller holds the lock or permits and must give them back with the
 *    matching unlock / add_permits call. Dropping a ready future releases
 *    nothing.
 *  - Checks, in every build (docs/api.md, "Checks"): unlocking a mutex that
 *    is not locked, releasing a read lock nobody holds, write_unlock or
 *    downgrade without the write lock, and destroying a primitive that is
 *    locked or has waiters abort with a message "weft: misuse: ..." naming
 *    the call; such a call changes nothing before it aborts. Adding permits
 *    past WEFT_SEMAPHORE_MAX_PERMITS is an error return.
 *  - A primitive must outlive every future that refers to it.
 *
 * Errors are negative errno values, or -WEFT_ECLOSED for a semaphore that
 * was shut down (weft/error.h).
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <errno.h>

#include "error.h"
#include "future.h"
#include "detail/list.h"
#include "detail/spinlock.h"
#include "detail/wait_node.h"

#ifdef __cplusplus
extern "C" {
#endif


/* ------------------------------------------------------------------------ */
/* Semaphore                                                                 */
/* ------------------------------------------------------------------------ */

/** @defgroup semaphore Semaphore
 * @{ */
/** The largest number of permits a semaphore can hold. */
#define WEFT_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 3)

/**
 * A counting semaphore with a strictly FIFO queue of waiters (Tokio's
 * batch semaphore): permits released while anybody waits go to the oldest
 * waiter first, even if a later waiter wants fewer, so a large request is
 * never starved. A waiter for several permits collects them as they come.
 */
typedef struct weft_semaphore {
    weft_spinlock lock; /**< @private */
    uint32_t flags;          /**< @private shut down; write-locked (rwlock) */
    size_t permits;          /**< @private available, not assigned to any waiter */
    weft_link waiters;  /**< @private FIFO of weft_wait_node */
} weft_semaphore;

/**
 * Initialises `s` with `permits` permits. Returns 0, or -EINVAL if
 * `permits` exceeds WEFT_SEMAPHORE_MAX_PERMITS: `s` is then initialised
 * shut down with no permits (every acquire fails with -WEFT_ECLOSED), so
 * it is still safe to use and to destroy. No allocation. Any thread,
 * before `s` is shared.
 */
WEFT_API int weft_semaphore_init(weft_semaphore *s, size_t permits);

/**
 * Releases `s`. Permits still held by users are simply forgotten. Aborts
 * (every build) if futures still wait on `s`. No other thread may use `s`
 * concurrently, and no future may refer to it afterwards.
 */
WEFT_API void weft_semaphore_destroy(weft_semaphore *s);

/** Permits available right now (not assigned to waiters). Any thread; may be stale. */
WEFT_API size_t weft_semaphore_available(weft_semaphore *s);

/**
 * Takes `n` permits if they are available at once and nobody is waiting
 * (so it never jumps the queue). Returns 0 (the caller owns `n` permits),
 * -EAGAIN (not enough permits, or earlier waiters), -WEFT_ECLOSED (shut
 * down), or -EINVAL (n > WEFT_SEMAPHORE_MAX_PERMITS). n == 0 always
 * succeeds unless shut down. Any thread; never waits.
 */
WEFT_API int weft_semaphore_try_acquire(weft_semaphore *s, size_t n);

/**
 * Adds `n` permits: gives them to the waiters in FIFO order and keeps the
 * rest. This is how acquired permits are given back, and how new ones are
 * added. Returns 0, or -EOVERFLOW if the permits nobody holds would then
 * exceed WEFT_SEMAPHORE_MAX_PERMITS (nothing is added). Works after
 * shutdown (permits are still counted). Any thread; never waits; wakes the
 * waiters it completed outside the semaphore's lock.
 */
WEFT_API int weft_semaphore_add_permits(weft_semaphore *s, size_t n);

/**
 * Shuts `s` down: every waiting acquire completes with -WEFT_ECLOSED (owning
 * nothing), and every later acquire or try_acquire fails with it. Permits
 * held by users may still be given back with add_permits. Idempotent. `s`
 * must still be destroyed. Any thread; never waits.
 */
WEFT_API void weft_semaphore_shutdown(weft_semaphore *s);

/** True once weft_semaphore_shutdown was called. Any thread. */
WEFT_API bool weft_semaphore_is_closed(weft_semaphore *s);

/**
 * The acquire future. Ready with `result` 0 when the caller owns `n`
 * permits (give them back with weft_semaphore_add_permits), or
 * -WEFT_ECLOSED if the semaphore was shut down before they were all
 * assigned (then it owns none), or -EINVAL for n > WEFT_SEMAPHORE_MAX_PERMITS.
 * Cancel-safe: dropping it before it is ready returns any permits already
 * assigned to it to the semaphore (they go to the next waiter); it only
 * loses its place in the queue.
 */
typedef struct weft_semaphore_acquire {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_semaphore *sem; /**< @private */
    weft_wait_node node; /**< @private */
    size_t n; /**< @private */
    int result; /**< output: 0, -WEFT_ECLOSED or -EINVAL */
} weft_semaphore_acquire;

/** Initialises a future that acquires one permit of `s`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_semaphore_acquire_init(weft_semaphore_acquire *f, weft_semaphore *s);

/** Initialises a future that acquires `n` permits of `s` at once. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_semaphore_acquire_many_init(weft_semaphore_acquire *f, weft_semaphore *s,
                                                       size_t n);

/** @} */

/* ------------------------------------------------------------------------ */
/* Mutex                                                                     */
/* ------------------------------------------------------------------------ */

/** @defgroup mutex Mutex
 * @{ */
/**
 * An async mutex: waiting for it suspends the task instead of blocking the
 * thread, so it may be held across an await. Fair: the lock is handed
 * directly to the oldest waiter on unlock (no barging). It guards whatever
 * the caller decides and does not record its holder: any thread may unlock
 * it, but unlocking a mutex that is not locked is caught (every build).
 */
typedef struct weft_mutex {
    weft_semaphore sem; /**< @private one permit */
} weft_mutex;

/** Initialises `m`, unlocked. No allocation. Any thread, before `m` is shared. */
WEFT_API void weft_mutex_init(weft_mutex *m);

/**
 * Releases `m`. Aborts (every build) if `m` is locked or futures wait on
 * it. No other thread may use `m` meanwhile.
 */
WEFT_API void weft_mutex_destroy(weft_mutex *m);

/**
 * Locks `m` if it is free and nobody waits. Returns 0 (the caller holds the
 * lock) or -EBUSY. Any thread; never waits.
 */
WEFT_API int weft_mutex_try_lock(weft_mutex *m);

/**
 * Unlocks `m`, handing it to the oldest waiter (which is woken) if any.
 * Must only be called by the holder. Aborts with "weft: misuse:
 * weft_mutex_unlock of a mutex that is not locked" (every build, before
 * changing anything) if `m` is not locked. Any thread (the holder may be on
 * another thread than the task that locked it); never waits.
 */
WEFT_API void weft_mutex_unlock(weft_mutex *m);

/** True if `m` is locked right now. Any thread; may be stale. */
WEFT_API bool weft_mutex_is_locked(weft_mutex *m);

/**
 * The lock future: ready (no output) when the caller holds the lock.
 * Cancel-safe: dropping it while it waits leaves the queue; if the lock had
 * just been handed to it, the drop hands it on to the next waiter (or
 * unlocks).
 */
typedef struct weft_mutex_lock {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_mutex *mutex; /**< @private */
    weft_wait_node node; /**< @private */
} weft_mutex_lock;

/** Initialises a future that locks `m`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_mutex_lock_init(weft_mutex_lock *f, weft_mutex *m);

/** @} */

/* ------------------------------------------------------------------------ */
/* RwLock                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup rwlock RwLock
 * @{ */
/** Default limit on concurrent readers of a weft_rwlock. */
#define WEFT_RWLOCK_MAX_READERS ((size_t)0x1fffffff)

/**
 * A fair reader-writer lock: any number of readers (up to `max_readers`) or
 * one writer. Requests are served in FIFO order, so once a writer waits,
 * later readers queue behind it: writers are never starved. (A writer is
 * a request for all `max_readers` permits of a FIFO semaphore, collected as
 * the readers ahead of it leave.)
 */
typedef struct weft_rwlock {
    weft_semaphore sem; /**< @private */
    size_t max_readers; /**< @private */
} weft_rwlock;

/**
 * Initialises `rw`, unlocked, with room for `max_readers` concurrent
 * readers (0 means WEFT_RWLOCK_MAX_READERS). Returns 0, or -EINVAL if
 * `max_readers` exceeds WEFT_SEMAPHORE_MAX_PERMITS (`rw` is then
 * initialised with WEFT_RWLOCK_MAX_READERS, usable). No allocation. Any
 * thread, before `rw` is shared.
 */
WEFT_API int weft_rwlock_init(weft_rwlock *rw, size_t max_readers);

/**
 * Releases `rw`. Aborts (every build) if `rw` is locked or futures wait on
 * it. No other thread may use `rw` meanwhile.
 */
WEFT_API void weft_rwlock_destroy(weft_rwlock *rw);

/** Takes a read lock if possible without waiting. 0 or -EBUSY. Any thread; never waits. */
WEFT_API int weft_rwlock_try_read(weft_rwlock *rw);

/** Takes the write lock if possible without waiting. 0 or -EBUSY. Any thread; never waits. */
WEFT_API int weft_rwlock_try_write(weft_rwlock *rw);

/**
 * Releases one read lock (wakes a writer whose turn came). Aborts (every
 * build, before changing anything) if `rw` has no reader: it is unlocked,
 * or write-locked. Any thread; never waits.
 */
WEFT_API void weft_rwlock_read_unlock(weft_rwlock *rw);

/**
 * Releases the write lock (wakes the next waiters in FIFO order). Aborts
 * (every build, before changing anything) if `rw` is not write-locked.
 * Any thread; never waits.
 */
WEFT_API void weft_rwlock_write_unlock(weft_rwlock *rw);

/**
 * Turns the write lock the caller holds into a read lock, atomically
 * (no writer can get in between); queued readers may then enter. Aborts
 * (every build, before changing anything) if `rw` is not write-locked.
 * Any thread; never waits.
 */
WEFT_API void weft_rwlock_downgrade(weft_rwlock *rw);

/**
 * The read-lock and write-lock futures: ready (no output) when the caller
 * holds the lock. Cancel-safe: a dropped waiter leaves the queue and passes
 * on whatever had already been handed to it.
 */
typedef struct weft_rwlock_lock {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_rwlock *rw; /**< @private */
    weft_wait_node node; /**< @private */
} weft_rwlock_lock;

/** Initialises a future that takes a read lock of `rw`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_rwlock_read_init(weft_rwlock_lock *f, weft_rwlock *rw);

/** Initialises a future that takes the write lock of `rw`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_rwlock_write_init(weft_rwlock_lock *f, weft_rwlock *rw);

/** @} */

/* ------------------------------------------------------------------------ */
/* Notify                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup notify Notify
 * @{ */
/**
 * Notifies tasks, like Tokio's Notify. notify_one wakes the oldest waiter,
 * or, if nobody waits, stores a single permit that the next notified()
 * consumes at once. notify_waiters wakes everyone waiting now and stores
 * nothing.
 */
typedef struct weft_notify {
    weft_spinlock lock; /**< @private */
    uint32_t permit;        /**< @private 0 or 1 */
    uint64_t generation;    /**< @private notify_waiters calls so far */
    weft_link waiters; /**< @private FIFO */
} weft_notify;

/** Initialises `n` (no permit stored). No allocation. Any thread, before `n` is shared. */
WEFT_API void weft_notify_init(weft_notify *n);

/**
 * Releases `n`. Aborts (every build) if notified() futures wait on it. No
 * other thread may use `n` meanwhile, and no future may refer to it
 * afterwards.
 */
WEFT_API void weft_notify_destroy(weft_notify *n);

/**
 * Wakes the oldest waiting notified() future, or, if none waits, stores a
 * permit (at most one: repeated calls do not accumulate). Any thread; never
 * waits.
 */
WEFT_API void weft_notify_one(weft_notify *n);

/**
 * Wakes every notified() future that is waiting now, and every one that
 * was initialised before this call even if it has not been polled yet
 * (Tokio's rule). Stores no permit. Any thread; never waits.
 */
WEFT_API void weft_notify_waiters(weft_notify *n);

/**
 * The notified future: ready (no output) when it consumed a stored permit,
 * was picked by notify_one, or notify_waiters was called after its init.
 * Cancel-safe: if it was picked by notify_one but is dropped before it
 * returned ready, the notification goes to the next waiter (or is stored
 * as the permit); dropping it otherwise only leaves the queue.
 */
typedef struct weft_notified {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_notify *notify; /**< @private */
    weft_wait_node node; /**< @private */
    uint64_t generation; /**< @private */
} weft_notified;

/**
 * Initialises a notified future of `n`: it only records which
 * notify_waiters calls came before it. Returns `&f->base`. Any thread;
 * poll it from one task at a time.
 */
WEFT_API weft_future *weft_notify_notified_init(weft_notified *f, weft_notify *n);

/** @} */

/* ------------------------------------------------------------------------ */
/* Barrier                                                                   */
/* ------------------------------------------------------------------------ */

/** @defgroup barrier Barrier
 * @{ */
/**
 * A barrier for `n` parties: the first n-1 waits suspend, the n-th releases
 * all of them, and the barrier is ready for the next round. Exactly one
 * waiter per round is told it is the leader (the last to arrive).
 */
typedef struct weft_barrier {
    weft_spinlock lock; /**< @private */
    uint32_t pad_; /**< @private */
    size_t n;       /**< @private */
    size_t arrived; /**< @private */
    uint64_t generation; /**< @private */
    weft_link waiters; /**< @private */
} weft_barrier;

/** Initialises `b` for `n` parties (0 counts as 1). No allocation. Any thread, before `b` is shared. */
WEFT_API void weft_barrier_init(weft_barrier *b, size_t n);

/**
 * Releases `b`. Aborts (every build) if parties wait on it. No other
 * thread may use `b` meanwhile, and no future may refer to it afterwards.
 */
WEFT_API void weft_barrier_destroy(weft_barrier *b);

/**
 * The wait future: ready when `n` parties have arrived in this round;
 * `is_leader` is then true for exactly one of them. A party arrives at its
 * future's first poll. Cancel-safe: a waiter dropped before its round is
 * complete un-arrives (the round then needs another party); one dropped
 * after its round completed changes nothing.
 */
typedef struct weft_barrier_wait {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_barrier *barrier; /**< @private */
    weft_wait_node node; /**< @private */
    bool is_leader; /**< output */
} weft_barrier_wait;

/** Initialises a wait on `b`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_barrier_wait_init(weft_barrier_wait *f, weft_barrier *b);

/** @} */

/* ------------------------------------------------------------------------ */
/* Waiting from a plain thread                                               */
/* ------------------------------------------------------------------------ */

/** @defgroup wait_blocking Waiting from a plain thread
 * @{ */
/**
 * Runs `f` to completion on the calling thread, parking the thread (on a
 * condition variable) while it is pending, like Tokio's blocking_lock /
 * blocking_recv. For futures that need no runtime: everything in sync.h,
 * channel.h, and join handles (a sleep needs a runtime and is refused
 * with a misuse abort). Returns 0 when `f` is ready (its output is valid),
 * or -EDEADLK if called on a thread that is running a runtime's tasks
 * (it would block them). `f` must not move while it runs. Any thread that
 * is not running a runtime's tasks; not a future (it returns only when `f`
 * is ready).
 */
WEFT_API int weft_wait_blocking(weft_future *f);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SYNC_H */
