/* Stress: cross-thread wakes, spawns from foreign threads, abort and
 * handle drop racing completion, tasks ping-ponging across workers, and
 * the cooperative budget's fairness. Runs on the suite's runtime flavour
 * (make check runs it on both).  weft-test: threaded  weft-test: timeout=600 */
#include "support.h"

/* ---- 1,000,000 cross-thread wakes ---------------------------------------- */

/* A task that waits for `target` wakes delivered by a foreign thread; each
 * wake is one increment of `sent`. It re-registers its waker each poll. */
typedef struct wake_box {
    pthread_mutex_t lock;
    weft_waker waker;
    atomic_long sent;
    long target;
} wake_box;

static weft_poll wait_all_wakes(void *p, weft_context *cx) {
    wake_box *b = p;
    pthread_mutex_lock(&b->lock);
    weft_waker_store(&b->waker, &cx->waker);
    pthread_mutex_unlock(&b->lock);
    return atomic_load(&b->sent) >= b->target ? WEFT_READY : WEFT_PENDING;
}

static void *waking_thread(void *p) {
    wake_box *b = p;
    for (long i = 0; i < b->target; i++) {
        atomic_fetch_add(&b->sent, 1);
        pthread_mutex_lock(&b->lock);
        weft_waker w = weft_waker_clone(&b->waker);
        pthread_mutex_unlock(&b->lock);
        weft_waker_wake(w);
    }
    return NULL;
}

static void test_million_cross_thread_wakes(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    wake_box b = {.waker = WEFT_WAKER_NONE, .target = 1000000};
    pthread_mutex_init(&b.lock, NULL);
    weft_poll_fn pf;
    weft_poll_fn_init(&pf, wait_all_wakes, &b, NULL);
    pthread_t th;
    pthread_create(&th, NULL, waking_thread, &b);
    int rc = run_as_task(rt, &pf, sizeof pf);
    pthread_join(th, NULL);
    assert_int_equal(rc, 0);
    weft_runtime_stats st;
    weft_runtime_stats_get(rt, &st);
    /* Wakes coalesce: far fewer polls than wakes, and never lost. */
    assert_true(st.task_polls <= 1000000 + 10);
    weft_waker_drop(b.waker);
    weft_runtime_destroy(rt);
    pthread_mutex_destroy(&b.lock);
}

/* ---- spawns from 8 foreign threads --------------------------------------- */

typedef struct counter_task {
    weft_future base;
    atomic_long *done;
    int spins;
} counter_task;

static weft_poll counter_task_poll(weft_future *f, weft_context *cx) {
    counter_task *c = (counter_task *)f;
    if (c->spins-- > 0) {
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    atomic_fetch_add(c->done, 1);
    return WEFT_READY;
}
static const weft_future_vtable counter_task_vtable = {counter_task_poll, NULL, "counter_task"};

typedef struct foreign {
    weft_runtime *rt;
    atomic_long *done;
    int n;
} foreign;

static void *foreign_spawner(void *p) {
    foreign *f = p;
    for (int i = 0; i < f->n; i++) {
        counter_task c = {WEFT_FUTURE_INIT(&counter_task_vtable), f->done, i % 3};
        weft_join_handle h = WEFT_SPAWN(f->rt, &c, done, NULL);
        if (i % 2) weft_join_handle_detach(&h);
        else weft_join_handle_detach_value(h);
    }
    return NULL;
}

typedef struct until_count {
    WEFT_CORO_FIELDS;
    atomic_long *done;
    long target;
    weft_sleep s;
} until_count;

WEFT_ASYNC(until_count, NULL) {
    WEFT_BEGIN();
    while (atomic_load(self->done) < self->target) WEFT_AWAIT(weft_sleep_init(&self->s, 1));
    WEFT_END();
}

static void test_spawns_from_eight_threads(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    atomic_long done = 0;
    enum { THREADS = 8, PER = 25000 };
    foreign f = {rt, &done, PER};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, foreign_spawner, &f);
    until_count u;
    until_count_start(&u);
    u.done = &done;
    u.target = (long)THREADS * PER;
    assert_int_equal(weft_block_on(rt, &u.base), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&done), (long)THREADS * PER);
    weft_runtime_destroy(rt);
}

/* ---- abort and handle drop racing completion ------------------------------ */

