/* Cancellation tokens: clones, trees (cancel a parent or a child, destroy
 * handles in every order), thousands of waiting tasks, waiters dropped
 * while a cancel runs, cancels racing from several threads, a deep chain,
 * until_cancelled, plain threads, the misuse check.  weft-test: threaded */
#include <pthread.h>

#include "sync_support.h"

/* ThreadSanitizer makes thread creation and every atomic far slower: the
 * racing tests run fewer rounds there (each round is a fresh race). */
#if defined(__SANITIZE_THREAD__)
#define RACE_DIV 12
#else
#define RACE_DIV 1
#endif

size_t weft__cancel_token_children(const weft_cancel_token *t);

static void test_empty_token(void **state) {
    (void)state;
    weft_cancel_token e = {0}, x;
    assert_false(weft_cancel_token_is_cancelled(&e));
    weft_cancel_token_cancel(&e); /* nothing */
    assert_false(weft_cancel_token_is_cancelled(NULL));
    weft_cancel_token_cancel(NULL);
    assert_int_equal(weft_cancel_token_clone(&x, &e), -EINVAL);
    assert_null(x.node);
    assert_int_equal(weft_cancel_token_child(&x, &e), -EINVAL);
    assert_null(x.node);
    assert_int_equal(weft_cancel_token_clone(NULL, &e), -EINVAL);
    assert_int_equal(weft_cancel_token_child(&x, NULL), -EINVAL);
    assert_int_equal(weft_cancel_token_init(NULL), -EINVAL);
    hand h = {0};
    weft_cancelled f;
    weft_cancel_token_cancelled_init(&f, &e);
    assert_int_equal(hand_poll(&h, &f.base), WEFT_READY);
    assert_int_equal(f.result, -EINVAL);
    /* A destroyed handle is empty; destroying it again does nothing. */
    assert_int_equal(weft_cancel_token_init(&x), 0);
    weft_cancel_token_destroy(&x);
    assert_null(x.node);
    weft_cancel_token_destroy(&x);
    weft_cancel_token_destroy(NULL);
    assert_false(weft_cancel_token_is_cancelled(&x));
    hand_check_balanced(&h);
}

static void test_cancel_wakes_waiters(void **state) {
    (void)state;
    weft_cancel_token t, c;
    assert_int_equal(weft_cancel_token_init(&t), 0);
    assert_int_equal(weft_cancel_token_clone(&c, &t), 0);
    assert_false(weft_cancel_token_is_cancelled(&t));
    enum { N = 70 }; /* more than two wake batches */
    hand h[N];
    weft_cancelled f[N];
    memset(h, 0, sizeof h);
    for (int i = 0; i < N; i++) {
        weft_cancel_token_cancelled_init(&f[i], i % 2 ? &t : &c);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING); /* re-poll keeps one place */
    }
    weft_cancel_token_cancel(&c); /* through the clone: the same node */
    assert_true(weft_cancel_token_is_cancelled(&t));
    assert_true(weft_cancel_token_is_cancelled(&c));
    for (int i = 0; i < N; i++) {
        assert_int_equal(hand_wakes(&h[i]), 1);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_READY);
        assert_int_equal(f[i].result, 0);
        hand_check_balanced(&h[i]);
    }
    weft_cancel_token_cancel(&t); /* idempotent */
    /* Ready at once on a cancelled token, without queueing. */
    weft_cancel_token_cancelled_init(&f[0], &t);
    assert_int_equal(hand_poll(&h[0], &f[0].base), WEFT_READY);
    hand_check_balanced(&h[0]);
    weft_cancel_token_destroy(&t);
    assert_true(weft_cancel_token_is_cancelled(&c)); /* the clone lives on */
    weft_cancel_token_destroy(&c);
}

static void test_dropped_waiter_leaves(void **state) {
    (void)state;
    weft_cancel_token t;
    assert_int_equal(weft_cancel_token_init(&t), 0);
    hand h[3] = {0};
    weft_cancelled f[3];
    for (int i = 0; i < 3; i++) {
        weft_cancel_token_cancelled_init(&f[i], &t);
        assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
    }
    weft_future_drop(&f[1].base);
    weft_cancel_token_cancel(&t);
    assert_int_equal(hand_wakes(&h[1]), 0);
    assert_int_equal(hand_wakes(&h[0]), 1);
    assert_int_equal(hand_wakes(&h[2]), 1);
    weft_future_drop(&f[0].base); /* dropped after the wake, before the poll */
    assert_int_equal(hand_poll(&h[2], &f[2].base), WEFT_READY);
    /* A never-polled future dropped: nothing to do. */
    weft_cancel_token_cancelled_init(&f[1], &t);
    weft_future_drop(&f[1].base);
    for (int i = 0; i < 3; i++) hand_check_balanced(&h[i]);
    weft_cancel_token_destroy(&t);
}

