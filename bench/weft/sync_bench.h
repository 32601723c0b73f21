/*
 * sync_bench.h — what the sync benchmarks (bench/weft/sync_*.c) share: a
 * stopwatch, the --n override and the RESULT line. Their Tokio twins are in
 * bench/peers/tokio_sync/src/main.rs (same structure, same counts).
 *
 * Each program times only its measured section (inside the root future:
 * runtime creation and teardown are not timed) and prints one line:
 *     RESULT sync_<name> secs=<wall> cpu=<process cpu>
 */
#ifndef SYNC_BENCH_H
#define SYNC_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft.h>

static inline double sb_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct sb_watch {
    double wall, cpu;
} sb_watch;

static inline sb_watch sb_start(void) {
    sb_watch w = {sb_clock(CLOCK_MONOTONIC), sb_clock(CLOCK_PROCESS_CPUTIME_ID)};
    return w;
}

/* `--n N` overrides the default size (for quick runs). */
static inline long sb_size(int argc, char **argv, long dflt) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--n") == 0) return atol(argv[i + 1]);
    return dflt;
}

static inline void sb_report(const char *name, const sb_watch *w) {
    double wall = sb_clock(CLOCK_MONOTONIC) - w->wall;
    double cpu = sb_clock(CLOCK_PROCESS_CPUTIME_ID) - w->cpu;
    printf("RESULT %s secs=%.6f cpu=%.6f\n", name, wall, cpu);
}

/* Runs `root` on a fresh current_thread runtime; exits on failure. */
static inline void sb_run(weft_future *root) {
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL) != 0 || weft_block_on(rt, root) != 0) {
        fprintf(stderr, "bench: runtime failed\n");
        exit(1);
    }
    weft_runtime_destroy(rt);
}

#define SB_CHECK(cond)                                                      \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "bench: check failed: %s (%s:%d)\n", #cond,     \
                    __FILE__, __LINE__);                                    \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#endif
