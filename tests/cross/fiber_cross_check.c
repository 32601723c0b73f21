/*
 * A self-contained check of fibers for other architectures, built with a
 * cross compiler and run under an emulator (scripts/check-fiber-cross.sh):
 * the context switch keeps every callee-saved register (integer and
 * floating point) across suspensions, fibers nest, errno is each fiber's,
 * cancellation unwinds, a stack overflow is reported. No cmocka: prints
 * "fiber cross check: ok" and exits 0, or names what failed and exits 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fiber cross check: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

/* Values the compiler keeps in callee-saved registers across the awaits
 * (many live doubles and integers), checked after each. */
static __attribute__((noinline)) double work(int seed) {
    double a = seed * 1.5, b = seed * 2.25, c = seed * 3.125, d = seed * 4.0625;
    double e = a + 1, f = b + 2, g = c + 3, h = d + 4;
    long i1 = seed * 7, i2 = seed * 11, i3 = seed * 13, i4 = seed * 17, i5 = seed * 19;
    for (int k = 0; k < 50; k++) {
        CHECK(weft_fiber_yield() == 0);
        a += 1; b += 2; c += 3; d += 4; e += 5; f += 6; g += 7; h += 8;
        i1 += 1; i2 += 2; i3 += 3; i4 += 4; i5 += 5;
    }
    CHECK(a == seed * 1.5 + 50 && h == seed * 4.0625 + 4 + 400);
    CHECK(i1 == seed * 7 + 50 && i5 == seed * 19 + 250);
    return a + b + c + d + e + f + g + h + (double)(i1 + i2 + i3 + i4 + i5);
}

static void *worker(void *arg) {
    int seed = (int)(intptr_t)arg;
    errno = seed;
    double r = work(seed);
    CHECK(errno == seed);
    return (void *)(intptr_t)(long)r;
}

static void *nested_inner(void *arg) {
    CHECK(weft_fiber_sleep(1) == 0);
    return arg;
}

static int unwound;
static void *cancelled(void *arg) {
    (void)arg;
    int rc = weft_fiber_sleep(100000);
    CHECK(rc == -ECANCELED);
    CHECK(weft_fiber_yield() == -ECANCELED);
    unwound++;
    return NULL;
}

static void *root(void *arg) {
    (void)arg;
    weft_runtime *rt = weft_runtime_current();
    weft_join_handle hs[8];
    for (int i = 0; i < 8; i++) hs[i] = weft_fiber_spawn(rt, worker, (void *)(intptr_t)(i + 1), NULL);
    for (int i = 0; i < 8; i++) {
        void *v = NULL;
        CHECK(weft_fiber_join(&hs[i], &v) == 0);
        CHECK((long)(intptr_t)v != 0);
    }
    weft_fiber inner;
    CHECK(weft_await(weft_fiber_init(&inner, nested_inner, (void *)7, NULL)) == 0);
    CHECK(inner.output.value == (void *)7);
    weft_join_handle c = weft_fiber_spawn(rt, cancelled, NULL, NULL);
    CHECK(weft_fiber_sleep(5) == 0);
    weft_join_handle_abort(&c);
    CHECK(weft_fiber_join(&c, NULL) == -ECANCELED);
    CHECK(unwound == 1);
    return NULL;
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static __attribute__((noinline)) unsigned runaway(unsigned n) {
    volatile unsigned char buf[512];
    buf[0] = (unsigned char)n;
    return runaway(n + 1) + buf[0];
}
static void *overflow(void *arg) { return (void *)(uintptr_t)runaway((unsigned)(uintptr_t)arg); }

int main(int argc, char **argv) {
    (void)argc, (void)argv;
    weft_runtime *rt;
    CHECK(weft_runtime_create(&rt, NULL) == 0);
    weft_fiber f;
    CHECK(weft_block_on(rt, weft_fiber_init(&f, root, NULL, NULL)) == 0);
    CHECK(f.output.error == 0);
    weft_runtime_destroy(rt);

    /* The overflow, in a child process: the message, then SIGABRT. */
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) { /* not exec: under qemu-user /proc/self/exe is qemu */
        dup2(p[1], 2);
        close(p[0]);
        CHECK(weft_runtime_create(&rt, NULL) == 0);
        weft_fiber_options o = {.stack_size = 64 * 1024};
        weft_join_handle h = weft_fiber_spawn(rt, overflow, NULL, &o);
        weft_block_on(rt, &h.base);
        _exit(0);
    }
    close(p[1]);
    char buf[2048];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    int status;
    waitpid(pid, &status, 0);
    if (!strstr(buf, "fiber stack overflow") || !WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        fprintf(stderr, "fiber cross check: overflow not reported (status %d): %s\n", status, buf);
        return 1;
    }
    printf("fiber cross check: ok\n");
    return 0;
}
