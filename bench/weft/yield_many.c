/*
 * yield_many: 1,000 tasks each yield 1,000 times (WEFT_YIELD: wake self,
 * return pending), all joined. Tokio twin: tokio::task::yield_now().
 */
#include "bench_common.h"

#define DEFAULT_TASKS 1000L
#define YIELDS_EACH 1000L

typedef struct yielder {
    WEFT_CORO_FIELDS;
    long left;
    uint32_t out;
} yielder;

WEFT_ASYNC(yielder, NULL) {
    WEFT_BEGIN();
    while (self->left-- > 0) WEFT_YIELD();
    self->out = 1;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long tasks, i;
    weft_join_handle *handles;
    uint32_t got;
    uint64_t sum;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) { free(self->handles); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    self->handles = malloc(sizeof *self->handles * (size_t)self->tasks);
    BENCH_CHECK(self->handles);
    for (self->i = 0; self->i < self->tasks; self->i++) {
        yielder y;
        yielder_start(&y);
        y.left = YIELDS_EACH;
        y.out = 0;
        self->handles[self->i] = WEFT_SPAWN(cx->runtime, &y, out, &self->got);
    }
    for (self->i = 0; self->i < self->tasks; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        BENCH_CHECK(self->handles[self->i].result == 0);
        self->sum += self->got;
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->sum == (uint64_t)self->tasks);
        char extra[96];
        snprintf(extra, sizeof extra, "tasks=%ld yields=%ld", self->tasks, self->tasks * YIELDS_EACH);
        bench_report("yield_many", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "yield_many");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.tasks = a.n > 0 ? a.n : DEFAULT_TASKS;
    r.handles = NULL;
    r.sum = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("yield_many", &a);
    return 0;
}