static void test_tree(void **state) {
    (void)state;
    weft_cancel_token root, a, a1, a2, b, late;
    assert_int_equal(weft_cancel_token_init(&root), 0);
    assert_int_equal(weft_cancel_token_child(&a, &root), 0);
    assert_int_equal(weft_cancel_token_child(&a1, &a), 0);
    assert_int_equal(weft_cancel_token_child(&a2, &a), 0);
    assert_int_equal(weft_cancel_token_child(&b, &root), 0);
    assert_int_equal(weft__cancel_token_children(&root), 2);
    assert_int_equal(weft__cancel_token_children(&a), 2);
    hand h = {0};
    weft_cancelled w;
    weft_cancel_token_cancelled_init(&w, &a2);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_PENDING);

    /* Cancelling a child cancels its subtree, not its parent. */
    weft_cancel_token_cancel(&a);
    assert_true(weft_cancel_token_is_cancelled(&a));
    assert_true(weft_cancel_token_is_cancelled(&a1));
    assert_true(weft_cancel_token_is_cancelled(&a2));
    assert_false(weft_cancel_token_is_cancelled(&root));
    assert_false(weft_cancel_token_is_cancelled(&b));
    assert_int_equal(hand_wakes(&h), 1);
    assert_int_equal(hand_poll(&h, &w.base), WEFT_READY);
    assert_int_equal(weft__cancel_token_children(&a), 0); /* cancelled nodes keep no children */

    /* A child of a cancelled token is born cancelled. */
    assert_int_equal(weft_cancel_token_child(&late, &a1), 0);
    assert_true(weft_cancel_token_is_cancelled(&late));
    weft_cancel_token_destroy(&late);

    weft_cancel_token_cancel(&root);
    assert_true(weft_cancel_token_is_cancelled(&b));
    assert_int_equal(weft__cancel_token_children(&root), 0);
    hand_check_balanced(&h);
    weft_cancel_token_destroy(&a1);
    weft_cancel_token_destroy(&root); /* before its descendants: allowed */
    weft_cancel_token_destroy(&a2);
    weft_cancel_token_destroy(&b);
    weft_cancel_token_destroy(&a);
}

/* ---- every destroy order, checked against a model ------------------------------------ */

/* The tree:        0
 *                /   \
 *               1     2
 *             /   \     \
 *            3     4     5
 *            |
 *            6                                         */
enum { TN = 7 };
static const int tparent[TN] = {-1, 0, 0, 1, 1, 2, 3};

static bool t_is_ancestor_or_self(int a, int x) {
    for (; x >= 0; x = tparent[x])
        if (x == a) return true;
    return false;
}

static void check_model(weft_cancel_token *tok, const bool *live, const bool *cancelled_by) {
    for (int x = 0; x < TN; x++) {
        if (!live[x]) continue;
        bool want = false;
        for (int y = 0; y < TN; y++)
            if (cancelled_by[y] && t_is_ancestor_or_self(y, x)) want = true;
        if (weft_cancel_token_is_cancelled(&tok[x]) != want)
            fail_msg("node %d: cancelled %d, expected %d", x, !want, want);
    }
}

