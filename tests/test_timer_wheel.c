/*
 * The timing wheel on its own: fake entries, explicit times, and a waker
 * that records when each entry was woken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include "isolate.h"

#include "time/wheel.h"

/* ---- a recording fake waker --------------------------------------------- */

typedef struct fake {
    weft_timer_entry entry;
    uint64_t woken_at; /* the `now` of the advance that woke it */
    unsigned wakes, drops;
} fake;

static uint64_t g_now;          /* the `now` passed to the advance in progress */
static weft_wheel *g_wheel;     /* checked from inside wakes */
static uint64_t g_last_woken;   /* deadline of the last entry woken (ordering) */
static bool g_check_order;
static unsigned g_order_violations;

static weft_waker fake_clone(void *p);
static void fake_wake(void *p) {
    fake *f = p;
    f->wakes++;
    f->woken_at = g_now;
    assert_int_equal(f->wakes, 1);              /* once */
    assert_true(f->entry.deadline <= g_now);    /* never early */
    /* The wheel must have let go of the entry before waking it. */
    assert_null(f->entry.wheel);
    assert_int_equal(f->entry.fired, 1);
    assert_null(f->entry.waker.vtable);
    if (g_check_order) {
        if (f->entry.deadline < g_last_woken) g_order_violations++;
        g_last_woken = f->entry.deadline;
    }
}
static void fake_wake_by_ref(void *p) { fake_wake(p); }
static void fake_drop(void *p) { ((fake *)p)->drops++; }
static const weft_waker_vtable fake_vtable = {fake_clone, fake_wake, fake_wake_by_ref, fake_drop};
static weft_waker fake_clone(void *p) { return (weft_waker){&fake_vtable, p}; }

static void fake_arm(fake *f, uint64_t deadline) {
    memset(&f->entry, 0, sizeof f->entry);
    f->entry.deadline = deadline;
    f->entry.waker = (weft_waker){&fake_vtable, f};
    f->woken_at = UINT64_MAX;
    f->wakes = f->drops = 0;
}

static size_t advance(weft_wheel *w, uint64_t now) {
    g_now = now;
    g_wheel = w;
    return weft__wheel_advance(w, now);
}

