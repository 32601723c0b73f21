/*
 * The blocking pool: threads that run blocking functions so that no worker
 * ever blocks. Threads start on demand up to `max`, wait for more work when
 * idle, and retire after `keep_alive_ms` idle. Every thread holds a
 * reference on its runtime, so a thread left behind by a shutdown with a
 * time limit never touches freed memory.
 */
#ifndef WEFT_SCHED_BLOCKING_H
#define WEFT_SCHED_BLOCKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/task_queue.h"

#define WEFT_BLOCKING_MAX_DEFAULT 512
#define WEFT_BLOCKING_KEEP_ALIVE_MS 10000

struct weft_runtime;

typedef struct weft_blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* an idle thread waits for work here */
    pthread_cond_t exited;  /* shutdown waits for threads to end here */
    weft_task_queue queue;
    unsigned threads, idle, max, wakeups;
    uint64_t keep_alive_ms;
    bool shutdown;
} weft_blocking_pool;

void weft__blocking_pool_init(weft_blocking_pool *p, unsigned max);
/* Queues a task (with its queue reference) and makes sure a thread runs it.
 * Returns 0, or -EAGAIN if no thread could be started and none exists. */
int weft__blocking_pool_submit(struct weft_runtime *rt, weft_task *t);
/* Stops the pool: idle threads exit; waits up to timeout_ms (UINT64_MAX:
 * no limit) for the busy ones. Returns true if every thread ended. */
bool weft__blocking_pool_shutdown(weft_blocking_pool *p, uint64_t timeout_ms);
void weft__blocking_pool_destroy(weft_blocking_pool *p);

/* Runs fn(arg) on the pool, detached. If the call is cancelled before it
 * starts (runtime shutdown, or the spawn fails), cancel(arg) runs instead,
 * exactly once, so `arg` is always released. Returns 0, or the -errno of a
 * failed spawn (cancel has then run). */
int weft__blocking_detached(struct weft_runtime *rt, void *(*fn)(void *arg),
                            void (*cancel)(void *arg), void *arg);

#endif
