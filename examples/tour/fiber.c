/*
 * Tour chapter: the same task written twice, as a coroutine and as a
 * fiber, on the same runtime. Both sleep three times and add up what they
 * "cooked". The coroutine keeps what lives across an await in its struct;
 * the fiber keeps it on a stack of its own and reads like blocking code.
 * Both are tasks: the same number of polls; the difference is memory.
 */
#include "fiber.h" /* (found next to this file) */

#include <stdlib.h>
#include <string.h>

/* ---- as a coroutine ------------------------------------------------------------- */

typedef struct cook_three {
    WEFT_CORO_FIELDS;
    int i, total;     /* locals that live across an await */
    weft_sleep sleep; /* the child being awaited */
    int out;
} cook_three;

WEFT_ASYNC(cook_three, NULL) {
    WEFT_BEGIN();
    for (self->i = 1; self->i <= 3; self->i++) {
        WEFT_AWAIT(weft_sleep_init(&self->sleep, 10));
        self->total += self->i;
    }
    self->out = self->total;
    WEFT_END();
}

/* ---- as a fiber ------------------------------------------------------------------ */

static void *cook_three_fiber(void *arg) {
    (void)arg;
    int total = 0;
    for (int i = 1; i <= 3; i++) {
        if (weft_fiber_sleep(10) != 0) break; /* cancelled */
        total += i;
    }
    return (void *)(intptr_t)total;
}

/* ---- measuring --------------------------------------------------------------------- */

static uint64_t polls(weft_runtime *rt) {
    weft_runtime_stats st;
    weft_runtime_stats_get(rt, &st);
    return st.task_polls;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kib = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* Spawns `n` of one kind asleep for `ms` and returns the resident memory
 * each added, in bytes, measured while they all sleep. */
typedef struct many_root {
    WEFT_CORO_FIELDS;
    bool fibers;
    int n, i;
    long before;
    long each;
    weft_join_handle *hs;
    weft_sleep settle;
} many_root;

typedef struct nap {
    WEFT_CORO_FIELDS;
    weft_sleep s;
} nap;
WEFT_ASYNC(nap, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 200));
    WEFT_END();
}
static void *nap_fiber(void *arg) {
    (void)arg;
    weft_fiber_sleep(200);
    return NULL;
}

WEFT_ASYNC(many_root, NULL) {
    WEFT_BEGIN();
    self->before = rss_kib();
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->fibers) {
            self->hs[self->i] = weft_fiber_spawn(cx->runtime, nap_fiber, NULL, NULL);
        } else {
            nap t;
            nap_start(&t);
            self->hs[self->i] = WEFT_SPAWN(cx->runtime, &t, base, NULL);
        }
    }
    WEFT_AWAIT(weft_sleep_init(&self->settle, 50)); /* all started and asleep */
    self->each = (rss_kib() - self->before) * 1024 / self->n;
    for (self->i = 0; self->i < self->n; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static long bytes_each(weft_runtime *rt, bool fibers, int n) {
    many_root r;
    many_root_start(&r);
    r.fibers = fibers;
    r.n = n;
    r.hs = calloc((size_t)n, sizeof *r.hs);
    if (!r.hs || weft_block_on(rt, &r.base) != 0) {
        free(r.hs);
        return -1;
    }
    free(r.hs);
    return r.each;
}

void tour_fiber(weft_runtime *rt, FILE *out) {
    fprintf(out, "\n== 9. the same task twice: a coroutine and a fiber ==\n");
    cook_three c;
    cook_three_start(&c);
    c.i = c.total = 0;
    uint64_t p0 = polls(rt);
    weft_join_handle h = WEFT_SPAWN(rt, &c, out, &c.out);
    weft_block_on(rt, &h.base);
    uint64_t coro_polls = polls(rt) - p0;
    fprintf(out, "   coroutine: its locals and the sleep it awaits live in a %zu-byte struct;\n"
                 "      cooked %d in %llu polls (one to start, one per timer)\n",
            sizeof(cook_three), c.out, (unsigned long long)coro_polls);

    weft_fiber_output fo = {0};
    p0 = polls(rt);
    h = weft_fiber_spawn(rt, cook_three_fiber, NULL, NULL);
    h.out = &fo;
    weft_block_on(rt, &h.base);
    uint64_t fiber_polls = polls(rt) - p0;
    fprintf(out, "   fiber: straight-line code, its locals on a stack of its own (weft_fiber_sleep);\n"
                 "      cooked %d in %llu polls: a fiber is a task, polled like one\n",
            (int)(intptr_t)fo.value, (unsigned long long)fiber_polls);

    enum { N = 1000 };
    long coro = bytes_each(rt, false, N), fib = bytes_each(rt, true, N);
    fprintf(out, "   %d of each asleep at once: about %ld bytes each as coroutine tasks, %ld as fibers\n"
                 "      (the stack pages a fiber touched): fibers for code that reads like blocking\n"
                 "      code, coroutines where every byte counts\n",
            N, coro, fib);
}