static void run_order(const int *order, int cancel_at, int cancel_pick, bool late_child) {
    weft_cancel_token tok[TN];
    bool live[TN], cancelled_by[TN];
    assert_int_equal(weft_cancel_token_init(&tok[0]), 0);
    for (int i = 1; i < TN; i++) assert_int_equal(weft_cancel_token_child(&tok[i], &tok[tparent[i]]), 0);
    for (int i = 0; i < TN; i++) live[i] = true, cancelled_by[i] = false;
    for (int step = 0; step < TN; step++) {
        if (step == cancel_at) {
            /* Cancel the cancel_pick-th live node. */
            int k = cancel_pick % (TN - step);
            for (int x = 0; x < TN; x++)
                if (live[x] && k-- == 0) {
                    weft_cancel_token_cancel(&tok[x]);
                    cancelled_by[x] = true;
                    break;
                }
            check_model(tok, live, cancelled_by);
        }
        int x = order[step];
        if (late_child) {
            /* A child made now is cancelled exactly when its parent is. */
            weft_cancel_token c;
            assert_int_equal(weft_cancel_token_child(&c, &tok[x]), 0);
            assert_int_equal(weft_cancel_token_is_cancelled(&c), weft_cancel_token_is_cancelled(&tok[x]));
            weft_cancel_token_destroy(&c);
        }
        weft_cancel_token_destroy(&tok[x]);
        live[x] = false;
        check_model(tok, live, cancelled_by);
        /* Nothing of a destroyed node is left in a live parent. */
        for (int y = 0; y < TN; y++) {
            if (!live[y]) continue;
            size_t want = 0;
            /* y's listed children: live nodes whose nearest live ancestor is y */
            for (int c = 0; c < TN; c++) {
                if (!live[c] || c == y) continue;
                int p = tparent[c];
                while (p >= 0 && !live[p]) p = tparent[p];
                /* Cancelling a node empties its list (its children are
                 * cancelled with it); cancelling c itself keeps c listed. */
                bool detached = false;
                for (int z = tparent[c]; z >= 0; z = tparent[z])
                    if (cancelled_by[z]) detached = true;
                if (p == y && !detached) want++;
            }
            assert_int_equal(weft__cancel_token_children(&tok[y]), want);
        }
    }
}

static bool next_perm(int *a, int n) {
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1]) i--;
    if (i < 0) return false;
    int j = n - 1;
    while (a[j] <= a[i]) j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) t = a[l], a[l] = a[r], a[r] = t;
    return true;
}

static void test_every_destroy_order(void **state) {
    (void)state;
    int order[TN];
    for (int i = 0; i < TN; i++) order[i] = i;
    unsigned runs = 0;
    do {
        /* No cancel, and a cancel at every step of the order. */
        run_order(order, -1, 0, runs % 2 == 0);
        for (int at = 0; at < TN; at++) run_order(order, at, runs + (unsigned)at, runs % 3 == 0);
        runs++;
    } while (next_perm(order, TN));
    assert_int_equal(runs, 5040);
}

/* ---- a deep chain ------------------------------------------------------------------ */

static void test_deep_chain(void **state) {
    (void)state;
    enum { DEPTH = 100000 };
    weft_cancel_token *t = malloc(DEPTH * sizeof *t);
    assert_non_null(t);
    assert_int_equal(weft_cancel_token_init(&t[0]), 0);
    for (int i = 1; i < DEPTH; i++) assert_int_equal(weft_cancel_token_child(&t[i], &t[i - 1]), 0);
    /* Destroy every other interior node: the chain closes up around them. */
    for (int i = 1; i < DEPTH - 1; i += 2) weft_cancel_token_destroy(&t[i]);
    weft_cancel_token_cancel(&t[0]); /* no recursion: no stack overflow */
    for (int i = 0; i < DEPTH; i += 2) assert_true(weft_cancel_token_is_cancelled(&t[i]));
    assert_true(weft_cancel_token_is_cancelled(&t[DEPTH - 1]));
    for (int i = 0; i < DEPTH; i++) weft_cancel_token_destroy(&t[i]);
    /* And a chain destroyed from the root down, never cancelled. */
    assert_int_equal(weft_cancel_token_init(&t[0]), 0);
    for (int i = 1; i < DEPTH; i++) assert_int_equal(weft_cancel_token_child(&t[i], &t[i - 1]), 0);
    for (int i = 0; i < DEPTH - 1; i++) weft_cancel_token_destroy(&t[i]);
    assert_false(weft_cancel_token_is_cancelled(&t[DEPTH - 1]));
    weft_cancel_token_destroy(&t[DEPTH - 1]);
    free(t);
}

static void test_children_leave_no_residue(void **state) {
    (void)state;
    weft_cancel_token root;
    assert_int_equal(weft_cancel_token_init(&root), 0);
    enum { N = 10000 };
    weft_cancel_token *c = malloc(N * sizeof *c);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) assert_int_equal(weft_cancel_token_child(&c[i], &root), 0);
        assert_int_equal(weft__cancel_token_children(&root), N);
        for (int i = 0; i < N; i++) weft_cancel_token_destroy(&c[(i * 7919) % N]);
        assert_int_equal(weft__cancel_token_children(&root), 0);
    }
    free(c);
    weft_cancel_token_destroy(&root);
}

