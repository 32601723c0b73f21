/*
 * The tour: weft's model shown by small programs, each narrated with its
 * measured timings and poll counts — lazy futures, a future written by
 * hand, join against spawn, select, timeout, why a blocking call stalls
 * every task on its thread, an async mutex held across an await, and the
 * two polls of a socket read, and the same task as a coroutine and as a
 * fiber. Delays are a few milliseconds: the whole tour takes about a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tour/chapters.h"
#include "weft.h"

/* ------------------------------------------------------------------------ */
/* Small instruments                                                         */
/* ------------------------------------------------------------------------ */

static uint64_t t0_ms;
static double ms_since(uint64_t start) { return (double)(weft_clock_ms() - start); }

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t task_polls(weft_runtime *rt) {
    weft_runtime_stats st;
    weft_runtime_stats_get(rt, &st);
    return st.task_polls + st.root_polls;
}

static void chapter(const char *title) { printf("\n== %s ==\n", title); }

/* ------------------------------------------------------------------------ */
/* cook_dish: an async function that cooks a dish for a while              */
/* ------------------------------------------------------------------------ */

typedef struct cook_dish {
    WEFT_CORO_FIELDS;
    const char *dish;  /* arguments */
    uint64_t ms;
    weft_sleep sleep;  /* the awaited child */
    int polls;         /* how often this coroutine was polled */
    bool *dropped;     /* set by the cleanup hook if dropped before finishing */
    bool finished;
    const char *out;   /* output: "Dish: <name>" is just the name here */
} cook_dish;

static void cook_dish_cleanup(cook_dish *self) {
    if (!self->finished && self->dropped) *self->dropped = true;
}

WEFT_ASYNC(cook_dish, cook_dish_cleanup) {
    self->polls++;
    WEFT_BEGIN();
    printf("   [%4.0f ms] chef starts %s\n", ms_since(t0_ms), self->dish);
    WEFT_AWAIT(weft_sleep_init(&self->sleep, self->ms));
    printf("   [%4.0f ms] chef finishes %s\n", ms_since(t0_ms), self->dish);
    self->out = self->dish;
    self->finished = true;
    WEFT_END();
}

static weft_future *cook_dish_init(cook_dish *c, const char *dish, uint64_t ms, bool *dropped) {
    cook_dish_start(c);
    c->dish = dish;
    c->ms = ms;
    c->polls = 0;
    c->dropped = dropped;
    c->finished = false;
    c->out = NULL;
    return &c->base;
}

/* ------------------------------------------------------------------------ */
/* 1. Futures are lazy                                                       */
/* ------------------------------------------------------------------------ */

static void tour_lazy(weft_runtime *rt) {
    chapter("1. futures are lazy");
    cook_dish c;
    cook_dish_init(&c, "soup", 20, NULL);
    printf("   created the soup future: polled %d times, nothing cooked (no line above)\n", c.polls);
    printf("   a future is a recipe card; it runs only when awaited. Now block_on(soup):\n");
    t0_ms = weft_clock_ms();
    weft_block_on(rt, &c.base);
    printf("   -> \"%s\" after %.0f ms, %d polls (first poll starts it, the timer's wake-up finishes it)\n",
           c.out, ms_since(t0_ms), c.polls);
}

/* ------------------------------------------------------------------------ */
/* 2. A future written by hand: it counts its polls                         */
/* ------------------------------------------------------------------------ */

typedef struct counter_future {
    weft_future base;
    uint32_t count, max;
    bool wake_every_poll;
    uint32_t polls;
} counter_future;

static weft_poll counter_poll(weft_future *f, weft_context *cx) {
    counter_future *c = (counter_future *)f;
    c->polls++;
    if (c->count >= c->max) return WEFT_READY;
    c->count++;
    if (c->wake_every_poll) weft_waker_wake_by_ref(&cx->waker); /* "avoid for busy loops!" */
    return WEFT_PENDING;
}
static const weft_future_vtable counter_vtable = {counter_poll, NULL, "CounterFuture"};

static weft_future *counter_init(counter_future *c, uint32_t max, bool wake) {
    weft_future_init(&c->base, &counter_vtable);
    c->count = 0;
    c->max = max;
    c->wake_every_poll = wake;
    c->polls = 0;
    return &c->base;
}

