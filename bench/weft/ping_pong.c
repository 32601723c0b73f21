/*
 * ping_pong: 1,000 pairs of tasks; in each pair `ping` notifies the
 * partner, then waits for the reply; `pong` waits, then replies. 1,000
 * round trips per pair: 1,000,000 in total. The pair shares two
 * bench_signals (flag + AtomicWaker-style waker slot, bench_common.h);
 * the Tokio twin uses the same mechanism written in Rust (common::Signal).
 */
#include "bench_common.h"

#define PAIRS 1000L
#define DEFAULT_ROUND_TRIPS 1000000L

typedef struct pair {
    bench_signal ping, pong;
} pair;

typedef struct pinger {
    WEFT_CORO_FIELDS;
    pair *p;
    long left;
    bench_signal_wait wait;
    uint32_t out;
} pinger;

WEFT_ASYNC(pinger, NULL) {
    WEFT_BEGIN();
    for (; self->left > 0; self->left--) {
        bench_signal_notify(&self->p->ping);
        WEFT_AWAIT(bench_signal_wait_init(&self->wait, &self->p->pong));
    }
    self->out = 1;
    WEFT_END();
}

typedef struct ponger {
    WEFT_CORO_FIELDS;
    pair *p;
    long left;
    bench_signal_wait wait;
    uint32_t out;
} ponger;

WEFT_ASYNC(ponger, NULL) {
    WEFT_BEGIN();
    for (; self->left > 0; self->left--) {
        WEFT_AWAIT(bench_signal_wait_init(&self->wait, &self->p->ping));
        bench_signal_notify(&self->p->pong);
    }
    self->out = 1;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long pairs, rounds, i;
    pair *ps;
    weft_join_handle *handles;
    uint32_t got;
    uint64_t sum;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) {
    free(self->handles);
    free(self->ps);
}

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    self->ps = malloc(sizeof *self->ps * (size_t)self->pairs);
    self->handles = malloc(sizeof *self->handles * 2 * (size_t)self->pairs);
    BENCH_CHECK(self->ps && self->handles);
    for (self->i = 0; self->i < self->pairs; self->i++) {
        pair *p = &self->ps[self->i];
        bench_signal_init(&p->ping);
        bench_signal_init(&p->pong);
        pinger a;
        pinger_start(&a);
        a.p = p;
        a.left = self->rounds;
        a.out = 0;
        self->handles[2 * self->i] = WEFT_SPAWN(cx->runtime, &a, out, &self->got);
        ponger b;
        ponger_start(&b);
        b.p = p;
        b.left = self->rounds;
        b.out = 0;
        self->handles[2 * self->i + 1] = WEFT_SPAWN(cx->runtime, &b, out, &self->got);
    }
    for (self->i = 0; self->i < 2 * self->pairs; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        BENCH_CHECK(self->handles[self->i].result == 0);
        self->sum += self->got;
    }
    /* The Rust twin frees each pair (and the wakers it holds) when its
     * second task finishes, inside the measured section: so do we. */
    for (self->i = 0; self->i < self->pairs; self->i++) {
        bench_signal_destroy(&self->ps[self->i].ping);
        bench_signal_destroy(&self->ps[self->i].pong);
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->sum == 2 * (uint64_t)self->pairs);
        char extra[96];
        snprintf(extra, sizeof extra, "pairs=%ld round_trips=%ld", self->pairs, self->pairs * self->rounds);
        bench_report("ping_pong", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "ping_pong");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.pairs = PAIRS;
    r.rounds = (a.n > 0 ? a.n : DEFAULT_ROUND_TRIPS) / PAIRS;
    r.ps = NULL;
    r.handles = NULL;
    r.sum = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("ping_pong", &a);
    return 0;
}
