/*
 * idle_tasks: spawn 1,000,000 detached tasks that each sleep 2 s, then
 * count down; the last one notifies the root. Reports the memory the
 * tasks cost: (VmHWM at the end - VmRSS before spawning) / N, as
 * bytes_per_task. No join handles are kept (on either side), so the
 * figure is the task itself: header, future, sleep and allocator slack.
 */
#include "bench_common.h"

#define DEFAULT_N 1000000L
#define SLEEP_MS 2000

typedef struct idle_shared {
    atomic_long left;
    bench_signal done;
} idle_shared;

typedef struct idler {
    WEFT_CORO_FIELDS;
    idle_shared *sh;
    weft_sleep sleep;
} idler;

WEFT_ASYNC(idler, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->sleep, SLEEP_MS));
    if (atomic_fetch_sub_explicit(&self->sh->left, 1, memory_order_acq_rel) == 1)
        bench_signal_notify(&self->sh->done);
    WEFT_END();
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
        idler t;
        idler_start(&t);
        t.sh = &self->sh;
        WEFT_SPAWN_DETACHED(cx->runtime, &t);
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
        bench_report("idle_tasks", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "idle_tasks");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    atomic_init(&r.sh.left, r.n);
    bench_signal_init(&r.sh.done);
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("idle_tasks", &a);
    return 0;
}