/* ---- thousands of waiting tasks ------------------------------------------------------ */

typedef struct waiter_task {
    WEFT_CORO_FIELDS;
    weft_cancel_token *tok;
    weft_cancelled c;
    atomic_int *done;
    int result;
} waiter_task;

WEFT_ASYNC(waiter_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_cancel_token_cancelled_init(&self->c, self->tok));
    self->result = self->c.result;
    atomic_fetch_add(self->done, 1);
    WEFT_END();
}

typedef struct many_root {
    WEFT_CORO_FIELDS;
    weft_cancel_token *toks;
    int ntoks, ntasks;
    atomic_int *done;
    weft_join_handle *h;
    int i;
    weft_yield_now y;
} many_root;

static void *cancel_from_thread(void *arg) {
    weft_cancel_token_cancel(arg);
    return NULL;
}

WEFT_ASYNC(many_root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->ntasks; self->i++) {
        waiter_task w;
        memset(&w, 0, sizeof w);
        waiter_task_start(&w);
        w.tok = &self->toks[self->i % self->ntoks];
        w.done = self->done;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &w, result, NULL);
    }
    /* Let every task queue its wait. */
    for (self->i = 0; self->i < 4; self->i++) WEFT_AWAIT(weft_yield_now_init(&self->y));
    {
        pthread_t th;
        pthread_create(&th, NULL, cancel_from_thread, &self->toks[0]);
        pthread_join(th, NULL);
    }
    for (self->i = 0; self->i < self->ntasks; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
    }
    WEFT_END();
}

static void test_thousands_of_waiters(void **state) {
    (void)state;
    enum { TASKS = 5000, TOKS = 50 };
    weft_cancel_token toks[TOKS];
    assert_int_equal(weft_cancel_token_init(&toks[0]), 0);
    for (int i = 1; i < TOKS; i++) /* a tree of depth ~log2(50), waiters on every node */
        assert_int_equal(weft_cancel_token_child(&toks[i], &toks[(i - 1) / 2]), 0);
    atomic_int done = 0;
    weft_join_handle *h = calloc(TASKS, sizeof *h);
    weft_runtime *rt = rt_new();
    many_root r;
    many_root_start(&r);
    r.toks = toks;
    r.ntoks = TOKS;
    r.ntasks = TASKS;
    r.done = &done;
    r.h = h;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(atomic_load(&done), TASKS);
    weft_runtime_destroy(rt);
    for (int i = TOKS - 1; i >= 0; i--) weft_cancel_token_destroy(&toks[i]);
    free(h);
}

/* ---- waiters dropped while a cancel runs ---------------------------------------------- */

typedef struct drop_race {
    weft_cancelled *f;
    hand *h;
    int n;
    atomic_int go;
    bool *dropped;
} drop_race;

static void *dropper(void *arg) {
    drop_race *d = arg;
    while (!atomic_load(&d->go)) weft__cpu_relax_test();
    for (int i = 0; i < d->n; i += 2) {
        weft_future_drop(&d->f[i].base);
        d->dropped[i] = true;
    }
    return NULL;
}

static void test_waiters_dropped_during_cancel(void **state) {
    (void)state;
    enum { N = 100, ROUNDS = 2000 / RACE_DIV };
    static weft_cancelled f[N];
    static hand h[N];
    static bool dropped[N];
    for (int round = 0; round < ROUNDS; round++) {
        weft_cancel_token t, child;
        assert_int_equal(weft_cancel_token_init(&t), 0);
        assert_int_equal(weft_cancel_token_child(&child, &t), 0);
        memset(h, 0, sizeof h);
        memset(dropped, 0, sizeof dropped);
        for (int i = 0; i < N; i++) {
            weft_cancel_token_cancelled_init(&f[i], i % 3 ? &child : &t);
            assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_PENDING);
        }
        drop_race d = {f, h, N, 0, dropped};
        pthread_t th;
        pthread_create(&th, NULL, dropper, &d);
        atomic_store(&d.go, 1);
        weft_cancel_token_cancel(&t);
        pthread_join(th, NULL);
        for (int i = 0; i < N; i++) {
            if (dropped[i]) {
                hand_wakes(&h[i]); /* it may or may not have been woken first */
            } else {
                assert_int_equal(hand_wakes(&h[i]), 1);
                assert_int_equal(hand_poll(&h[i], &f[i].base), WEFT_READY);
            }
            hand_check_balanced(&h[i]);
        }
        weft_cancel_token_destroy(&child);
        weft_cancel_token_destroy(&t);
    }
}