typedef struct maybe_drop {
    weft_future base;
    atomic_int *drops, *completions;
    int spins;
} maybe_drop;

static weft_poll maybe_drop_poll(weft_future *f, weft_context *cx) {
    maybe_drop *m = (maybe_drop *)f;
    if (m->spins-- > 0) {
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    atomic_fetch_add(m->completions, 1);
    return WEFT_READY;
}
static void maybe_drop_drop(weft_future *f) { atomic_fetch_add(((maybe_drop *)f)->drops, 1); }
static const weft_future_vtable maybe_drop_vtable = {maybe_drop_poll, maybe_drop_drop, "maybe_drop"};

typedef struct racer {
    weft_runtime *rt;
    weft_join_handle *handles;
    int n;
    bool abort; /* abort, or drop the handle */
} racer;

static void *race_thread(void *p) {
    racer *r = p;
    for (int i = 0; i < r->n; i++) {
        if (r->abort) weft_join_handle_abort(&r->handles[i]);
        else weft_join_handle_detach(&r->handles[i]);
    }
    return NULL;
}

static void race_round(weft_runtime *rt, bool abort, int n) {
    atomic_int drops = 0, completions = 0;
    weft_join_handle *hs = calloc((size_t)n, sizeof *hs);
    for (int i = 0; i < n; i++) {
        maybe_drop m = {WEFT_FUTURE_INIT(&maybe_drop_vtable), &drops, &completions, i % 4};
        hs[i] = weft_spawn_raw(rt, &m, sizeof m, 0, 0, NULL);
    }
    racer r = {rt, hs, n, abort};
    pthread_t th;
    pthread_create(&th, NULL, race_thread, &r);
    pthread_join(th, NULL);
    if (abort) {
        /* Every handle reports exactly one outcome, matching the future's fate. */
        int cancelled = 0;
        for (int i = 0; i < n; i++) {
            while (!weft_join_handle_is_finished(&hs[i])) {
                weft_sleep s;
                weft_block_on(rt, weft_sleep_init(&s, 1));
            }
            weft_context cx = weft_context_make(weft_waker_noop());
            assert_int_equal(weft_future_poll(&hs[i].base, &cx), WEFT_READY);
            if (hs[i].result == -ECANCELED) cancelled++;
            else assert_int_equal(hs[i].result, 0);
        }
        assert_int_equal(cancelled, atomic_load(&drops));
        assert_int_equal(n - cancelled, atomic_load(&completions));
    } else {
        /* Detached: they all complete (nobody aborts them). */
        while (atomic_load(&completions) < n) {
            weft_sleep s;
            weft_block_on(rt, weft_sleep_init(&s, 1));
        }
        assert_int_equal(atomic_load(&drops), 0);
    }
    free(hs);
}

static void test_abort_races_completion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    for (int round = 0; round < 50; round++) race_round(rt, true, 2000);
    weft_runtime_destroy(rt);
}

static void test_handle_drop_races_completion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    for (int round = 0; round < 50; round++) race_round(rt, false, 2000);
    weft_runtime_destroy(rt); /* LeakSanitizer: every task freed */
}

/* Handles that published their waker, dropped while their tasks complete:
 * every clone of the waker is dropped exactly once, whoever ends up owning
 * the join-waker slot (a counting waker tells). */
typedef struct published_drop {
    weft_join_handle *hs;
    int n;
} published_drop;

static void *drop_published(void *p) {
    published_drop *d = p;
    for (int i = 0; i < d->n; i++) weft_future_drop(&d->hs[i].base);
    return NULL;
}

static void test_published_handle_drop_races_completion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    enum { N = 2000 };
    weft_join_handle *hs = calloc(N, sizeof *hs);
    for (int round = 0; round < 20; round++) {
        atomic_int drops = 0, completions = 0;
        for (int i = 0; i < N; i++) {
            maybe_drop m = {WEFT_FUTURE_INIT(&maybe_drop_vtable), &drops, &completions, 2 + i % 3};
            hs[i] = weft_spawn_raw(rt, &m, sizeof m, 0, 0, NULL);
            weft_future_poll(&hs[i].base, &cx); /* publishes a clone of cw (or finds it done) */
        }
        published_drop d = {hs, N};
        pthread_t th;
        pthread_create(&th, NULL, drop_published, &d);
        while (atomic_load(&completions) < N) { /* let the runtime run them meanwhile */
            weft_sleep s;
            weft_block_on(rt, weft_sleep_init(&s, 1));
        }
        pthread_join(th, NULL);
    }
    weft_runtime_destroy(rt);
    free(hs);
    assert_int_equal(atomic_load(&cw.clones), atomic_load(&cw.drops));
}

