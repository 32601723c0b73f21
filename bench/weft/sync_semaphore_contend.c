/* sync_semaphore_contend: 1,000 tasks share a semaphore of 10 permits; each
 * does N/1000 rounds of acquire, yield_now (holding the permit), release.
 * Tokio twin: tokio_sync_bench sync_semaphore_contend. */
#include "sync_bench.h"

#define DEFAULT_N 2000000L /* acquisitions in total */
#define TASKS 1000
#define PERMITS 10

typedef struct worker {
    WEFT_CORO_FIELDS;
    weft_semaphore *sem;
    long i, rounds;
    weft_semaphore_acquire a;
    weft_yield_now y;
    long out;
} worker;

WEFT_ASYNC(worker, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->rounds; self->i++) {
        WEFT_AWAIT(weft_semaphore_acquire_init(&self->a, self->sem));
        WEFT_AWAIT(weft_yield_now_init(&self->y));
        weft_semaphore_add_permits(self->sem, 1);
    }
    self->out = self->rounds;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, total, got;
    weft_semaphore sem;
    worker wk;
    weft_join_handle *hs;
    int i;
    sb_watch w;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->w = sb_start();
    weft_semaphore_init(&self->sem, PERMITS);
    for (self->i = 0; self->i < TASKS; self->i++) {
        worker_start(&self->wk);
        self->wk.sem = &self->sem;
        self->wk.rounds = self->n / TASKS;
        self->hs[self->i] = WEFT_SPAWN(cx->runtime, &self->wk, out, &self->got);
    }
    for (self->i = 0; self->i < TASKS; self->i++) {
        WEFT_AWAIT(&self->hs[self->i].base);
        self->total += self->got;
    }
    sb_report("sync_semaphore_contend", &self->w);
    SB_CHECK(self->total == (self->n / TASKS) * TASKS && weft_semaphore_available(&self->sem) == PERMITS);
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
