/*
 * The blocking pool: threads that run blocking functions so that no worker
 * ever blocks. Threads start on demand up to `max`, wait for more work when
 * idle, and retire after `keep_alive_ms` idle. Every thread weft starts is
 * joined: a retired thread by the next submit that starts a thread once it
 * has fully exited (pthread_tryjoin_np: a submitter never waits), or else
 * by shutdown; the others by shutdown. Every thread holds a reference on its
 * runtime, so a thread that a shutdown with a time limit leaves behind
 * (detached: it is still in a user function) never touches freed memory.
 */
#ifndef WEFT_SCHED_BLOCKING_H
#define WEFT_SCHED_BLOCKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/task_queue.h"
#include "weft/value.h"

#define WEFT_BLOCKING_MAX_DEFAULT 512
#define WEFT_BLOCKING_KEEP_ALIVE_MS 10000

struct weft_runtime;

/* One started thread, listed in its pool until it is joined or detached. */
typedef struct weft_pool_thread {
    struct weft_pool_thread *next;
    pthread_t th;
    struct weft_runtime *rt;
    bool done; /* it left its loop: joining it does not wait on user code */
} weft_pool_thread;

typedef struct weft_blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* an idle thread waits for work here */
    pthread_cond_t exited;  /* shutdown waits for threads to end here */
    weft_task_queue queue;
    weft_pool_thread *all; /* every thread not yet joined or detached */
    unsigned threads, idle, max, wakeups;
    uint64_t keep_alive_ms;
    bool shutdown;
    bool abandoned; /* shutdown gave up waiting: threads still listed are detached */
} weft_blocking_pool;

void weft__blocking_pool_init(weft_blocking_pool *p, unsigned max);
/* Queues a task (with its queue reference) and makes sure a thread runs it.
 * Returns 0, or -WEFT_ENOTHREAD if no thread could be started and none
 * exists (the task is then not queued: the caller still owns it). */
int weft__blocking_pool_submit(struct weft_runtime *rt, weft_task *t);
/* Stops the pool: idle threads exit; waits up to timeout_ms (UINT64_MAX:
 * no limit) for the busy ones, and joins every thread that ended. Threads
 * still busy at the limit are detached and left to finish on their own.
 * Returns true if every thread ended (and was joined). Not from a pool
 * thread of the same runtime (that is a misuse: it would wait for itself). */
bool weft__blocking_pool_shutdown(weft_blocking_pool *p, uint64_t timeout_ms);
void weft__blocking_pool_destroy(weft_blocking_pool *p);
/* Whether the calling thread is one of `p`'s threads. */
bool weft__blocking_pool_is_current(const weft_blocking_pool *p);

/* Starts a pool thread (joinable, every signal blocked). Tests replace it
 * to make thread creation fail. Returns 0 or -errno. */
extern int (*weft__blocking_thread_start)(pthread_t *th, void *(*fn)(void *), void *arg);

/* Runs fn(arg) on the pool, detached. If the call is cancelled before it
 * starts (runtime shutdown, or the spawn fails), cancel(arg) runs instead,
 * exactly once, so `arg` is always released. Returns 0, or the negative
 * error of a failed spawn (cancel has then run). */
int weft__blocking_detached(struct weft_runtime *rt, void *(*fn)(void *arg),
                            weft_drop_fn cancel, void *arg);

#endif
