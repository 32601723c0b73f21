/*
 * bench_resolve: 1,000 concurrent name lookups on a current_thread runtime.
 *
 *   bench_resolve <ares|getaddrinfo> [--n N] [--rounds R] NAME...
 *
 * Each round spawns N tasks (default 1,000), task i awaiting
 * weft_resolve("NAME[i % count]:80"), and joins them in order; a round is
 * timed from the first spawn to the last join. Mode "ares" installs weft-ares
 * (c-ares through the reactor) on the runtime; "getaddrinfo" keeps the
 * default resolver (getaddrinfo on at most 4 blocking-pool threads).
 *
 * The thread count of the process (/proc/self/status, Threads:) is sampled
 * after the 1st, 100th, 200th, ... join of every round, i.e. while the
 * other lookups are still in flight. One line per round:
 *     RESULT resolve_<mode> round=<r> secs=<wall> cpu=<cpu> threads=<peak>
 * where cpu is the process's user + system time (getrusage, all threads)
 * over the round and threads the largest sample of that round.
 *
 * Tokio twin: bench/peers/tokio/src/resolve.rs (tokio::net::lookup_host).
 * Runner: bench/resolve/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <weft/coro.h>
#include <weft/error.h>
#include <weft/net.h>
#include <weft/runtime.h>
#include <weft/task.h>
#ifdef BENCH_HAVE_ARES
#include <weft/ares.h>
#endif

#define DEFAULT_N 1000L
#define DEFAULT_ROUNDS 5L
#define SAMPLE_EVERY 100L

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* User + system time of every thread of the process, as Tokio's twin reads it. */
static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* The Threads: line of /proc/self/status, or 0. */
static long threads_now(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0) {
            v = strtol(line + 8, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* One lookup task: resolves its host text and outputs the number of addresses. */
typedef struct lookup {
    WEFT_CORO_FIELDS;
    const char *text;
    weft_sockaddr addrs[4];
    weft_resolve r;
    int out;
} lookup;

WEFT_ASYNC(lookup, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_resolve_init(&self->r, self->text, self->addrs, 4));
    self->out = self->r.result;
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    const char *mode;
    char **texts;
    long ntexts, n, rounds, round, i, peak;
    weft_join_handle *handles;
    int got;
    double wall0, cpu0;
} root;

static void root_cleanup(root *self) { free(self->handles); }

WEFT_ASYNC(root, root_cleanup) {
    WEFT_BEGIN();
    self->handles = malloc(sizeof *self->handles * (size_t)self->n);
    CHECK(self->handles);
    for (self->round = 0; self->round < self->rounds; self->round++) {
        self->peak = 0;
        self->wall0 = wall_now();
        self->cpu0 = cpu_now();
        for (self->i = 0; self->i < self->n; self->i++) {
            lookup l;
            lookup_start(&l);
            l.text = self->texts[self->i % self->ntexts];
            l.out = 0;
            self->handles[self->i] = WEFT_SPAWN(cx->runtime, &l, out, &self->got);
        }
        for (self->i = 0; self->i < self->n; self->i++) {
            WEFT_AWAIT(&self->handles[self->i].base);
            CHECK(self->handles[self->i].result == 0);
            if (self->got < 1) {
                fprintf(stderr, "bench_resolve: %s: %s\n", self->texts[self->i % self->ntexts],
                        weft_strerror(self->got));
                exit(1);
            }
            if (self->i == 0 || (self->i + 1) % SAMPLE_EVERY == 0) {
                long t = threads_now();
                if (t > self->peak) self->peak = t;
            }
        }
        {
            double wall = wall_now() - self->wall0, cpu = cpu_now() - self->cpu0;
            printf("RESULT resolve_%s round=%ld secs=%.6f cpu=%.6f threads=%ld n=%ld\n", self->mode,
                   self->round, wall, cpu, self->peak, self->n);
            fflush(stdout);
        }
    }
    WEFT_END();
}

static void usage(void) {
    fprintf(stderr, "usage: bench_resolve <ares|getaddrinfo> [--n N] [--rounds R] NAME...\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *mode = argv[1];
    long n = DEFAULT_N, rounds = DEFAULT_ROUNDS;
    char **texts = calloc((size_t)argc, sizeof *texts);
    long ntexts = 0;
    CHECK(texts);
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--n") == 0) {
            n = strtol(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0) {
            rounds = strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            usage();
        } else {
            size_t len = strlen(argv[i]) + 4;
            texts[ntexts] = malloc(len);
            CHECK(texts[ntexts]);
            snprintf(texts[ntexts], len, "%s:80", argv[i]);
            ntexts++;
        }
    }
    if (ntexts == 0 || n < 1 || rounds < 1) usage();

    weft_runtime_options opts;
    memset(&opts, 0, sizeof opts); /* current_thread */
    weft_runtime *rt = NULL;
    int rc = weft_runtime_create(&rt, &opts);
    if (rc != 0) {
        fprintf(stderr, "weft_runtime_create: %s\n", weft_strerror(rc));
        return 1;
    }
    if (strcmp(mode, "ares") == 0) {
#ifdef BENCH_HAVE_ARES
        rc = weft_ares_install(rt, NULL);
        if (rc != 0) {
            fprintf(stderr, "weft_ares_install: %s\n", weft_strerror(rc));
            return 1;
        }
#else
        fprintf(stderr, "bench_resolve: built without weft-ares (c-ares not found)\n");
        return 1;
#endif
    } else if (strcmp(mode, "getaddrinfo") != 0) {
        usage();
    }
    fprintf(stderr, "bench_resolve: resolver %s, %ld lookups over %ld names, %ld rounds\n",
            weft_resolver_name(rt), n, ntexts, rounds);

    root r;
    root_start(&r);
    r.mode = mode;
    r.texts = texts;
    r.ntexts = ntexts;
    r.n = n;
    r.rounds = rounds;
    r.handles = NULL;
    rc = weft_block_on(rt, &r.base);
    if (rc != 0) {
        fprintf(stderr, "weft_block_on: %s\n", weft_strerror(rc));
        return 1;
    }
    weft_runtime_destroy(rt);
    for (long i = 0; i < ntexts; i++) free(texts[i]);
    free(texts);
    return 0;
}
