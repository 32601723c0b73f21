/*
 * fiber_switch: the cost of suspending a fiber in weft_await and resuming
 * it, without a scheduler: a fiber awaits, 10,000,000 times, a future that
 * is pending on its first poll and ready on its second, and the fiber's
 * future is polled by hand in a loop. Each await is one suspend + one
 * resume (and two polls of the little future). Reports ns per await.
 *
 *   bench_fiber_switch           the fiber (weft_await)
 *   bench_fiber_switch --coro    the same loop as a coroutine (WEFT_AWAIT)
 *   bench_fiber_switch --raw     the bare context switch pair under it
 *
 * Also reports raw_ns, the bare switch pair, in every mode.
 */
#include "bench_common.h"
#include "fiber/context.h"

#include <weft/fiber.h>

#define DEFAULT_N 10000000L

/* Pending on its first poll, ready on its second. */
typedef struct flip {
    weft_future base;
    int polls;
} flip;

static weft_poll flip_poll(weft_future *f, weft_context *cx) {
    (void)cx;
    return ((flip *)f)->polls++ == 0 ? WEFT_PENDING : WEFT_READY;
}
static const weft_future_vtable flip_vtable = {flip_poll, NULL, "flip"};
static weft_future *flip_init(flip *f) {
    weft_future_init(&f->base, &flip_vtable);
    f->polls = 0;
    return &f->base;
}

static void *fiber_body(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        flip f;
        if (weft_await(flip_init(&f)) != 0) abort();
    }
    return NULL;
}

typedef struct coro_loop {
    WEFT_CORO_FIELDS;
    long n, i;
    flip f;
} coro_loop;

WEFT_ASYNC(coro_loop, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) WEFT_AWAIT(flip_init(&self->f));
    WEFT_END();
}

/* ---- the bare switch ---------------------------------------------------------- */

static void *main_ctx, *fib_ctx;
static void bounce(void *arg) {
    (void)arg;
    for (;;) weft__ctx_switch(&fib_ctx, main_ctx);
}

static double raw_ns(long n) {
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    BENCH_CHECK(stack);
    fib_ctx = weft__ctx_make(stack, stack + size, bounce, NULL);
    bench_stopwatch sw = bench_start();
    for (long i = 0; i < n; i++) weft__ctx_switch(&main_ctx, fib_ctx);
    double ns = bench_wall(&sw) / (double)n * 1e9;
    free(stack);
    return ns;
}

int main(int argc, char **argv) {
    int mode = 0; /* 0 fiber, 1 coro, 2 raw */
    long n = DEFAULT_N;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--coro")) mode = 1;
        else if (!strcmp(argv[i], "--raw")) mode = 2;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_fiber_switch [--coro | --raw] [--n N]\n");
            return 2;
        }
    }
    weft_context cx = weft_context_make(weft_waker_noop());
    bench_stopwatch sw = bench_start();
    if (mode == 0) {
        weft_fiber f;
        weft_fiber_init(&f, fiber_body, &n, NULL);
        while (weft_future_poll(&f.base, &cx) == WEFT_PENDING) cx.budget = WEFT_COOP_BUDGET;
    } else if (mode == 1) {
        coro_loop c;
        coro_loop_start(&c);
        c.n = n;
        while (weft_future_poll(&c.base, &cx) == WEFT_PENDING) cx.budget = WEFT_COOP_BUDGET;
    } else {
        (void)raw_ns(n);
    }
    double wall = bench_wall(&sw), cpu = bench_cpu(&sw);
    char extra[160];
    snprintf(extra, sizeof extra, "n=%ld ns=%.2f raw_ns=%.2f", n, wall / (double)n * 1e9, raw_ns(n));
    fprintf(stderr, "bench_fiber_switch: context switch: %s\n", weft__ctx_kind);
    bench_report(mode == 0 ? "fiber_switch" : mode == 1 ? "coro_switch" : "raw_switch", wall, cpu,
                 extra);
    return 0;
}