/* Join waits (awaiting a handle by reference) dropped while their tasks
 * complete: the wait takes its published waker back unless the task
 * completed first, and every clone is dropped exactly once. */
typedef struct dropped_waits {
    weft_join_wait *ws;
    int n;
} dropped_waits;

static void *drop_waits(void *p) {
    dropped_waits *d = p;
    for (int i = 0; i < d->n; i++) weft_future_drop(&d->ws[i].base);
    return NULL;
}

static void test_join_wait_drop_races_completion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    enum { N = 2000 };
    weft_join_handle *hs = calloc(N, sizeof *hs);
    weft_join_wait *ws = calloc(N, sizeof *ws);
    for (int round = 0; round < 20; round++) {
        atomic_int drops = 0, completions = 0;
        for (int i = 0; i < N; i++) {
            maybe_drop m = {WEFT_FUTURE_INIT(&maybe_drop_vtable), &drops, &completions, 2 + i % 3};
            hs[i] = weft_spawn_raw(rt, &m, sizeof m, 0, 0, NULL);
            weft_future_poll(weft_join_wait_init(&ws[i], &hs[i]), &cx); /* publishes a clone of cw */
        }
        dropped_waits d = {ws, N};
        pthread_t th;
        pthread_create(&th, NULL, drop_waits, &d);
        while (atomic_load(&completions) < N) {
            weft_sleep s;
            weft_block_on(rt, weft_sleep_init(&s, 1));
        }
        pthread_join(th, NULL);
        for (int i = 0; i < N; i++) weft_join_handle_detach(&hs[i]); /* still live: they were never joined */
    }
    weft_runtime_destroy(rt);
    free(hs);
    free(ws);
    assert_int_equal(atomic_load(&cw.clones), atomic_load(&cw.drops));
}

/* ---- 10,000 tasks ping-ponging across workers ----------------------------- */

/* A pair of tasks passes a token back and forth through a flag and a
 * waker slot, as a channel would. */
typedef struct pong_slot {
    pthread_mutex_t lock;
    weft_waker waiter[2];
    int turn; /* whose turn: 0 or 1 */
    int rounds_left;
} pong_slot;

typedef struct player {
    weft_future base;
    pong_slot *slot;
    int me;
} player;

static weft_poll player_poll(weft_future *f, weft_context *cx) {
    player *p = (player *)f;
    pong_slot *s = p->slot;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->rounds_left <= 0) {
            pthread_mutex_unlock(&s->lock);
            return WEFT_READY;
        }
        if (s->turn != p->me) {
            weft_waker_store(&s->waiter[p->me], &cx->waker);
            pthread_mutex_unlock(&s->lock);
            return WEFT_PENDING;
        }
        s->turn = 1 - p->me;
        s->rounds_left--;
        weft_waker w = weft_waker_take(&s->waiter[1 - p->me]);
        pthread_mutex_unlock(&s->lock);
        weft_waker_wake(w);
        pthread_mutex_lock(&s->lock);
    }
}
static const weft_future_vtable player_vtable = {player_poll, NULL, "player"};

typedef struct pingpong_root {
    WEFT_CORO_FIELDS;
    pong_slot *slots;
    weft_join_handle *hs;
    int pairs, i;
} pingpong_root;

WEFT_ASYNC(pingpong_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->pairs; self->i++) {
        for (int me = 0; me < 2; me++) {
            player p = {WEFT_FUTURE_INIT(&player_vtable), &self->slots[self->i], me};
            self->hs[2 * self->i + me] = weft_spawn_raw(cx->runtime, &p, sizeof p, 0, 0, NULL);
        }
    }
    for (self->i = 0; self->i < 2 * self->pairs; self->i++) WEFT_AWAIT(&self->hs[self->i].base);
    WEFT_END();
}

