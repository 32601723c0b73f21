/*
 * fiber_spawn_many: spawn_many with fibers: the root spawns 1,000,000
 * fibers whose function returns at once, keeping the join handles, then
 * joins every one in order. A fiber takes its stack from the pool when it
 * starts and gives it back when it returns, so the stacks are pooled
 * (a handful serve all million). Peer: spawn_many (the same with future
 * tasks).
 */
#include "bench_common.h"

#include <weft/fiber.h>

#define DEFAULT_N 1000000L

static void *empty(void *arg) { return arg; }

typedef struct args {
    long n;
    weft_join_handle *handles;
} args;

typedef struct root {
    WEFT_CORO_FIELDS;
    args *a;
    long i;
    weft_fiber_output got;
    uint64_t sum;
    bench_stopwatch sw;
} root;

/* The root is a coroutine, as spawn_many's, so that only the spawned
 * tasks differ. */
WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->sw = bench_start();
    for (self->i = 0; self->i < self->a->n; self->i++)
        self->a->handles[self->i] = weft_fiber_spawn(cx->runtime, empty, (void *)1, NULL);
    for (self->i = 0; self->i < self->a->n; self->i++) {
        self->a->handles[self->i].out = &self->got;
        WEFT_AWAIT(&self->a->handles[self->i].base);
        BENCH_CHECK(self->a->handles[self->i].result == 0 && self->got.error == 0);
        self->sum += (uintptr_t)self->got.value;
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->sum == (uint64_t)self->a->n);
        char extra[64];
        snprintf(extra, sizeof extra, "n=%ld", self->a->n);
        bench_report("fiber_spawn_many", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args ba = bench_parse_args(argc, argv, "fiber_spawn_many");
    weft_runtime *rt = bench_runtime(&ba);
    args a = {ba.n > 0 ? ba.n : DEFAULT_N, NULL};
    a.handles = malloc(sizeof *a.handles * (size_t)a.n);
    BENCH_CHECK(a.handles);
    root r;
    root_start(&r);
    r.a = &a;
    r.sum = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    free(a.handles);
    bench_note_flavor("fiber_spawn_many", &ba);
    return 0;
}
