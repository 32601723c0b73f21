/*
 * spawn_many: spawn 1,000,000 trivial tasks from inside the runtime (from
 * the root future), then await every join handle in order.
 * Tokio twin: bench/peers/tokio/src/main.rs, spawn_many.
 */
#include "bench_common.h"

#define DEFAULT_N 1000000L

typedef struct trivial {
    WEFT_CORO_FIELDS;
    uint32_t out;
} trivial;

WEFT_ASYNC(trivial, NULL) {
    WEFT_BEGIN();
    self->out = 1;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, i;
    weft_join_handle *handles;
    uint32_t got;
    uint64_t sum;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) { free(self->handles); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    self->handles = malloc(sizeof *self->handles * (size_t)self->n);
    BENCH_CHECK(self->handles);
    for (self->i = 0; self->i < self->n; self->i++) {
        trivial t;
        trivial_start(&t);
        t.out = 0;
        self->handles[self->i] = WEFT_SPAWN(cx->runtime, &t, out, &self->got);
    }
    for (self->i = 0; self->i < self->n; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        BENCH_CHECK(self->handles[self->i].result == 0);
        self->sum += self->got;
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->sum == (uint64_t)self->n);
        char extra[64];
        snprintf(extra, sizeof extra, "n=%ld", self->n);
        bench_report("spawn_many", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "spawn_many");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    r.handles = NULL;
    r.sum = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("spawn_many", &a);
    return 0;
}