static void test_ten_thousand_ping_pong(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    enum { PAIRS = 5000, ROUNDS = 20 };
    pong_slot *slots = calloc(PAIRS, sizeof *slots);
    for (int i = 0; i < PAIRS; i++) {
        pthread_mutex_init(&slots[i].lock, NULL);
        slots[i].rounds_left = ROUNDS;
    }
    pingpong_root r;
    pingpong_root_start(&r);
    r.slots = slots;
    r.pairs = PAIRS;
    r.hs = calloc(2 * PAIRS, sizeof *r.hs);
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(slots[i].rounds_left, 0);
        for (int k = 0; k < 2; k++) weft_waker_drop(slots[i].waiter[k]);
        pthread_mutex_destroy(&slots[i].lock);
    }
    free(slots);
    free(r.hs);
    weft_runtime_destroy(rt);
}

/* ---- fairness: the budget keeps an always-ready task from starving others -- */

/* A leaf that always has something ready (like a channel never empty):
 * it only spends the budget. */
typedef struct always_ready {
    weft_future base;
} always_ready;
static weft_poll always_ready_poll(weft_future *f, weft_context *cx) {
    (void)f;
    return weft_coop_spend(cx) ? WEFT_READY : WEFT_PENDING;
}
static const weft_future_vtable always_ready_vtable = {always_ready_poll, NULL, "always_ready"};

typedef struct hog {
    WEFT_CORO_FIELDS;
    always_ready op;
    atomic_bool *stop;
    long ops;
} hog;

WEFT_ASYNC(hog, NULL) {
    WEFT_BEGIN();
    while (!atomic_load(self->stop)) {
        weft_future_init(&self->op.base, &always_ready_vtable);
        WEFT_AWAIT(&self->op.base);
        self->ops++;
    }
    WEFT_END();
}

typedef struct punctual {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    uint64_t due;
    uint64_t *late_ms;
    atomic_bool *stop;
    int i;
} punctual;

WEFT_ASYNC(punctual, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 20; self->i++) {
        self->due = weft_clock_ms() + 5;
        WEFT_AWAIT(weft_sleep_until_init(&self->s, self->due));
        uint64_t late = weft_clock_ms() - self->due;
        if (late > *self->late_ms) *self->late_ms = late;
    }
    atomic_store(self->stop, true);
    WEFT_END();
}

typedef struct fairness_root {
    WEFT_CORO_FIELDS;
    hog h;
    punctual p;
    weft_join_handle hh, hp;
} fairness_root;

WEFT_ASYNC(fairness_root, NULL) {
    WEFT_BEGIN();
    self->hh = weft_spawn_raw(cx->runtime, &self->h, sizeof self->h, 0, 0, NULL);
    self->hp = weft_spawn_raw(cx->runtime, &self->p, sizeof self->p, 0, 0, NULL);
    WEFT_AWAIT(&self->hp.base);
    WEFT_AWAIT(&self->hh.base);
    WEFT_END();
}

static void test_budget_fairness(void **state) {
    (void)state;
    /* One thread runs both tasks: without the budget the hog would never
     * return and the timer task would never run. */
    weft_runtime *rt = rt_new_single();
    atomic_bool stop = false;
    uint64_t worst = 0;
    fairness_root r;
    fairness_root_start(&r);
    hog_start(&r.h);
    r.h.stop = &stop;
    r.h.ops = 0;
    punctual_start(&r.p);
    r.p.late_ms = &worst;
    r.p.stop = &stop;
    assert_int_equal(run_as_task(rt, &r, sizeof r), 0);
    /* Finishing at all is the proof: without the budget the hog would never
     * yield and the timer task would never run again (a hang). The
     * lateness depends on the machine's load, so it is reported, not
     * asserted. */
    print_message("fairness: worst timer lateness next to an always-ready task: %llu ms\n",
                  (unsigned long long)worst);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_cross_thread_wakes),
        cmocka_unit_test(test_spawns_from_eight_threads),
        cmocka_unit_test(test_abort_races_completion),
        cmocka_unit_test(test_handle_drop_races_completion),
        cmocka_unit_test(test_published_handle_drop_races_completion),
        cmocka_unit_test(test_join_wait_drop_races_completion),
        cmocka_unit_test(test_ten_thousand_ping_pong),
        cmocka_unit_test(test_budget_fairness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