/* Walks every slot list both ways and checks links, masks and count. */
static void check_wheel(const weft_wheel *w) {
    size_t n = 0;
    for (unsigned l = 0; l < WEFT_WHEEL_LEVELS; l++) {
        for (unsigned s = 0; s < WEFT_WHEEL_SLOTS; s++) {
            const weft_link *head = &w->slots[l][s];
            assert_int_equal(head->next != head, !!(w->occupied[l] & (1ull << s)));
            const weft_link *prev = head;
            for (const weft_link *it = head->next; it != head; it = it->next) {
                const weft_timer_entry *e = (const weft_timer_entry *)((const char *)it - offsetof(weft_timer_entry, link));
                assert_ptr_equal(e->wheel, w);
                assert_int_equal(e->slot, l * WEFT_WHEEL_SLOTS + s);
                assert_ptr_equal(it->prev, prev);
                prev = it;
                n++;
            }
            assert_ptr_equal(head->prev, prev);
        }
    }
    assert_int_equal(n, w->count);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* ---- tests -------------------------------------------------------------- */

static void test_empty(void **state) {
    weft_wheel w;
    weft__wheel_init(&w, 1000);
    assert_int_equal(weft__wheel_next_deadline(&w), UINT64_MAX);
    assert_int_equal(advance(&w, 5000), 0);
    assert_int_equal(w.elapsed, 5000);
    assert_int_equal(weft__wheel_advance(&w, 10ull * 3600 * 1000), 0);
    check_wheel(&w);
}

/* Shuffled deadlines 1..N ms ahead, advanced one ms at a time: each entry
 * fires exactly at its millisecond. */
static void test_ordering_step_by_step(void **state) {
    enum { N = 5000 };
    const uint64_t t0 = 123456789;
    fake *f = calloc(N, sizeof *f);
    unsigned *perm = malloc(N * sizeof *perm);
    for (unsigned i = 0; i < N; i++) perm[i] = i;
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)(rnd() % (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    weft_wheel w;
    weft__wheel_init(&w, t0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[perm[i]], t0 + 1 + perm[i]);
        weft__wheel_insert(&w, &f[perm[i]].entry);
    }
    check_wheel(&w);
    for (uint64_t t = t0 + 1; t <= t0 + N; t++) {
        assert_true(weft__wheel_next_deadline(&w) <= t);
        assert_int_equal(advance(&w, t), 1);
        fake *x = &f[t - t0 - 1];
        assert_int_equal(x->wakes, 1);
        assert_int_equal(x->woken_at, t);
    }
    assert_int_equal(w.count, 0);
    assert_int_equal(w.fired, N);
    assert_int_equal(weft__wheel_next_deadline(&w), UINT64_MAX);
    free(f);
    free(perm);
}

/* For deadlines at every distance class, advancing to one ms before fires
 * nothing, advancing to the deadline fires it. */
static void test_never_early(void **state) {
    const uint64_t t0 = 1000003;
    const uint64_t dist[] = {1, 2, 63, 64, 65, 4095, 4096, 4097, 262143, 262144, 262145,
                             (1ull << 24) - 1, 1ull << 24, (1ull << 30) + 7, (1ull << 36) - 1,
                             1ull << 36, (1ull << 36) + 1, (1ull << 40) + 12345};
    for (size_t i = 0; i < sizeof dist / sizeof dist[0]; i++) {
        weft_wheel w;
        fake f;
        weft__wheel_init(&w, t0);
        fake_arm(&f, t0 + dist[i]);
        weft__wheel_insert(&w, &f.entry);
        assert_true(weft__wheel_next_deadline(&w) <= t0 + dist[i]);
        assert_int_equal(advance(&w, t0 + dist[i] - 1), 0);
        assert_int_equal(f.wakes, 0);
        check_wheel(&w);
        assert_true(weft__wheel_next_deadline(&w) <= t0 + dist[i]);
        assert_int_equal(advance(&w, t0 + dist[i]), 1);
        assert_int_equal(f.wakes, 1);
        assert_int_equal(w.count, 0);
    }
}

/* Following next_deadline never overshoots and reaches a far entry in a
 * handful of steps (one per level it cascades through), not one per ms. */
static void test_next_deadline_walk(void **state) {
    const uint64_t t0 = 77;
    const uint64_t targets[] = {5, 100, 5000, 3600ull * 1000, 86400ull * 1000 * 30,
                                (1ull << 36) * 3 + 99};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        weft_wheel w;
        fake f;
        weft__wheel_init(&w, t0);
        fake_arm(&f, t0 + targets[i]);
        weft__wheel_insert(&w, &f.entry);
        unsigned steps = 0;
        while (f.wakes == 0) {
            uint64_t next = weft__wheel_next_deadline(&w);
            assert_true(next <= f.entry.deadline);
            assert_true(next >= w.elapsed);
            advance(&w, next);
            assert_true(++steps < 64);
        }
        assert_int_equal(f.woken_at, t0 + targets[i]);
    }
}

/* Deadlines at or before the wheel's time fire at the next advance, even
 * one that does not move time. */
static void test_due_at_insert(void **state) {
    weft_wheel w;
    fake a, b, c;
    weft__wheel_init(&w, 5000);
    fake_arm(&a, 4000);
    fake_arm(&b, 5000);
    fake_arm(&c, 0);
    weft__wheel_insert(&w, &a.entry);
    weft__wheel_insert(&w, &b.entry);
    weft__wheel_insert(&w, &c.entry);
    check_wheel(&w);
    assert_int_equal(weft__wheel_next_deadline(&w), 5000);
    assert_int_equal(advance(&w, 4999), 0); /* time does not go back */
    assert_int_equal(advance(&w, 5000), 3);
    assert_int_equal(a.wakes + b.wakes + c.wakes, 3);
    /* Same after time has moved on. */
    advance(&w, 9999);
    fake_arm(&a, 9000);
    weft__wheel_insert(&w, &a.entry);
    assert_int_equal(advance(&w, 10000), 1);
    assert_int_equal(a.woken_at, 10000);
}

/* Removal from the head, middle and tail of one slot, of a lone entry, and
 * of entries after they cascaded to a finer level. */