static void tour_counter(weft_runtime *rt) {
    chapter("2. a future written by hand: CounterFuture");
    counter_future c;
    weft_timeout t;
    weft_timeout_init(&t, counter_init(&c, 5, false), 50);
    uint64_t start = weft_clock_ms();
    weft_block_on(rt, &t.base);
    printf("   without a wake, Pending means \"call me when something happens\"; nothing ever does:\n");
    printf("   -> polled %u times (at the start, then when the timeout's own timer woke the task),\n"
           "      count stuck at %u, given up by a 50 ms timeout (%s) after %.0f ms\n",
           c.polls, c.count, t.result == -ETIMEDOUT ? "-ETIMEDOUT" : "?", ms_since(start));

    const uint32_t max = 1000000;
    counter_init(&c, max, true);
    start = weft_clock_ms();
    double cpu0 = cpu_ms();
    weft_block_on(rt, &c.base);
    double wall = ms_since(start), cpu = cpu_ms() - cpu0;
    printf("   waking on every poll makes it finish, by busy-looping: the executor re-polls at once:\n");
    printf("   -> %u polls in %.0f ms wall, %.0f ms CPU: the core is busy the whole time\n", c.polls,
           wall, cpu);

    weft_interval iv;
    weft_interval_init(&iv, 2, WEFT_MISSED_BURST);
    uint64_t before = task_polls(rt);
    start = weft_clock_ms();
    cpu0 = cpu_ms();
    for (int i = 0; i < 6; i++) weft_block_on(rt, weft_interval_tick(&iv));
    wall = ms_since(start);
    cpu = cpu_ms() - cpu0;
    weft_interval_destroy(&iv);
    printf("   woken by real events instead (a 2 ms interval: the reactor's timer wakes it):\n");
    printf("   -> 6 ticks in %.0f ms wall, %.2f ms CPU, %llu polls: the core sleeps in between\n", wall,
           cpu, (unsigned long long)(task_polls(rt) - before));
}

/* ------------------------------------------------------------------------ */
/* 3. The restaurant: join inside one task vs spawn as two tasks             */
/* ------------------------------------------------------------------------ */

typedef struct restaurant {
    WEFT_CORO_FIELDS;
    int mode; /* 0 sequential, 1 join, 2 spawn */
    cook_dish pasta, salad;
    weft_join join;
    weft_future *kids[2];
    weft_join_handle h1, h2;
    const char *d1, *d2;
} restaurant;

WEFT_ASYNC(restaurant, NULL) {
    WEFT_BEGIN();
    if (self->mode == 0) {
        WEFT_AWAIT(cook_dish_init(&self->pasta, "pasta (30 ms)", 30, NULL));
        WEFT_AWAIT(cook_dish_init(&self->salad, "salad (20 ms)", 20, NULL));
        self->d1 = self->pasta.out;
        self->d2 = self->salad.out;
    } else if (self->mode == 1) {
        WEFT_AWAIT(WEFT_JOIN(&self->join, self->kids,
                             cook_dish_init(&self->pasta, "pasta (30 ms)", 30, NULL),
                             cook_dish_init(&self->salad, "salad (20 ms)", 20, NULL)));
        self->d1 = self->pasta.out;
        self->d2 = self->salad.out;
    } else {
        cook_dish_init(&self->pasta, "pasta (30 ms)", 30, NULL);
        cook_dish_init(&self->salad, "salad (20 ms)", 20, NULL);
        self->h1 = WEFT_SPAWN(cx->runtime, &self->pasta, out, &self->d1);
        self->h2 = WEFT_SPAWN(cx->runtime, &self->salad, out, &self->d2);
        WEFT_AWAIT(&self->h1.base);
        WEFT_AWAIT(&self->h2.base);
    }
    WEFT_END();
}

static void tour_restaurant(weft_runtime *rt) {
    chapter("3. the restaurant: one chef (join) vs two chefs (spawn)");
    static const char *what[] = {
        "awaiting one dish after the other (no concurrency) takes the sum:",
        "join: one task (one chef) cooks both at once; the struct holds both dishes:",
        "spawn: two tasks (two chefs), awaited through their join handles:",
    };
    for (int mode = 0; mode < 3; mode++) {
        restaurant r;
        restaurant_start(&r);
        r.mode = mode;
        printf("   %s\n", what[mode]);
        uint64_t polls = task_polls(rt);
        t0_ms = weft_clock_ms();
        weft_block_on(rt, &r.base);
        printf("   -> served %s + %s in %.0f ms, %llu polls%s\n", r.d1, r.d2, ms_since(t0_ms),
               (unsigned long long)(task_polls(rt) - polls),
               mode == 0 ? " (= 30 + 20)" : " (≈ the longest dish, not the sum)");
    }
}

/* ------------------------------------------------------------------------ */
/* 4. select: coffee or cocktail, the loser dropped                          */
/* ------------------------------------------------------------------------ */

typedef struct bar {
    WEFT_CORO_FIELDS;
    cook_dish coffee, cocktail;
    weft_select sel;
    weft_future *kids[2];
    bool cocktail_dropped;
} bar;

