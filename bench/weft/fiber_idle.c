/*
 * fiber_idle: the resident memory of idle fibers. Spawns 100,000 detached
 * fibers that each sleep 2 s (weft_fiber_sleep), then count down; the last
 * one wakes the root. bytes_per_task = (VmHWM at the end - VmRSS before
 * spawning) / N: the task and its fiber future, the stack pages the fiber
 * touched (its frames and the sleep's first poll), page tables are not in
 * RSS. Peer: idle_tasks --n 100000 (coroutine tasks doing the same).
 */
#include "bench_common.h"

#include <weft/fiber.h>

#define DEFAULT_N 100000L
#define SLEEP_MS 2000

typedef struct idle_shared {
    atomic_long left;
    bench_signal done;
} idle_shared;

static void *idler(void *arg) {
    idle_shared *sh = arg;
    if (weft_fiber_sleep(SLEEP_MS) != 0) abort();
    if (atomic_fetch_sub_explicit(&sh->left, 1, memory_order_acq_rel) == 1) bench_signal_notify(&sh->done);
    return NULL;
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, i;
    idle_shared sh;
    bench_signal_wait wait;
    uint64_t base_kib;
    double spawned;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) { bench_signal_destroy(&self->sh.done); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->base_kib = bench_proc_status_kib("VmRSS");
    self->sw = bench_start();
    for (self->i = 0; self->i < self->n; self->i++) {
        weft_join_handle h = weft_fiber_spawn(cx->runtime, idler, &self->sh, NULL);
        BENCH_CHECK(h.state == WEFT_JOIN_LIVE);
        weft_join_handle_detach(&h);
    }
    self->spawned = bench_wall(&self->sw);
    WEFT_AWAIT(bench_signal_wait_init(&self->wait, &self->sh.done));
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        uint64_t hwm_kib = bench_proc_status_kib("VmHWM");
        double per_task =
            (double)(hwm_kib > self->base_kib ? hwm_kib - self->base_kib : 0) * 1024.0 / (double)self->n;
        char extra[192];
        snprintf(extra, sizeof extra, "n=%ld spawn=%.6f base_kib=%llu hwm_kib=%llu bytes_per_task=%.1f",
                 self->n, self->spawned, (unsigned long long)self->base_kib,
                 (unsigned long long)hwm_kib, per_task);
        bench_report("fiber_idle", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "fiber_idle");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    atomic_init(&r.sh.left, r.n);
    bench_signal_init(&r.sh.done);
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("fiber_idle", &a);
    return 0;
}
