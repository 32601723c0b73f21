/*
 * timers: one spawned task owns 1,000,000 sleeps of 1..=1000 ms (splitmix64
 * sequence, same seed as the Tokio twin), all in one array.
 *   arm:  in batches of 1,000: initialise each sleep and poll it once (which
 *         inserts it in the timing wheel), then drop the odd-numbered sleeps
 *         of the batch (cancel: none can have fired, the task has not
 *         yielded since inserting them), then yield (weft_yield_now) so the runtime turns its
 *         driver between batches, as it would in a server.
 *   fire: await the even-numbered sleeps in index order until all fired.
 * secs covers both phases, so it includes waiting for the last deadline
 * (about 1 s); cpu is the work.
 *
 * The insert pass polls each sleep with a copy of the task's context whose
 * cooperative budget is full, so every first poll registers the timer:
 * Tokio's Sleep only spends budget when it completes, so its insert pass
 * never runs out either.
 */
#include "bench_common.h"

#define DEFAULT_N 1000000L
#define BATCH 1000L
#define SEED 0x5eed7153ull

typedef struct owner {
    WEFT_CORO_FIELDS;
    long n, lo, hi, i;
    weft_sleep *sleeps;
    uint8_t *fired_early;
    uint64_t rng;
    double t_insert, t_cancel, t_arm;
    long cancelled, fired;
    bench_stopwatch sw;
    weft_yield_now yield;
    uint32_t out;
} owner;

static void owner_cleanup(owner *self) {
    if (self->sleeps) {
        for (long i = 0; i < self->hi; i++) {
            weft_future *f = &self->sleeps[i].base;
            if (f->state == WEFT_FUTURE_FRESH || f->state == WEFT_FUTURE_PENDING) weft_future_drop(f);
        }
    }
    free(self->sleeps);
    free(self->fired_early);
}

WEFT_ASYNC(owner, owner_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    self->rng = SEED;
    self->sleeps = malloc(sizeof *self->sleeps * (size_t)self->n);
    self->fired_early = calloc((size_t)self->n, 1);
    BENCH_CHECK(self->sleeps && self->fired_early);
    for (self->lo = 0; self->lo < self->n; self->lo = self->hi) {
        self->hi = self->lo + BATCH < self->n ? self->lo + BATCH : self->n;
        {
            double t0 = bench_wall(&self->sw);
            for (long i = self->lo; i < self->hi; i++) {
                uint64_t ms = 1 + bench_splitmix64(&self->rng) % 1000;
                weft_context c = *cx;
                c.budget = WEFT_COOP_BUDGET;
                if (weft_future_poll(weft_sleep_init(&self->sleeps[i], ms), &c) == WEFT_READY)
                    self->fired_early[i] = 1;
            }
            double t1 = bench_wall(&self->sw);
            for (long i = self->lo | 1; i < self->hi; i += 2) {
                if (!self->fired_early[i]) self->cancelled++;
                weft_future_drop(&self->sleeps[i].base); /* cancels the timer */
            }
            double t2 = bench_wall(&self->sw);
            self->t_insert += t1 - t0;
            self->t_cancel += t2 - t1;
        }
        WEFT_AWAIT(weft_yield_now_init(&self->yield));
    }
    self->t_arm = bench_wall(&self->sw);
    for (self->i = 0; self->i < self->n; self->i += 2) {
        if (!self->fired_early[self->i]) WEFT_AWAIT(&self->sleeps[self->i].base);
        self->fired++;
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->fired + self->cancelled == self->n);
        char extra[256];
        snprintf(extra, sizeof extra,
                 "n=%ld insert=%.6f cancel=%.6f arm=%.6f fire=%.6f cancelled=%ld fired=%ld", self->n,
                 self->t_insert, self->t_cancel, self->t_arm, wall - self->t_arm, self->cancelled,
                 self->fired);
        bench_report("timers", wall, cpu, extra);
    }
    self->out = 1;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n;
    weft_join_handle h;
    uint32_t got;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    {
        owner o;
        memset(&o, 0, sizeof o);
        owner_start(&o);
        o.n = self->n;
        self->h = WEFT_SPAWN(cx->runtime, &o, out, &self->got);
    }
    WEFT_AWAIT(&self->h.base);
    BENCH_CHECK(self->h.result == 0 && self->got == 1);
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "timers");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    r.got = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("timers", &a);
    return 0;
}