WEFT_ASYNC(bar, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           cook_dish_init(&self->coffee, "coffee (20 ms)", 20, NULL),
                           cook_dish_init(&self->cocktail, "cocktail (30 ms)", 30,
                                          &self->cocktail_dropped)));
    WEFT_END();
}

static void tour_select(weft_runtime *rt) {
    chapter("4. select: whichever drink is ready first");
    bar b;
    bar_start(&b);
    b.cocktail_dropped = false;
    printf("   race coffee (20 ms) against a cocktail (30 ms); the loser is dropped:\n");
    t0_ms = weft_clock_ms();
    weft_block_on(rt, &b.base);
    double at = ms_since(t0_ms);
    usleep(20000); /* give a forgotten cocktail timer the chance to fire (it must not) */
    printf("   -> winner #%d (%s) at %.0f ms; cocktail dropped: %s, its timer left the wheel (no late finish line)\n",
           b.sel.winner, b.sel.winner == 0 ? "coffee" : "cocktail", at,
           b.cocktail_dropped ? "yes" : "no");
}

/* ------------------------------------------------------------------------ */
/* 5. timeout                                                                */
/* ------------------------------------------------------------------------ */

static void tour_timeout(weft_runtime *rt) {
    chapter("5. timeout");
    cook_dish roast;
    bool dropped = false;
    weft_timeout t;
    weft_timeout_init(&t, cook_dish_init(&roast, "roast (100 ms)", 100, &dropped), 40);
    printf("   the guest waits 40 ms at most for a 100 ms roast:\n");
    t0_ms = weft_clock_ms();
    weft_block_on(rt, &t.base);
    printf("   -> %s after %.0f ms; the roast was dropped: %s\n",
           t.result == -ETIMEDOUT ? "-ETIMEDOUT" : "served", ms_since(t0_ms), dropped ? "yes" : "no");
}

/* ------------------------------------------------------------------------ */
/* 6. blocking inside a task stalls its neighbours                           */
/* ------------------------------------------------------------------------ */

typedef struct sleeper {
    WEFT_CORO_FIELDS;
    bool blocking;
    weft_sleep s;
} sleeper;

WEFT_ASYNC(sleeper, NULL) {
    WEFT_BEGIN();
    if (self->blocking) usleep(60 * 1000); /* BAD: std::thread::sleep in async code */
    else WEFT_AWAIT(weft_sleep_init(&self->s, 60));
    WEFT_END();
}

typedef struct ticker {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    double woke_at;
} ticker;

WEFT_ASYNC(ticker, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 10));
    self->woke_at = ms_since(t0_ms);
    WEFT_END();
}

typedef struct neighbours {
    WEFT_CORO_FIELDS;
    sleeper sl;
    ticker tk;
    weft_join join;
    weft_future *kids[2];
    weft_join_handle h1, h2;
} neighbours;

WEFT_ASYNC(neighbours, NULL) {
    WEFT_BEGIN();
    self->h1 = WEFT_SPAWN(cx->runtime, &self->sl, base, NULL);
    self->h2 = WEFT_SPAWN(cx->runtime, &self->tk, woke_at, &self->tk.woke_at);
    WEFT_AWAIT(WEFT_JOIN(&self->join, self->kids, &self->h1.base, &self->h2.base));
    WEFT_END();
}

static void tour_blocking(weft_runtime *rt) {
    chapter("6. a blocking sleep stalls every task on the thread; an async sleep does not");
    for (int blocking = 1; blocking >= 0; blocking--) {
        neighbours n;
        neighbours_start(&n);
        sleeper_start(&n.sl);
        n.sl.blocking = blocking;
        ticker_start(&n.tk);
        printf("   a 60 ms %s sleep in one task; its neighbour wants to wake after 10 ms:\n",
               blocking ? "BLOCKING (usleep)" : "async (weft_sleep)");
        t0_ms = weft_clock_ms();
        weft_block_on(rt, &n.base);
        printf("   -> the neighbour woke at %.0f ms (%s)\n", n.tk.woke_at,
               blocking ? "it could not even start until the blocking chef stepped aside" : "on time");
    }
}

int main(void) {
    weft_runtime *rt;
    int err = weft_runtime_create(&rt, NULL);
    if (err) {
        fprintf(stderr, "tour: cannot create a runtime: %s\n", weft_strerror(err));
        return 1;
    }
    uint64_t start = weft_clock_ms();
    printf("weft tour: futures, tasks and the reactor, narrated (times in milliseconds)\n");
    tour_lazy(rt);
    tour_counter(rt);
    tour_restaurant(rt);
    tour_select(rt);
    tour_timeout(rt);
    tour_blocking(rt);
    tour_extra_chapters(rt, stdout);
    weft_runtime_destroy(rt);
    printf("\ntour finished in %.0f ms\n", ms_since(start));
    return 0;
}
