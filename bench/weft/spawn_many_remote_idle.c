/*
 * spawn_many_remote_idle: the main thread, outside the runtime, spawns
 * 10,000 empty tasks onto the idle runtime (weft_spawn_raw from a foreign
 * thread: the inject queue), keeping the join handles; then weft_block_on
 * runs a root future that awaits every handle in order. 100 iterations
 * (1,000,000 tasks), all timed. Model: tokio/benches/rt_multi_threaded.rs,
 * spawn_many_remote_idle (NUM_SPAWN = 10,000 per iteration).
 * Tokio twin: bench/peers/tokio/src/main.rs, spawn_many_remote_idle.
 */
#include "bench_common.h"

#define DEFAULT_N 10000L  /* tasks per iteration */
#define DEFAULT_ITERS 100L

typedef struct empty {
    WEFT_CORO_FIELDS;
} empty;

WEFT_ASYNC(empty, NULL) {
    WEFT_BEGIN();
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, i;
    weft_join_handle *handles;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        BENCH_CHECK(self->handles[self->i].result == 0);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "spawn_many_remote_idle");
    long n = a.n > 0 ? a.n : DEFAULT_N;
    long iters = a.iters > 0 ? a.iters : DEFAULT_ITERS;
    weft_runtime *rt = bench_runtime(&a);
    weft_join_handle *handles = malloc(sizeof *handles * (size_t)n);
    BENCH_CHECK(handles);

    double t_spawn = 0, t_join = 0;
    bench_stopwatch sw = bench_start();
    for (long it = 0; it < iters; it++) {
        double t0 = bench_wall(&sw);
        for (long i = 0; i < n; i++) {
            empty e;
            empty_start(&e);
            handles[i] = weft_spawn_raw(rt, &e, sizeof e, 0, 0, NULL);
        }
        double t1 = bench_wall(&sw);
        root r;
        root_start(&r);
        r.n = n;
        r.handles = handles;
        bench_block_on(rt, &r.base);
        t_spawn += t1 - t0;
        t_join += bench_wall(&sw) - t1;
    }
    double wall = bench_wall(&sw), cpu = bench_cpu(&sw);

    char extra[160];
    snprintf(extra, sizeof extra, "n=%ld iters=%ld tasks=%ld spawn=%.6f join=%.6f", n, iters, n * iters,
             t_spawn, t_join);
    bench_report("spawn_many_remote_idle", wall, cpu, extra);

    weft_runtime_destroy(rt);
    free(handles);
    bench_note_flavor("spawn_many_remote_idle", &a);
    return 0;
}
