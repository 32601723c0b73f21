/*
 * remote_spawn: K threads outside the runtime (plain pthreads, not workers)
 * each spawn N/K trivial detached tasks at the same time, released together
 * by a barrier; each task counts a shared counter down and the last one
 * notifies the bench_signal the root future awaits (in weft_block_on on the
 * main thread). Timed from the barrier to the root's wake-up: every spawn
 * is a foreign-thread schedule (the inject queue), contended by K threads,
 * and the tasks run meanwhile; spawn= is the wall time until the last
 * spawner thread has made its last spawn. Model: tokio/benches/remote_spawn.rs
 * (which joins handles afterwards; here a counter says when all have run).
 * Tokio twin: bench/peers/tokio/src/main.rs, remote_spawn.
 */
#include <pthread.h>

#include "bench_common.h"

#define DEFAULT_N 1000000L
#define DEFAULT_THREADS 1L

typedef struct shared {
    _Atomic long left;
    bench_signal done;
    weft_runtime *rt;
    pthread_barrier_t start;
    long per_thread;
} shared;

typedef struct leaf {
    WEFT_CORO_FIELDS;
    shared *s;
} leaf;

WEFT_ASYNC(leaf, NULL) {
    WEFT_BEGIN();
    if (atomic_fetch_sub_explicit(&self->s->left, 1, memory_order_acq_rel) == 1)
        bench_signal_notify(&self->s->done);
    WEFT_END();
}

typedef struct spawner_arg {
    shared *s;
    double done; /* CLOCK_MONOTONIC after its last spawn */
} spawner_arg;

static void *spawner(void *arg) {
    spawner_arg *sa = arg;
    shared *s = sa->s;
    pthread_barrier_wait(&s->start);
    for (long i = 0; i < s->per_thread; i++) {
        leaf l;
        leaf_start(&l);
        l.s = s;
        WEFT_SPAWN_DETACHED(s->rt, &l);
    }
    sa->done = bench_clock(CLOCK_MONOTONIC);
    return NULL;
}

typedef struct root {
    WEFT_CORO_FIELDS;
    shared *s;
    bench_signal_wait wait;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(bench_signal_wait_init(&self->wait, &self->s->done));
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "remote_spawn");
    long k = a.threads > 0 ? a.threads : DEFAULT_THREADS;
    long n = a.n > 0 ? a.n : DEFAULT_N;
    n -= n % k; /* every thread spawns as many */
    weft_runtime *rt = bench_runtime(&a);

    static shared s;
    atomic_init(&s.left, n);
    bench_signal_init(&s.done);
    s.rt = rt;
    s.per_thread = n / k;
    BENCH_CHECK(pthread_barrier_init(&s.start, NULL, (unsigned)k + 1) == 0);
    pthread_t *threads = malloc(sizeof *threads * (size_t)k);
    spawner_arg *args = calloc((size_t)k, sizeof *args);
    BENCH_CHECK(threads && args);
    for (long i = 0; i < k; i++) {
        args[i].s = &s;
        BENCH_CHECK(pthread_create(&threads[i], NULL, spawner, &args[i]) == 0);
    }

    root r;
    root_start(&r);
    r.s = &s;
    pthread_barrier_wait(&s.start);
    bench_stopwatch sw = bench_start();
    bench_block_on(rt, &r.base);
    double wall = bench_wall(&sw), cpu = bench_cpu(&sw);
    double last = sw.wall;
    for (long i = 0; i < k; i++) {
        pthread_join(threads[i], NULL);
        if (args[i].done > last) last = args[i].done;
    }
    BENCH_CHECK(atomic_load(&s.left) == 0);

    char extra[96];
    snprintf(extra, sizeof extra, "n=%ld threads=%ld spawn=%.6f", n, k, last - sw.wall);
    bench_report("remote_spawn", wall, cpu, extra);

    /* The last task may still be inside notify's wake-up: let it leave. */
    while (atomic_load(&s.done.state) & BENCH_SIG_WAKING) continue;
    bench_signal_destroy(&s.done);
    weft_runtime_destroy(rt);
    pthread_barrier_destroy(&s.start);
    free(threads);
    free(args);
    bench_note_flavor("remote_spawn", &a);
    return 0;
}
