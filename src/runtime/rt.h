/*
 * What every runtime flavour shares: the scheduler operations table, the
 * owned-task list, the counters, and the thread-local "current runtime".
 */
#ifndef WEFT_RUNTIME_RT_H
#define WEFT_RUNTIME_RT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "util/spinlock.h"
#include "sched/blocking_pool.h"
#include "task/task.h"
#include "weft/runtime.h"

struct weft_wheel;

/* Scheduler operations; one table per flavour. */
typedef struct weft_sched_ops {
    /* Queues a notified task (the caller passes the queue's reference).
     * Any thread. `yield` is true when the task woke itself while running. */
    void (*schedule)(weft_runtime *rt, weft_task *t, bool yield);
    int (*block_on)(weft_runtime *rt, weft_future *fut);
    /* Drops every task, joins threads, releases the driver and timers. */
    void (*shutdown)(weft_runtime *rt);
    /* Frees the flavour's memory once the last reference is gone. */
    void (*free)(weft_runtime *rt);
    /* The timing wheel of the calling thread's worker (runtime thread only). */
    struct weft_wheel *(*wheel)(weft_runtime *rt);
    /* The I/O driver that registrations join. Any thread. */
    struct weft_driver *(*driver)(weft_runtime *rt);
    /* Adds counters the flavour keeps itself (may be NULL). Any thread. */
    void (*stats)(const weft_runtime *rt, weft_runtime_stats *out);
    /* Wakes every thread inside block_on, which then sees shutting_down
     * and returns -ESHUTDOWN. Any thread. */
    void (*wake_blockers)(weft_runtime *rt);
    /* Keeps task `t`, being polled on the calling thread, on this thread
     * from now on (may be NULL: a flavour with one thread). */
    void (*pin)(weft_runtime *rt, weft_task *t);
} weft_sched_ops;

/* Single-writer counter: written by one thread, read racily by any. */
typedef _Atomic uint64_t weft_counter;
static inline void counter_add(weft_counter *c, uint64_t n) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline void counter_add_shared(weft_counter *c, uint64_t n) {
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Every task of a runtime, so that shutdown can drop the unfinished ones.
 * Sharded by task address: spawners and every worker insert and remove on
 * each task, and one lock would be one cache line bouncing between them
 * all (Tokio shards its OwnedTasks for the same reason). Each shard counts
 * its own spawns and completions under its lock. */
#define WEFT_OWNED_SHARDS 16
typedef struct weft_owned_shard {
    alignas(64) weft_spinlock lock;
    bool closed;
    weft_link tasks; /* weft_task.owned */
    weft_counter spawned, completed;
} weft_owned_shard;

struct weft_runtime {
    const weft_sched_ops *ops;
    _Atomic bool shutting_down;
    /* One reference for the user's handle and one per live task: the
     * memory a task can still touch (its scheduler) stays until both go.
     * Spawners write it, workers write the owned list: separate lines. */
    alignas(64) _Atomic uint64_t refs;
    weft_owned_shard owned[WEFT_OWNED_SHARDS];
    weft_runtime_options opts;
    uint64_t origin_ms;
    /* Threads inside weft_block_on: destroy wakes them and waits until
     * they have left before it tears anything down. */
    pthread_mutex_t blockers_lock;
    pthread_cond_t blockers_left;
    unsigned blockers;
    weft_blocking_pool blocking;
    struct {
        weft_counter task_polls, root_polls, parks,
            remote_schedules, timers_fired;
    } stats;
};

/* The runtime whose tasks this thread is running (set by block_on/workers). */
extern _Thread_local weft_runtime *weft__tls_runtime;

void weft__runtime_base_init(weft_runtime *rt, const weft_sched_ops *ops,
                             const weft_runtime_options *opts);
/* Releases what weft__runtime_base_init set up (for failed creations). */
void weft__runtime_base_destroy(weft_runtime *rt);
void weft__runtime_ref(weft_runtime *rt);
void weft__runtime_unref(weft_runtime *rt);

/* Owned-task list (src/runtime/owned.c). Insert fails (returns false) once
 * the list is closed. */
void weft__owned_init(weft_runtime *rt);
/* Spawns and completions so far (summed over the shards). */
void weft__owned_counts(const weft_runtime *rt, uint64_t *spawned, uint64_t *completed);
bool weft__owned_insert(weft_runtime *rt, weft_task *t);
/* A task is completing: removes it if it is still listed (returns true if
 * it was: the caller then holds the list's reference) and counts it. */
bool weft__owned_complete(weft_runtime *rt, weft_task *t);
/* Closes the list and cancels every task in it that is idle (the others
 * are cancelled by whoever is running them). Loops until the list is empty. */
void weft__owned_close_and_shutdown(weft_runtime *rt);

/* Starts a thread with every signal blocked but those a fault raises
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) (workers, blocking pool):
 * process signals go to the application's threads, which may wait for
 * them with signalfd or sigwait. Returns 0 or -errno. */
int weft__thread_start(pthread_t *th, bool detached, void *(*fn)(void *), void *arg);

/* The timing wheel for a poll with context `cx` (aborts with a misuse
 * message if the future is polled outside a runtime). */
struct weft_wheel *weft__wheel_for(weft_context *cx, const weft_future *f);

#endif