/* ---- cancels, children and destroys racing on several threads -------------------------- */

enum { RN = 15 }; /* a complete binary tree of 15 nodes */

typedef struct race {
    weft_cancel_token tok[RN];
    atomic_int go;
    int who;
    uint64_t seed;
} race;

typedef struct race_arg {
    race *r;
    int who;
} race_arg;

static void *racer(void *p) {
    race_arg *a = p;
    race *r = a->r;
    while (!atomic_load(&r->go)) weft__cpu_relax_test();
    uint64_t s = r->seed * 2654435761u + (uint64_t)a->who + 1;
    /* Thread k owns the handles k, k+4, k+8, ...: it cancels through some,
     * makes children of some, and destroys all of them. */
    for (int x = a->who; x < RN; x += 4) {
        uint64_t v = rng_next(&s);
        if (v % 3 == 0) weft_cancel_token_cancel(&r->tok[x]);
        if (v % 5 == 0) {
            weft_cancel_token c;
            assert_int_equal(weft_cancel_token_child(&c, &r->tok[x]), 0);
            if (v % 7 == 0) weft_cancel_token_cancel(&c);
            weft_cancel_token_destroy(&c);
        }
        weft_cancel_token_destroy(&r->tok[x]);
    }
    return NULL;
}

static void test_concurrent_cancels(void **state) {
    (void)state;
    enum { ROUNDS = 3000 / RACE_DIV };
    for (int round = 0; round < ROUNDS; round++) {
        race r;
        memset(&r, 0, sizeof r);
        r.seed = (uint64_t)round;
        assert_int_equal(weft_cancel_token_init(&r.tok[0]), 0);
        for (int i = 1; i < RN; i++)
            assert_int_equal(weft_cancel_token_child(&r.tok[i], &r.tok[(i - 1) / 2]), 0);
        /* Clones for the main thread and the check after the race. */
        weft_cancel_token keep[RN];
        for (int i = 0; i < RN; i++) assert_int_equal(weft_cancel_token_clone(&keep[i], &r.tok[i]), 0);
        pthread_t th[4];
        race_arg args[4];
        for (int k = 0; k < 4; k++) {
            args[k] = (race_arg){&r, k};
            pthread_create(&th[k], NULL, racer, &args[k]);
        }
        atomic_store(&r.go, 1);
        weft_cancel_token_cancel(&keep[round % RN]); /* the main thread joins in */
        for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
        /* Every node below a cancelled node is cancelled. */
        for (int x = 1; x < RN; x++)
            if (weft_cancel_token_is_cancelled(&keep[(x - 1) / 2]))
                assert_true(weft_cancel_token_is_cancelled(&keep[x]));
        assert_true(weft_cancel_token_is_cancelled(&keep[round % RN]));
        /* Now the last handles, in a scrambled order. */
        for (int i = 0; i < RN; i++) weft_cancel_token_destroy(&keep[(i * 7 + round) % RN]);
    }
}

/* Handles destroyed on several threads while a cancel walks the tree. */
typedef struct destroy_race {
    weft_cancel_token *tok;
    int n, who;
    atomic_int *go;
} destroy_race;

static void *destroyer(void *p) {
    destroy_race *d = p;
    while (!atomic_load(d->go)) weft__cpu_relax_test();
    for (int i = d->who; i < d->n; i += 3) weft_cancel_token_destroy(&d->tok[i]);
    return NULL;
}

