/*
 * bench_common.h — helpers shared by weft's benchmark programs. Each has a
 * Rust twin in bench/peers/tokio/src/common.rs; keep the two in step.
 *
 * Every program times only its measured section (inside the root future:
 * runtime creation and teardown are not timed) and prints one line:
 *     RESULT <name> secs=<wall> cpu=<process cpu> [key=value ...]
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/combinator.h>
#include <weft/coro.h>
#include <weft/runtime.h>
#include <weft/task.h>
#include <weft/time.h>

/* ---- clocks -------------------------------------------------------------- */

static inline double bench_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/** Wall clock (CLOCK_MONOTONIC) and CPU clock at the start of a section. */
typedef struct bench_stopwatch {
    double wall, cpu;
} bench_stopwatch;

static inline bench_stopwatch bench_start(void) {
    bench_stopwatch sw = {bench_clock(CLOCK_MONOTONIC), bench_clock(CLOCK_PROCESS_CPUTIME_ID)};
    return sw;
}

/** Wall seconds since `sw` started. */
static inline double bench_wall(const bench_stopwatch *sw) { return bench_clock(CLOCK_MONOTONIC) - sw->wall; }

/** CPU seconds (all threads, user + system) since `sw` started. */
static inline double bench_cpu(const bench_stopwatch *sw) {
    return bench_clock(CLOCK_PROCESS_CPUTIME_ID) - sw->cpu;
}

/* ---- memory -------------------------------------------------------------- */

/** A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or 0. */
static inline uint64_t bench_proc_status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t len = strlen(field);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = strtoull(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* ---- deterministic durations --------------------------------------------- */

/** splitmix64: the sequence both sides draw timer durations from. */
static inline uint64_t bench_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- command line and runtime -------------------------------------------- */

/** Parsed arguments: [--mt N] [--n N] [--threads K] [--iters I]. */
typedef struct bench_args {
    long mt;      /* 0: current_thread; N: multi_thread with N workers */
    long n;       /* 0: the benchmark's default size */
    long threads; /* 0: the default number of outside threads (remote_spawn) */
    long iters;   /* 0: the default number of iterations (spawn_many_remote_idle) */
} bench_args;

static inline bench_args bench_parse_args(int argc, char **argv, const char *name) {
    bench_args a = {0, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--mt") == 0) {
            a.mt = strtol(argv[++i], NULL, 10);
            if (a.mt < 1) a.mt = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--n") == 0) {
            a.n = strtol(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
            a.threads = strtol(argv[++i], NULL, 10);
            if (a.threads < 1) a.threads = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--iters") == 0) {
            a.iters = strtol(argv[++i], NULL, 10);
            if (a.iters < 1) a.iters = 1;
        } else {
            fprintf(stderr, "usage: bench_%s [--mt N] [--n N] [--threads K] [--iters I]\n", name);
            exit(2);
        }
    }
    return a;
}

/** Creates the runtime the arguments ask for, or exits. */
static inline weft_runtime *bench_runtime(const bench_args *a) {
    weft_runtime_options opts;
    memset(&opts, 0, sizeof opts);
    if (a->mt > 0) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = (unsigned)a->mt;
    }
    weft_runtime *rt = NULL;
    int rc = weft_runtime_create(&rt, &opts);
    if (rc != 0) {
        fprintf(stderr, "weft_runtime_create: %s\n", weft_strerror(rc));
        exit(1);
    }
    return rt;
}

/** Runs `root` to completion on `rt`, or exits. */
static inline void bench_block_on(weft_runtime *rt, weft_future *root) {
    int rc = weft_block_on(rt, root);
    if (rc != 0) {
        fprintf(stderr, "weft_block_on: %s\n", weft_strerror(rc));
        exit(1);
    }
}

#define BENCH_CHECK(cond)                                                         \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* ---- signal: a flag plus one waker slot ---------------------------------- */

/*
 * The minimal "wake the other task" mechanism (weft has no sync module yet).
 * The waker slot follows futures' AtomicWaker protocol (a
 * WAITING/REGISTERING/WAKING state word), except that notify wakes by
 * reference and keeps the waker, so a task that waits on the same signal
 * again does not clone its waker again (weft_waker_store skips the clone).
 * Rust twin: common::Signal.
 */
