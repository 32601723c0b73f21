/*
 * ctx_compare: the candidates for the fiber context switch, measured side
 * by side: weft's own switch (src/fiber/switch_<arch>.c), Boost.Context's
 * fcontext (jump_fcontext, callable from C) and glibc's swapcontext. Each
 * times 10,000,000 switch pairs (suspend + resume) between main and a
 * context that bounces back at once; 9 rounds alternating the three;
 * medians. Not part of `make bench` (it needs Boost.Context):
 *
 *   apt-get install libboost-context-dev
 *   cc -O2 -Isrc bench/fiber/ctx_compare.c src/fiber/switch_x86_64.c \
 *      -lboost_context -o build/ctx_compare && build/ctx_compare
 *
 * (src/fiber/switch_aarch64.c on aarch64.) docs/fibers.md has the results.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include "fiber/context.h"

#define N 10000000L
#define ROUNDS 9

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* weft */
static void *main_ctx, *fib_ctx;
static void bounce(void *arg) {
    (void)arg;
    for (;;) weft__ctx_switch(&fib_ctx, main_ctx);
}

/* Boost.Context (its C ABI: boost/context/detail/fcontext.hpp) */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
static void bounce_boost(transfer_t t) {
    for (;;) t = jump_fcontext(t.fctx, 0);
}

/* glibc */
static ucontext_t uc_main, uc_fib;
static void bounce_uc(void) {
    for (;;) swapcontext(&uc_fib, &uc_main);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) return 1;
    double t[3][ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        fib_ctx = weft__ctx_make(stack, stack + size, bounce, NULL);
        double t0 = now();
        for (long i = 0; i < N; i++) weft__ctx_switch(&main_ctx, fib_ctx);
        t[0][r] = (now() - t0) / N * 1e9;

        transfer_t tr = {make_fcontext(stack + size, size, bounce_boost), 0};
        t0 = now();
        for (long i = 0; i < N; i++) tr = jump_fcontext(tr.fctx, 0);
        t[1][r] = (now() - t0) / N * 1e9;

        getcontext(&uc_fib);
        uc_fib.uc_stack.ss_sp = stack;
        uc_fib.uc_stack.ss_size = size;
        makecontext(&uc_fib, bounce_uc, 0);
        t0 = now();
        for (long i = 0; i < N / 20; i++) swapcontext(&uc_main, &uc_fib);
        t[2][r] = (now() - t0) / (N / 20) * 1e9;
    }
    const char *names[3] = {weft__ctx_kind, "Boost.Context fcontext", "glibc swapcontext"};
    for (int k = 0; k < 3; k++) {
        qsort(t[k], ROUNDS, sizeof t[k][0], cmp);
        printf("%-24s %7.2f ns per suspend+resume (median of %d; min %.2f, max %.2f)\n", names[k],
               t[k][ROUNDS / 2], ROUNDS, t[k][0], t[k][ROUNDS - 1]);
    }
    return 0;
}