static void test_remove(void **state) {
    enum { N = 9 };
    fake f[N];
    weft_wheel w;
    weft__wheel_init(&w, 0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], 50); /* all in one level-0 slot */
        weft__wheel_insert(&w, &f[i].entry);
    }
    weft__wheel_remove(&w, &f[4].entry); /* middle */
    check_wheel(&w);
    weft__wheel_remove(&w, &f[0].entry); /* head */
    check_wheel(&w);
    weft__wheel_remove(&w, &f[8].entry); /* tail */
    check_wheel(&w);
    for (unsigned i = 0; i < N; i++) assert_int_equal(f[i].drops + f[i].wakes, 0);
    assert_null(f[4].entry.wheel);
    assert_int_equal(w.count, N - 3);
    assert_int_equal(advance(&w, 50), N - 3);
    assert_int_equal(f[0].wakes + f[4].wakes + f[8].wakes, 0);
    assert_int_equal(w.occupied[0], 0);

    /* Cascaded entries: level 2 at insert, level 0 after an advance. */
    weft__wheel_init(&w, 0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], 10000 + i);
        weft__wheel_insert(&w, &f[i].entry);
    }
    assert_int_equal(f[0].entry.slot / WEFT_WHEEL_SLOTS, 2);
    advance(&w, 9990);
    check_wheel(&w);
    assert_int_equal(f[0].entry.slot / WEFT_WHEEL_SLOTS, 0);
    for (unsigned i = 0; i < N; i += 2) weft__wheel_remove(&w, &f[i].entry);
    check_wheel(&w);
    assert_int_equal(advance(&w, 20000), N / 2);
    for (unsigned i = 0; i < N; i++) assert_int_equal(f[i].wakes, i % 2);
    for (unsigned l = 0; l < WEFT_WHEEL_LEVELS; l++) assert_int_equal(w.occupied[l], 0);
}

/* Same-deadline entries fire in insertion order (slots are FIFO). */
static void test_fifo_ties(void **state) {
    enum { N = 16 };
    fake f[N];
    weft_wheel w;
    weft__wheel_init(&w, 0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], 300000);
        weft__wheel_insert(&w, &f[i].entry);
    }
    weft_timer_entry *order[N];
    advance(&w, 299999);
    unsigned n = 0;
    weft_link *head = &w.slots[0][300000 % 64];
    for (weft_link *it = head->next; it != head; it = it->next)
        order[n++] = (weft_timer_entry *)((char *)it - offsetof(weft_timer_entry, link));
    assert_int_equal(n, N);
    for (unsigned i = 0; i < N; i++) assert_ptr_equal(order[i], &f[i].entry);
    assert_int_equal(advance(&w, 300000), N);
}

/* Deadlines hours, days, weeks and years ahead, including beyond 64^6 ms,
 * with one big jump and with next_deadline hops. */
static void test_far_deadlines(void **state) {
    const uint64_t t0 = 1700000000123ull;
    const uint64_t day = 86400ull * 1000;
    const uint64_t dist[] = {3600ull * 1000, day, 7 * day, (1ull << 30) + 1, (1ull << 30) * 64 - 1,
                             1ull << 36, (1ull << 36) + 12345, 3 * (1ull << 36) + 1,
                             (1ull << 42) + 5};
    enum { N = sizeof dist / sizeof dist[0] };
    fake f[N];
    weft_wheel w;
    weft__wheel_init(&w, t0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], t0 + dist[i]);
        weft__wheel_insert(&w, &f[i].entry);
    }
    check_wheel(&w);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(advance(&w, t0 + dist[i] - 1), 0);
        check_wheel(&w);
        assert_int_equal(advance(&w, t0 + dist[i]), 1);
        assert_int_equal(f[i].wakes, 1);
    }
    assert_int_equal(w.count, 0);

    /* A never-firing entry survives many top-level turns intact. */
    fake forever;
    fake_arm(&forever, UINT64_MAX);
    weft__wheel_insert(&w, &forever.entry);
    for (unsigned i = 1; i <= 10; i++) {
        assert_int_equal(advance(&w, w.elapsed + (1ull << 36) * i + i), 0);
        check_wheel(&w);
    }
    assert_int_equal(w.count, 1);
    weft__wheel_remove(&w, &forever.entry);
    assert_int_equal(w.count, 0);
}

/* 100k entries over 10 hours, one advance of 10 hours: everything fires in
 * that one call, in deadline order, quickly. */
static void test_jump_advance(void **state) {
    enum { N = 100000 };
    const uint64_t t0 = 42, span = 10ull * 3600 * 1000;
    fake *f = calloc(N, sizeof *f);
    weft_wheel w;
    weft__wheel_init(&w, t0);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], t0 + 1 + rnd() % span);
        weft__wheel_insert(&w, &f[i].entry);
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    g_check_order = true;
    g_last_woken = 0;
    g_order_violations = 0;
    assert_int_equal(advance(&w, t0 + span), N);
    g_check_order = false;
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(g_order_violations, 0);
    assert_int_equal(w.count, 0);
    for (unsigned i = 0; i < N; i++) assert_int_equal(f[i].wakes, 1);
    /* Generous: stepping ms by ms would take 36M iterations. */
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(secs < 2.0);
    free(f);
}

