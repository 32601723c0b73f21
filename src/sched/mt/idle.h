/*
 * Which workers sleep and which search for work. `state` packs the number
 * of workers searching (low 16 bits) and unparked (high 16 bits), so the
 * hot-path question "should a new task wake somebody?" is one atomic load:
 * only if nobody is searching and somebody sleeps. At most half the workers
 * search at once, so a burst of spawns does not wake every worker; the
 * last searcher to park re-checks every queue first, so no wake-up is lost.
 */
#ifndef WEFT_SCHED_MT_IDLE_H
#define WEFT_SCHED_MT_IDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct weft_idle {
    _Atomic uint32_t state;
    unsigned num_workers;
    pthread_mutex_t lock;
    unsigned *sleepers; /* indices of parked workers (a stack) */
    unsigned num_sleepers;
} weft_idle;

int weft__idle_init(weft_idle *idle, unsigned num_workers);
void weft__idle_destroy(weft_idle *idle);

/* If a sleeping worker should be woken for new work, marks it unparked and
 * searching and returns its index; otherwise -1. */
int weft__idle_worker_to_notify(weft_idle *idle);
/* The worker `index` goes to sleep. Returns true if it was the last
 * searcher (then it must re-check the queues for work). */
bool weft__idle_transition_to_parked(weft_idle *idle, unsigned index, bool is_searching);
/* Tries to become a searcher; false if half the workers already search. */
bool weft__idle_transition_to_searching(weft_idle *idle);
/* Stops searching; true if this was the last searcher. */
bool weft__idle_transition_from_searching(weft_idle *idle);
/* A worker woke on its own (I/O, timer, spurious): if it is still listed
 * as a sleeper, unlist it and return true. */
bool weft__idle_unpark_worker_by_id(weft_idle *idle, unsigned index);
/* Whether the worker is listed as a sleeper. */
bool weft__idle_is_parked(weft_idle *idle, unsigned index);
/* Number of workers searching (approximate). */
unsigned weft__idle_num_searching(weft_idle *idle);

#endif
