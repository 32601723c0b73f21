/* sync_mutex_contend: 1,000 tasks share one Mutex; each does N/1000 rounds
 * of lock, counter += 1, yield_now (the lock held across an await), unlock,
 * so every lock is a FIFO hand-off to a queued task. Tokio twin:
 * tokio_sync_bench sync_mutex_contend. */
#include "sync_bench.h"

#define DEFAULT_N 2000000L /* lock acquisitions in total */
#define TASKS 1000

typedef struct shared {
    weft_mutex m;
    uint64_t counter;
} shared;

typedef struct worker {
    WEFT_CORO_FIELDS;
    shared *sh;
    long i, rounds;
    weft_mutex_lock lk;
    weft_yield_now y;
    int out;
} worker;

WEFT_ASYNC(worker, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->rounds; self->i++) {
        WEFT_AWAIT(weft_mutex_lock_init(&self->lk, &self->sh->m));
        self->sh->counter++;
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        weft_mutex_unlock(&self->sh->m);
    }
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n;
    shared sh;
    worker wk;
    weft_join_handle *hs;
    int i;
    sb_watch w;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->w = sb_start();
    weft_mutex_init(&self->sh.m);
    for (self->i = 0; self->i < TASKS; self->i++) {
        worker_start(&self->wk);
        self->wk.sh = &self->sh;
        self->wk.rounds = self->n / TASKS;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->wk, out, NULL);
    }
    for (self->i = 0; self->i < TASKS; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    sb_report("sync_mutex_contend", &self->w);
    SB_CHECK(self->sh.counter == (uint64_t)((self->n / TASKS) * TASKS));
    WEFT_END();
}

int main(int argc, char **argv) {
    static weft_join_handle hs[TASKS];
    root r;
    memset(&r, 0, sizeof r);
    root_start(&r);
    r.hs = hs;
    r.n = sb_size(argc, argv, DEFAULT_N);
    sb_run(&r.base);
    return 0;
}
