/*
 * process_spawn: spawn /bin/true and wait for its exit, N times (default
 * 2,000), from K tasks at once (--threads K, default 1: one child at a
 * time), each task reusing one command. Measures what a child costs the
 * runtime: the spawn (posix_spawn), the exit notification (a pidfd in the
 * reactor) and the reap, on top of the kernel's fork/exec/exit.
 * Tokio twin: bench/peers/tokio/src/main.rs, process_spawn.
 */
#include "bench_common.h"

#include <weft/process.h>

#define DEFAULT_N 2000L

typedef struct spawner {
    WEFT_CORO_FIELDS;
    long n, i;
    weft_command *cmd;
    weft_child child;
    weft_child_wait w;
    uint32_t out;
} spawner;

static void spawner_cleanup(spawner *self) { weft_command_destroy(self->cmd); }

WEFT_ASYNC(spawner, spawner_cleanup) {
    WEFT_BEGIN();
    BENCH_CHECK(weft_command_create(&self->cmd, "/bin/true") == 0);
    for (self->i = 0; self->i < self->n; self->i++) {
        BENCH_CHECK(weft_command_spawn(self->cmd, cx->runtime, &self->child) == 0);
        WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
        BENCH_CHECK(self->w.result == 0 && weft_exit_status_success(&self->w.status));
        weft_child_close(&self->child);
    }
    self->out = 1;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, k, i;
    weft_join_handle *handles;
    uint32_t got;
    uint64_t sum;
    bench_stopwatch sw;
} root;

static void root_cleanup(root *self) { free(self->handles); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->sw = bench_start();
    self->handles = malloc(sizeof *self->handles * (size_t)self->k);
    BENCH_CHECK(self->handles);
    for (self->i = 0; self->i < self->k; self->i++) {
        spawner s;
        spawner_start(&s);
        s.n = self->n / self->k;
        s.cmd = NULL;
        s.out = 0;
        self->handles[self->i] = WEFT_SPAWN(cx->runtime, &s, out, &self->got);
    }
    for (self->i = 0; self->i < self->k; self->i++) {
        WEFT_AWAIT(&self->handles[self->i].base);
        BENCH_CHECK(self->handles[self->i].result == 0);
        self->sum += self->got;
    }
    {
        double wall = bench_wall(&self->sw), cpu = bench_cpu(&self->sw);
        BENCH_CHECK(self->sum == (uint64_t)self->k);
        char extra[96];
        snprintf(extra, sizeof extra, "n=%ld in_flight=%ld", self->n / self->k * self->k, self->k);
        bench_report("process_spawn", wall, cpu, extra);
    }
    WEFT_END();
}

int main(int argc, char **argv) {
    bench_args a = bench_parse_args(argc, argv, "process_spawn");
    weft_runtime *rt = bench_runtime(&a);
    root r;
    root_start(&r);
    r.n = a.n > 0 ? a.n : DEFAULT_N;
    r.k = a.threads > 0 ? a.threads : 1;
    r.handles = NULL;
    r.sum = 0;
    bench_block_on(rt, &r.base);
    weft_runtime_destroy(rt);
    bench_note_flavor("process_spawn", &a);
    return 0;
}