enum { BENCH_SIG_WAITING = 0, BENCH_SIG_REGISTERING = 1, BENCH_SIG_WAKING = 2 };

typedef struct bench_signal {
    atomic_bool flag;
    atomic_uint state;
    weft_waker waker; /* owned by whoever holds REGISTERING or WAKING */
} bench_signal;

static inline void bench_signal_init(bench_signal *s) {
    atomic_init(&s->flag, false);
    atomic_init(&s->state, BENCH_SIG_WAITING);
    s->waker = WEFT_WAKER_NONE;
}

/** Releases the stored waker. */
static inline void bench_signal_destroy(bench_signal *s) { weft_waker_drop(weft_waker_take(&s->waker)); }

/** Sets the flag and wakes the registered waiter, if any. Any thread. */
static inline void bench_signal_notify(bench_signal *s) {
    atomic_store_explicit(&s->flag, true, memory_order_release);
    if (atomic_fetch_or_explicit(&s->state, BENCH_SIG_WAKING, memory_order_acq_rel) == BENCH_SIG_WAITING) {
        weft_waker_wake_by_ref(&s->waker);
        atomic_fetch_and_explicit(&s->state, ~(unsigned)BENCH_SIG_WAKING, memory_order_release);
    }
}

static inline void bench_signal_register(bench_signal *s, const weft_waker *w) {
    unsigned expected = BENCH_SIG_WAITING;
    if (atomic_compare_exchange_strong_explicit(&s->state, &expected, BENCH_SIG_REGISTERING,
                                                memory_order_acquire, memory_order_acquire)) {
        weft_waker_store(&s->waker, w);
        expected = BENCH_SIG_REGISTERING;
        if (!atomic_compare_exchange_strong_explicit(&s->state, &expected, BENCH_SIG_WAITING,
                                                     memory_order_acq_rel, memory_order_acquire)) {
            /* A notify came in while we registered: it left the wake-up to us. */
            weft_waker taken = weft_waker_take(&s->waker);
            atomic_exchange_explicit(&s->state, BENCH_SIG_WAITING, memory_order_acq_rel);
            weft_waker_wake(taken);
        }
    } else if (expected & BENCH_SIG_WAKING) {
        weft_waker_wake_by_ref(w);
    }
}

/** Consumes the flag if it is set. */
static inline bool bench_signal_take(bench_signal *s) {
    return atomic_load_explicit(&s->flag, memory_order_acquire) &&
           atomic_exchange_explicit(&s->flag, false, memory_order_acq_rel);
}

/** A future that is ready once the signal's flag is set, and clears it. */
typedef struct bench_signal_wait {
    weft_future base;
    bench_signal *sig;
} bench_signal_wait;

static inline weft_poll bench_signal_wait_poll(weft_future *f, weft_context *cx) {
    bench_signal *s = ((bench_signal_wait *)f)->sig;
    if (bench_signal_take(s)) return WEFT_READY;
    bench_signal_register(s, weft_context_waker(cx));
    if (bench_signal_take(s)) return WEFT_READY;
    return WEFT_PENDING;
}

__attribute__((unused)) static const weft_future_vtable bench_signal_wait_vtable = {bench_signal_wait_poll, NULL, "bench_signal_wait"};

/** Initialises a wait on `s`. Returns `&w->base`. */
static inline weft_future *bench_signal_wait_init(bench_signal_wait *w, bench_signal *s) {
    weft_future_init(&w->base, &bench_signal_wait_vtable);
    w->sig = s;
    return &w->base;
}

/* ---- output -------------------------------------------------------------- */

/** Prints the RESULT line: name, wall and cpu seconds, then `extra` (may be ""). */
static inline void bench_report(const char *name, double wall, double cpu, const char *extra) {
    printf("RESULT %s secs=%.6f cpu=%.6f%s%s\n", name, wall, cpu, extra && *extra ? " " : "",
           extra ? extra : "");
    fflush(stdout);
}

/** Names the flavour on stderr (stdout carries only the RESULT line). */
static inline void bench_note_flavor(const char *name, const bench_args *a) {
    if (a->mt > 0)
        fprintf(stderr, "bench_%s: multi_thread:%ld\n", name, a->mt);
    else
        fprintf(stderr, "bench_%s: current_thread\n", name);
}

#endif /* BENCH_COMMON_H */
