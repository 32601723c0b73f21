/*
 * fiber_yield_many: yield_many with fibers: 1,000 fiber tasks each yield
 * 1,000 times (weft_fiber_yield: the task wakes itself, goes to the back
 * of the run queue, and its fiber is suspended and resumed), all joined.
 * Peer: yield_many (the same with coroutine tasks).
 */
#include "bench_common.h"

#include <weft/fiber.h>

#define DEFAULT_TASKS 1000L
#define YIELDS_EACH 1000L

static void *yielder(void *arg) {
    (void)arg;
    for (long i = 0; i < YIELDS_EACH; i++)
        if (weft_fiber_yield() != 0) abort();
    return (void *)1;
}

typedef struct args {
    long tasks;
} args;

static void *root(void *p) {
    args *a = p;
    weft_runtime *rt = weft_runtime_current();
    bench_stopwatch sw = bench_start();
    weft_join_handle *hs = malloc(sizeof *hs * (size_t)a->tasks);
    BENCH_CHECK(hs);
    for (long i = 0; i < a->tasks; i++) hs[i] = weft_fiber_spawn(rt, yielder, NULL, NULL);
    uint64_t sum = 0;
    for (long i = 0; i < a->tasks; i++) {
        void *v = NULL;
        BENCH_CHECK(weft_fiber_join(&hs[i], &v) == 0);
        sum += (uintptr_t)v;
    }
    double wall = bench_wall(&sw), cpu = bench_cpu(&sw);
    BENCH_CHECK(sum == (uint64_t)a->tasks);
    char extra[96];
    snprintf(extra, sizeof extra, "tasks=%ld yields=%ld", a->tasks, a->tasks * YIELDS_EACH);
    bench_report("fiber_yield_many", wall, cpu, extra);
    free(hs);
    return NULL;
}

int main(int argc, char **argv) {
    bench_args ba = bench_parse_args(argc, argv, "fiber_yield_many");
    weft_runtime *rt = bench_runtime(&ba);
    args a = {ba.n > 0 ? ba.n : DEFAULT_TASKS};
    weft_fiber f;
    bench_block_on(rt, weft_fiber_init(&f, root, &a, NULL));
    weft_runtime_destroy(rt);
    bench_note_flavor("fiber_yield_many", &ba);
    return 0;
}