static void test_destroys_during_cancel(void **state) {
    (void)state;
    enum { N = 200, ROUNDS = 500 / RACE_DIV, EVERY = 5 };
    weft_cancel_token tok[N], keep[N / EVERY];
    for (int round = 0; round < ROUNDS; round++) {
        weft_cancel_token root;
        assert_int_equal(weft_cancel_token_init(&root), 0);
        for (int i = 0; i < N; i++) {
            /* a mix of chains and fans below root */
            const weft_cancel_token *p = i == 0 ? &root : (i % 4 ? &tok[i - 1] : &tok[i / 2]);
            assert_int_equal(weft_cancel_token_child(&tok[i], p), 0);
        }
        for (int i = 0; i < N / EVERY; i++)
            assert_int_equal(weft_cancel_token_clone(&keep[i], &tok[(i * EVERY + round) % N]), 0);
        /* The destroyers empty tok[]: every node without a clone in keep[]
         * leaves the tree (its children move up) while the cancel walks it. */
        atomic_int go = 0;
        pthread_t th[3];
        destroy_race d[3];
        for (int k = 0; k < 3; k++) {
            d[k] = (destroy_race){tok, N, k, &go};
            pthread_create(&th[k], NULL, destroyer, &d[k]);
        }
        atomic_store(&go, 1);
        weft_cancel_token_cancel(&root);
        for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
        for (int i = 0; i < N / EVERY; i++) assert_true(weft_cancel_token_is_cancelled(&keep[i]));
        /* Now the last handles, on three threads again, leaving a cancelled tree. */
        atomic_store(&go, 0);
        for (int k = 0; k < 3; k++) {
            d[k] = (destroy_race){keep, N / EVERY, k, &go};
            pthread_create(&th[k], NULL, destroyer, &d[k]);
        }
        atomic_store(&go, 1);
        weft_cancel_token_destroy(&root);
        for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
    }
}

/* Last handles destroyed on several threads at once in a live (uncancelled)
 * tree: parents and children leave together, moving grandchildren up. */
static void test_concurrent_detach(void **state) {
    (void)state;
    enum { N = 200, ROUNDS = 500 / RACE_DIV };
    weft_cancel_token tok[N], root;
    for (int round = 0; round < ROUNDS; round++) {
        assert_int_equal(weft_cancel_token_init(&root), 0);
        for (int i = 0; i < N; i++) {
            const weft_cancel_token *p = i == 0 ? &root : (i % 3 ? &tok[i - 1] : &tok[i / 2]);
            assert_int_equal(weft_cancel_token_child(&tok[i], p), 0);
        }
        /* Keep every tenth node; the rest leave concurrently. */
        weft_cancel_token keep[N / 10];
        for (int i = 0; i < N / 10; i++) assert_int_equal(weft_cancel_token_clone(&keep[i], &tok[i * 10]), 0);
        atomic_int go = 0;
        pthread_t th[3];
        destroy_race d[3];
        for (int k = 0; k < 3; k++) {
            d[k] = (destroy_race){tok, N, k, &go};
            pthread_create(&th[k], NULL, destroyer, &d[k]);
        }
        atomic_store(&go, 1);
        for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
        /* The survivors still hang below root. */
        for (int i = 0; i < N / 10; i++) assert_false(weft_cancel_token_is_cancelled(&keep[i]));
        weft_cancel_token_cancel(&root);
        for (int i = 0; i < N / 10; i++) assert_true(weft_cancel_token_is_cancelled(&keep[i]));
        for (int i = 0; i < N / 10; i++) weft_cancel_token_destroy(&keep[i]);
        assert_int_equal(weft__cancel_token_children(&root), 0);
        weft_cancel_token_destroy(&root);
    }
}

/* ---- until_cancelled ---------------------------------------------------------------- */

