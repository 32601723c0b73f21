/*
 * chained_spawn: each task spawns the next (detached), 1,000,000 deep; the
 * last one notifies a bench_signal the root awaits. Model: Tokio's own
 * benches/rt_current_thread.rs chained_spawn (which ends with a oneshot;
 * both sides here end with the same hand-made signal).
 */
#include "bench_common.h"

#define DEFAULT_N 1000000L

typedef struct chain_link {
    WEFT_CORO_FIELDS;
    bench_signal *done;
    long n;
} chain_link;

static void chain(weft_runtime *rt, bench_signal *done, long n);

WEFT_ASYNC(chain_link, NULL) {
    WEFT_BEGIN();
    chain(cx->runtime, self->done, self->n - 1);
    WEFT_END();
}

/* Like the Rust twin: n == 0 ends the chain, else spawn a task that calls chain(n - 1). */
static void chain(weft_runtime *rt, bench_signal *done, long n) {
    if (n == 0) {
        bench_signal_notify(done);
        return;
    }
    chain_link l;
    chain_link_start(&l);
    l.done = done;
    l.n = n;
    WEFT_SPAWN_DETACHED(rt, &l);
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n;
    bench_signal done;
    bench_signal_wait wait;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) { bench_signal_destroy(&self->done); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    chain(cx->runtime, &self->done, self->n);
    WEFT_AWAIT(bench_signal_wait_init(&self->wait, &self->done));
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        char extra[64];
        snprintf(extra, sizeof extra, "n=%ld", self->n);
        bench_report("chained_spawn", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "chained_spawn");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    bench_signal_init(&r.done);
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("chained_spawn", &a);
    return 0;
}
