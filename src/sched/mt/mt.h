/*
 * The multi_thread runtime: N workers, each with a stealable ring and a
 * LIFO slot, one global inject queue, one I/O driver that whichever worker
 * parks first drives, and one timer wheel behind a mutex.
 */
#ifndef WEFT_SCHED_MT_H
#define WEFT_SCHED_MT_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/driver.h"
#include "runtime/rt.h"
#include "sched/inject.h"
#include "sched/mt/idle.h"
#include "sched/mt/local_queue.h"
#include "time/wheel.h"
#include "util/parker.h"

/* Polls between looks at the driver and timers, and between looks at the
 * inject queue first (Tokio's event_interval / global_queue_interval). */
#define MT_EVENT_INTERVAL 61
#define MT_GLOBAL_INTERVAL 61
/* At most this many tasks are taken from the inject queue in one go. The
 * batch is walked with the inject lock held, and a spawning thread pushes
 * one task per lock: a long walk (it was half a ring, 128 tasks, a cache
 * miss each) kept the spawner waiting on the lock. 16 amortises the lock
 * over the batch and keeps the hold short (spawn_many/mt: 1.15x Tokio's
 * time with 128, 0.8-0.9x with 8 or 16, 1.4x taking one at a time). */
#define MT_INJECT_BATCH 16
/* Polls in a row through the LIFO slot before it is bypassed, so two
 * tasks waking each other cannot starve the rest of the queue. */
#define MT_MAX_LIFO_POLLS 3

struct mt_runtime;

typedef struct mt_worker {
    struct mt_runtime *rt;
    unsigned index;
    pthread_t thread;
    weft_local_queue queue; /* stealable by the others */
    weft_inject inbox;      /* tasks pinned to this worker, woken elsewhere (pinned.c) */
    /* Owned by the worker's thread. */
    weft_task *lifo;
    unsigned lifo_polls;
    uint32_t tick;
    uint32_t rand;
    bool is_searching;
    bool in_driver; /* dispatching driver events: wakes go local, no notify */
    weft_counter polls;
    /* Sleeps on its futex, or "elsewhere" = in the I/O driver. */
    weft_parker parker;
} mt_worker;

typedef struct mt_runtime {
    weft_runtime base;
    unsigned num_workers;
    mt_worker *workers;
    weft_inject inject;
    weft_idle idle;
    weft_driver driver;
    _Atomic bool driver_taken;
    /* The deadline the driver's parker sleeps until (0: nobody sleeps in
     * the driver). A timer inserted earlier than this unparks it. */
    _Atomic uint64_t driver_deadline;
    weft_wheel wheel;
    pthread_mutex_t wheel_lock;
    _Atomic bool shutdown;
    unsigned started;
    struct mt_blocker *blockers; /* threads inside block_on, under base.blockers_lock */
} mt_runtime;

/* The worker running on this thread, or NULL. */
extern _Thread_local mt_worker *weft__tls_worker;

void *weft__mt_worker_main(void *arg);
void weft__mt_schedule(weft_runtime *rt, weft_task *t, bool yield);
void weft__mt_unpark_worker(mt_worker *w);
void weft__mt_notify_parked(mt_runtime *rt);
/* Pinned tasks (pinned.c). send_home: if `t` is pinned to a worker other
 * than `here` (NULL: not on a worker of this runtime), queues it in that
 * worker's inbox and returns true. cancel_pinned: at exit, a worker
 * cancels the tasks pinned to it. */
void weft__mt_pin(weft_runtime *rt, weft_task *t);
bool weft__mt_send_home(mt_runtime *rt, mt_worker *here, weft_task *t);
void weft__mt_cancel_pinned(mt_worker *w);
/* Fires due timers (if the wheel is free, unless wait_for_lock). Returns
 * whether timers are left (true if the wheel was busy). */
bool weft__mt_fire_timers(mt_runtime *rt, bool wait_for_lock);

#endif