static void test_until_cancelled(void **state) {
    (void)state;
    weft_cancel_token t;
    assert_int_equal(weft_cancel_token_init(&t), 0);
    hand h = {0};
    gate_state gs;
    gate_state_init(&gs);
    gate g;
    weft_until_cancelled u;

    /* The inner future completes first. */
    weft_until_cancelled_init(&u, &t, gate_init(&g, &gs));
    assert_int_equal(hand_poll(&h, &u.base), WEFT_PENDING);
    gate_open(&gs);
    assert_int_equal(hand_poll(&h, &u.base), WEFT_READY);
    assert_int_equal(u.result, 0);
    assert_int_equal(g.out, 42);
    weft_cancel_token_cancel(&t); /* nobody waits any more: no wake */
    assert_int_equal(hand_wakes(&h), 1); /* the gate's */

    /* The token is cancelled first: the inner future is dropped. */
    weft_cancel_token t2;
    assert_int_equal(weft_cancel_token_init(&t2), 0);
    gs.open = false;
    atomic_store(&gs.drops, 0);
    weft_until_cancelled_init(&u, &t2, gate_init(&g, &gs));
    assert_int_equal(hand_poll(&h, &u.base), WEFT_PENDING);
    weft_cancel_token_cancel(&t2);
    assert_int_equal(hand_wakes(&h), 1);
    gate_open(&gs); /* both ready now: cancellation wins */
    assert_int_equal(hand_poll(&h, &u.base), WEFT_READY);
    assert_int_equal(u.result, -ECANCELED);
    assert_int_equal(atomic_load(&gs.drops), 1);

    /* An empty token. */
    weft_cancel_token e = {0};
    atomic_store(&gs.drops, 0);
    weft_until_cancelled_init(&u, &e, gate_init(&g, &gs));
    assert_int_equal(hand_poll(&h, &u.base), WEFT_READY);
    assert_int_equal(u.result, -EINVAL);
    assert_int_equal(atomic_load(&gs.drops), 1);

    /* Dropped while pending: both children go. */
    gs.open = false;
    atomic_store(&gs.drops, 0);
    weft_cancel_token t3;
    assert_int_equal(weft_cancel_token_init(&t3), 0);
    weft_until_cancelled_init(&u, &t3, gate_init(&g, &gs));
    assert_int_equal(hand_poll(&h, &u.base), WEFT_PENDING);
    weft_future_drop(&u.base);
    assert_int_equal(atomic_load(&gs.drops), 1);
    weft_cancel_token_cancel(&t3); /* nobody waits */

    gate_state_destroy(&gs);
    hand_check_balanced(&h);
    weft_cancel_token_destroy(&t);
    weft_cancel_token_destroy(&t2);
    weft_cancel_token_destroy(&t3);
}

/* ---- plain threads --------------------------------------------------------------- */

static void *blocking_waiter(void *arg) {
    weft_cancelled f;
    weft_cancel_token_cancelled_init(&f, arg);
    int rc = weft_wait_blocking(&f.base);
    return (void *)(uintptr_t)(rc == 0 && f.result == 0 ? 1 : 0);
}

static void test_wait_blocking(void **state) {
    (void)state;
    for (int round = 0; round < 200; round++) {
        weft_cancel_token t;
        assert_int_equal(weft_cancel_token_init(&t), 0);
        pthread_t th[3];
        for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, blocking_waiter, &t);
        if (round % 2) usleep(100);
        weft_cancel_token_cancel(&t);
        for (int i = 0; i < 3; i++) {
            void *ok;
            pthread_join(th[i], &ok);
            assert_true(ok != NULL);
        }
        weft_cancel_token_destroy(&t);
    }
}

/* ---- misuse --------------------------------------------------------------------- */

static void destroy_waited_on(void) {
    weft_cancel_token t;
    weft_cancel_token_init(&t);
    hand h = {0};
    weft_cancelled f;
    weft_cancel_token_cancelled_init(&f, &t);
    hand_poll(&h, &f.base);
    weft_cancel_token_destroy(&t);
}

static void destroy_clone_while_waited_on(void) {
    weft_cancel_token t, c;
    weft_cancel_token_init(&t);
    weft_cancel_token_clone(&c, &t);
    hand h = {0};
    weft_cancelled f;
    weft_cancel_token_cancelled_init(&f, &t);
    hand_poll(&h, &f.base);
    weft_cancel_token_destroy(&t); /* another handle remains: fine */
    weft_cancel_token_cancel(&c);
    CHILD_CHECK(hand_poll(&h, &f.base) == WEFT_READY);
    weft_cancel_token_destroy(&c);
}

static void test_misuse(void **state) {
    (void)state;
    expect_misuse(destroy_waited_on, "weft_cancel_token_destroy");
    expect_no_misuse(destroy_clone_while_waited_on);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_token),
        cmocka_unit_test(test_cancel_wakes_waiters),
        cmocka_unit_test(test_dropped_waiter_leaves),
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_every_destroy_order),
        cmocka_unit_test(test_deep_chain),
        cmocka_unit_test(test_children_leave_no_residue),
        cmocka_unit_test(test_thousands_of_waiters),
        cmocka_unit_test(test_waiters_dropped_during_cancel),
        cmocka_unit_test(test_concurrent_cancels),
        cmocka_unit_test(test_destroys_during_cancel),
        cmocka_unit_test(test_concurrent_detach),
        cmocka_unit_test(test_until_cancelled),
        cmocka_unit_test(test_wait_blocking),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