/* The fuzz: random deadlines (near and far, some already due), random
 * removals and re-insertions, random advance steps, checked against a
 * reference min-heap of deadlines: every advance fires exactly the live
 * entries due by its `now`, each once, none early. */
typedef struct ref_node {
    uint64_t deadline;
    uint32_t id, gen;
} ref_node;

typedef struct ref_heap {
    ref_node *v;
    size_t n, cap;
} ref_heap;

static bool node_less(ref_node a, ref_node b) { return a.deadline < b.deadline; }

static void heap_push(ref_heap *h, ref_node x) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 1024;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    while (i > 0 && node_less(x, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static ref_node heap_pop(ref_heap *h) {
    ref_node top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && node_less(h->v[c + 1], h->v[c])) c++;
        if (!node_less(h->v[c], x)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = x;
    return top;
}

typedef struct ref {
    uint32_t gen; /* bumped on every arm: older heap nodes are stale */
    bool live;    /* in the wheel */
} ref;

static uint64_t random_distance(void) {
    switch (rnd() % 8) {
    case 0: return 0;
    case 1: return rnd() % 64;
    case 2: return rnd() % 5000;
    case 3: return rnd() % 300000;
    case 4: return rnd() % (1ull << 24);
    case 5: return rnd() % (1ull << 32);
    case 6: return rnd() % (1ull << 38); /* sometimes beyond 64^6 ms */
    default: return rnd() % 200;
    }
}

static uint64_t random_step(void) {
    switch (rnd() % 12) {
    case 0: return 0;
    case 1: return rnd() % (1ull << 26);
    case 2: return rnd() % (1ull << 33);
    case 3: return rnd() % 100000;
    default: return rnd() % 70;
    }
}

static fake *fz_f;
static ref *fz_r;
static ref_heap fz_heap;

static void fz_arm(unsigned i, uint64_t d, weft_wheel *w) {
    fake_arm(&fz_f[i], d);
    weft__wheel_insert(w, &fz_f[i].entry);
    fz_r[i].gen++;
    fz_r[i].live = true;
    heap_push(&fz_heap, (ref_node){d, i, fz_r[i].gen});
}

/* Drops stale nodes; returns the earliest live deadline or UINT64_MAX. */
static uint64_t heap_earliest(void) {
    while (fz_heap.n) {
        ref_node top = fz_heap.v[0];
        if (fz_r[top.id].live && fz_r[top.id].gen == top.gen) return top.deadline;
        heap_pop(&fz_heap);
    }
    return UINT64_MAX;
}

static void test_fuzz(void **state) {
    enum { N = 100000, ROUNDS = 20000 };
    const uint64_t t0 = 987654321;
    fz_f = calloc(N, sizeof *fz_f);
    fz_r = calloc(N, sizeof *fz_r);
    memset(&fz_heap, 0, sizeof fz_heap);
    weft_wheel w;
    weft__wheel_init(&w, t0);
    uint64_t now = t0;
    size_t live = 0, total_fired = 0;

    for (unsigned i = 0; i < N; i++) {
        uint64_t d = now + random_distance();
        if (rnd() % 16 == 0) d = now - rnd() % 1000; /* already due */
        fz_arm(i, d, &w);
        live++;
    }
    check_wheel(&w);

    for (unsigned round = 0; round < ROUNDS; round++) {
        /* Churn: cancel some live entries, re-arm some idle ones. */
        for (unsigned k = 0; k < 20; k++) {
            unsigned i = (unsigned)(rnd() % N);
            if (fz_r[i].live) {
                weft__wheel_remove(&w, &fz_f[i].entry);
                assert_null(fz_f[i].entry.wheel);
                fz_r[i].live = false;
                live--;
            } else {
                fz_arm(i, now + random_distance(), &w);
                live++;
            }
        }
        uint64_t earliest = heap_earliest();
        uint64_t next = weft__wheel_next_deadline(&w);
        if (live) assert_true(next <= (earliest > now ? earliest : now));
        else assert_int_equal(next, UINT64_MAX);

        uint64_t to = now + random_step();
        if (rnd() % 4 == 0 && next != UINT64_MAX && next > now) to = next;
        size_t fired = advance(&w, to);

        /* Exactly the live entries due by `to` fired, each once, now. */
        size_t expect = 0;
        for (uint64_t d = heap_earliest(); d <= to; d = heap_earliest()) {
            ref_node x = heap_pop(&fz_heap);
            fake *f = &fz_f[x.id];
            assert_int_equal(f->wakes, 1);
            assert_int_equal(f->woken_at, to);
            assert_true(f->entry.deadline <= to);
            fz_r[x.id].live = false;
            expect++;
        }
        assert_int_equal(fired, expect);
        live -= expect;
        total_fired += fired;
        now = to;
        assert_int_equal(w.count, live);
        if (round % 2000 == 0) check_wheel(&w);
    }
    check_wheel(&w);
    assert_int_equal(w.fired, total_fired);
    /* Everything still live is due later, and was never woken. */
    for (unsigned i = 0; i < N; i++) {
        if (!fz_r[i].live) continue;
        assert_int_equal(fz_f[i].wakes, 0);
        assert_true(fz_f[i].entry.deadline > now);
    }
    free(fz_f);
    free(fz_r);
    free(fz_heap.v);
}

/* clear drops every waker without waking and empties the wheel. */
static void test_clear(void **state) {
    enum { N = 1000 };
    fake *f = calloc(N, sizeof *f);
    weft_wheel w;
    weft__wheel_init(&w, 10);
    for (unsigned i = 0; i < N; i++) {
        fake_arm(&f[i], 10 + rnd() % (1ull << 37));
        weft__wheel_insert(&w, &f[i].entry);
    }
    weft__wheel_clear(&w);
    assert_int_equal(w.count, 0);
    for (unsigned l = 0; l < WEFT_WHEEL_LEVELS; l++) assert_int_equal(w.occupied[l], 0);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(f[i].wakes, 0);
        assert_int_equal(f[i].drops, 1);
        assert_null(f[i].entry.wheel);
        assert_null(f[i].entry.waker.vtable);
    }
    assert_int_equal(advance(&w, UINT64_MAX / 2), 0);
    free(f);
}

/* An entry can be re-inserted after firing, even from inside its own wake
 * (the wheel is consistent whenever a waker runs). */
static fake g_rearm;
static weft_waker rearm_clone(void *p);
static void rearm_wake(void *p) {
    g_rearm.wakes++;
    if (g_rearm.wakes < 5) {
        g_rearm.entry.deadline = g_now + 10;
        g_rearm.entry.waker = rearm_clone(p);
        weft__wheel_insert(g_wheel, &g_rearm.entry);
    }
}
static void rearm_drop(void *p) { (void)p; }
static const weft_waker_vtable rearm_vtable = {rearm_clone, rearm_wake, rearm_wake, rearm_drop};
static weft_waker rearm_clone(void *p) { return (weft_waker){&rearm_vtable, p}; }

static void test_reinsert(void **state) {
    weft_wheel w;
    weft__wheel_init(&w, 0);
    memset(&g_rearm, 0, sizeof g_rearm);
    g_rearm.entry.deadline = 10;
    g_rearm.entry.waker = rearm_clone(&g_rearm);
    weft__wheel_insert(&w, &g_rearm.entry);
    for (uint64_t t = 5; t <= 100; t += 5) {
        advance(&w, t);
        check_wheel(&w);
        assert_int_equal(g_rearm.wakes, t / 10 < 5 ? t / 10 : 5);
    }
    assert_int_equal(w.count, 0);

    /* And after removal. */
    fake f;
    fake_arm(&f, 200);
    weft__wheel_insert(&w, &f.entry);
    weft__wheel_remove(&w, &f.entry);
    f.entry.deadline = 150;
    weft__wheel_insert(&w, &f.entry);
    assert_int_equal(advance(&w, 150), 1);
    assert_int_equal(f.woken_at, 150);
}

int main(void) {
    /* WEFT_TEST_SEED=n replays another fuzz sequence. */
    const char *seed = getenv("WEFT_TEST_SEED");
    if (seed && strtoull(seed, NULL, 0)) rng_state = strtoull(seed, NULL, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_ordering_step_by_step),
        cmocka_unit_test(test_never_early),
        cmocka_unit_test(test_next_deadline_walk),
        cmocka_unit_test(test_due_at_insert),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_fifo_ties),
        cmocka_unit_test(test_far_deadlines),
        cmocka_unit_test(test_jump_advance),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_reinsert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
