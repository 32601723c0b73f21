/* Join handles awaited by reference, abort handles, outputs that own
 * memory, and everything that may outlive its runtime: spawns through a
 * held reference, JoinSets, timers dropped after the runtime is gone.
 * weft-test: threaded */
#include "support.h"

/* ---- a task that waits on a gate, with an output that owns memory ------------ */

typedef struct owned_out {
    int *p; /* heap: freed by its destructor, or by whoever takes it */
} owned_out;

static atomic_int outputs_made, outputs_dropped, gated_ended;

static void owned_out_drop(void *v) {
    owned_out *o = v;
    atomic_fetch_add(&outputs_dropped, 1);
    free(o->p);
    o->p = NULL;
}

typedef struct gated gated;
struct gated {
    WEFT_CORO_FIELDS;
    gate_state *st;
    gate g;
    owned_out out;
};

static void gated_cleanup(gated *g) {
    (void)g;
    atomic_fetch_add(&gated_ended, 1);
}

WEFT_ASYNC(gated, gated_cleanup) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, self->st));
    self->out.p = malloc(sizeof(int));
    *self->out.p = 7;
    atomic_fetch_add(&outputs_made, 1);
    WEFT_END();
}

static gated gated_new(gate_state *st) {
    gated g;
    gated_start(&g);
    g.st = st;
    g.out.p = NULL;
    return g;
}

/* Sleeps in 1 ms steps until `*counter` reaches `target` (lets the
 * runtime's tasks run meanwhile, on either flavour). */
typedef struct wait_count {
    WEFT_CORO_FIELDS;
    atomic_int *counter;
    int target;
    weft_sleep sleep;
} wait_count;

WEFT_ASYNC(wait_count, NULL) {
    WEFT_BEGIN();
    while (atomic_load(self->counter) < self->target) WEFT_AWAIT(weft_sleep_init(&self->sleep, 1));
    WEFT_END();
}

static void block_until(weft_runtime *rt, atomic_int *counter, int target) {
    wait_count w;
    wait_count_start(&w);
    w.counter = counter;
    w.target = target;
    assert_int_equal(weft_block_on(rt, &w.base), 0);
}

static void reset_counts(void) {
    atomic_store(&gated_ended, 0);
    atomic_store(&outputs_made, 0);
    atomic_store(&outputs_dropped, 0);
}

/* ---- awaiting by reference under a timeout, then aborting ----------------------- */

typedef struct by_ref {
    WEFT_CORO_FIELDS;
    gate_state *st;
    weft_join_handle h;
    weft_join_wait wait;
    weft_timeout to;
    owned_out got;
    int timeout_result, finished_after_timeout, final_result;
} by_ref;

WEFT_ASYNC(by_ref, NULL) {
    WEFT_BEGIN();
    {
        gated g = gated_new(self->st);
        self->h = WEFT_SPAWN_WITH_DROP(cx->runtime, &g, out, &self->got, owned_out_drop);
    }
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_join_wait_init(&self->wait, &self->h), 20));
    self->timeout_result = self->to.result;
    self->finished_after_timeout = weft_join_handle_is_finished(&self->h);
    weft_join_handle_abort(&self->h); /* the handle still knows its task */
    WEFT_AWAIT(weft_join_wait_init(&self->wait, &self->h));
    self->final_result = self->wait.result;
    WEFT_END();
}

static void timeout_then_abort(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    by_ref r;
    by_ref_start(&r);
    r.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.timeout_result, -ETIMEDOUT);
    assert_false(r.finished_after_timeout); /* the task was still waiting on its gate */
    assert_int_equal(r.final_result, -ECANCELED);
    assert_int_equal(r.h.result, -ECANCELED);
    assert_int_equal(r.h.state, WEFT_JOIN_JOINED);
    assert_int_equal(atomic_load(&st.drops), 1); /* the gate was dropped by the abort */
    assert_int_equal(atomic_load(&outputs_made), 0);
    weft_runtime_destroy(rt);
    gate_state_destroy(&st);
}

/* A wait that times out, then a wait that completes: the output arrives. */
typedef struct retry_wait {
    WEFT_CORO_FIELDS;
    gate_state *st;
    weft_join_handle h;
    weft_join_wait wait;
    weft_timeout to;
    owned_out got;
    int first, second;
} retry_wait;

WEFT_ASYNC(retry_wait, NULL) {
    WEFT_BEGIN();
    {
        gated g = gated_new(self->st);
        self->h = WEFT_SPAWN_WITH_DROP(cx->runtime, &g, out, &self->got, owned_out_drop);
    }
    WEFT_AWAIT(weft_timeout_init(&self->to, weft_join_wait_init(&self->wait, &self->h), 10));
    self->first = self->to.result;
    gate_open(self->st);
    WEFT_AWAIT(weft_join_wait_init(&self->wait, &self->h));
    self->second = self->wait.result;
    WEFT_END();
}

static void timeout_then_join(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    retry_wait r;
    retry_wait_start(&r);
    r.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.first, -ETIMEDOUT);
    assert_int_equal(r.second, 0);
    assert_non_null(r.got.p);
    assert_int_equal(*r.got.p, 7);
    assert_true(weft_join_handle_is_finished(&r.h));
    weft_runtime_destroy(rt);
    /* The output was taken: its destructor never runs. */
    assert_int_equal(atomic_load(&outputs_dropped), 0);
    free(r.got.p);
    gate_state_destroy(&st);
}

/* ---- abort handles ------------------------------------------------------------ */

typedef struct abort_after_detach {
    WEFT_CORO_FIELDS;
    gate_state *st;
    weft_join_handle h;
    weft_abort_handle ah, ah2;
    weft_sleep sleep;
    int init_rc;
    bool finished_before, finished_after;
} abort_after_detach;

WEFT_ASYNC(abort_after_detach, NULL) {
    WEFT_BEGIN();
    {
        gated g = gated_new(self->st);
        self->h = WEFT_SPAWN(cx->runtime, &g, out, NULL);
    }
    self->init_rc = weft_abort_handle_init(&self->ah, &self->h);
    weft_abort_handle_clone(&self->ah2, &self->ah);
    weft_join_handle_detach(&self->h);
    self->finished_before = weft_abort_handle_is_finished(&self->ah2);
    weft_abort_handle_abort(&self->ah2);
    while (!weft_abort_handle_is_finished(&self->ah)) WEFT_AWAIT(weft_sleep_init(&self->sleep, 1));
    self->finished_after = true;
    weft_abort_handle_destroy(&self->ah);
    weft_abort_handle_destroy(&self->ah2);
    weft_abort_handle_destroy(&self->ah2); /* idempotent */
    WEFT_END();
}

static void abort_handle_outlives_join_handle(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    abort_after_detach r;
    abort_after_detach_start(&r);
    r.st = &st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.init_rc, 0);
    assert_false(r.finished_before);
    assert_true(r.finished_after);
    assert_int_equal(atomic_load(&gated_ended), 1); /* its future was dropped */
    weft_runtime_destroy(rt);
    gate_state_destroy(&st);
}

/* An abort handle taken from a failed spawn or a joined handle knows the
 * task is finished; one from a detached handle cannot be made. */
static void abort_handle_edges(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    weft_join_handle failed = {0};
    {
        weft_runtime *dead = rt_new();
        weft_runtime_ref(dead);
        weft_runtime_destroy(dead);
        gate_state st;
        gate_state_init(&st);
        gated g = gated_new(&st);
        failed = WEFT_SPAWN(dead, &g, out, NULL);
        assert_int_equal(failed.result, -ESHUTDOWN);
        assert_int_equal(failed.state, WEFT_JOIN_FAILED);
        assert_int_equal(atomic_load(&gated_ended), 1); /* the future was dropped, not leaked */
        weft_runtime_unref(dead);
        gate_state_destroy(&st);
    }
    weft_abort_handle ah;
    assert_int_equal(weft_abort_handle_init(&ah, &failed), 0);
    assert_true(weft_abort_handle_is_finished(&ah));
    weft_abort_handle_abort(&ah); /* nothing to abort */
    weft_abort_handle_destroy(&ah);
    assert_true(weft_join_handle_is_finished(&failed));
    weft_join_handle_abort(&failed); /* does nothing */

    weft_join_handle detached = failed;
    detached.state = WEFT_JOIN_DETACHED;
    assert_int_equal(weft_abort_handle_init(&ah, &detached), -EINVAL);
    weft_runtime_destroy(rt);
}

/* ---- misuse of a handle, in every build -------------------------------------- */

static weft_join_handle misuse_handle(gate_state *st, weft_runtime **rt) {
    *rt = rt_new();
    gated g = gated_new(st);
    weft_join_handle h = WEFT_SPAWN(*rt, &g, out, NULL);
    weft_join_handle_detach(&h);
    return h;
}

static void child_abort_detached(void) {
    gate_state st;
    gate_state_init(&st);
    weft_runtime *rt;
    weft_join_handle h = misuse_handle(&st, &rt);
    weft_join_handle_abort(&h);
}

static void child_is_finished_detached(void) {
    gate_state st;
    gate_state_init(&st);
    weft_runtime *rt;
    weft_join_handle h = misuse_handle(&st, &rt);
    (void)weft_join_handle_is_finished(&h);
}

static void child_await_joined(void) {
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    gate_open(&st);
    gated g = gated_new(&st);
    weft_join_handle h = WEFT_SPAWN(rt, &g, out, NULL);
    weft_join_wait w;
    weft_block_on(rt, weft_join_wait_init(&w, &h));
    weft_block_on(rt, &h.base); /* the handle was joined through the wait */
}

static void handle_misuse_aborts(void **state) {
    (void)state;
    int sig;
    const char *err = run_in_child(child_abort_detached, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "aborted after it was detached"));
    err = run_in_child(child_is_finished_detached, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "is_finished after it was detached"));
    err = run_in_child(child_await_joined, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "polled after it completed"));
}

/* A second wait on a joined handle is ready with -EINVAL, copying nothing. */
static void wait_on_joined_handle(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    gate_open(&st);
    gated g = gated_new(&st);
    owned_out got = {0};
    weft_join_handle h = WEFT_SPAWN_WITH_DROP(rt, &g, out, &got, owned_out_drop);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    assert_non_null(got.p);
    int *first = got.p;
    got.p = NULL;
    weft_join_wait w;
    assert_int_equal(weft_block_on(rt, weft_join_wait_init(&w, &h)), 0);
    assert_int_equal(w.result, -EINVAL);
    assert_null(got.p);
    free(first);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&outputs_dropped), 0);
    gate_state_destroy(&st);
}

/* ---- outputs nobody takes are destroyed exactly once ------------------------------ */

typedef struct spawn_and_leave {
    WEFT_CORO_FIELDS;
    gate_state *open_st, *closed_st;
    weft_join_handle joined_no_out, detached, unjoined, cancelled, never_done;
    weft_sleep sleep;
} spawn_and_leave;

WEFT_ASYNC(spawn_and_leave, NULL) {
    WEFT_BEGIN();
    {
        gated a = gated_new(self->open_st), b = gated_new(self->open_st), c = gated_new(self->open_st),
              d = gated_new(self->closed_st), e = gated_new(self->closed_st);
        self->joined_no_out = WEFT_SPAWN_WITH_DROP(cx->runtime, &a, out, NULL, owned_out_drop);
        self->detached = WEFT_SPAWN_WITH_DROP(cx->runtime, &b, out, NULL, owned_out_drop);
        self->unjoined = WEFT_SPAWN_WITH_DROP(cx->runtime, &c, out, NULL, owned_out_drop);
        self->cancelled = WEFT_SPAWN_WITH_DROP(cx->runtime, &d, out, NULL, owned_out_drop);
        self->never_done = WEFT_SPAWN_WITH_DROP(cx->runtime, &e, out, NULL, owned_out_drop);
    }
    weft_join_handle_detach(&self->detached);
    WEFT_AWAIT(&self->joined_no_out.base);
    weft_join_handle_abort(&self->cancelled);
    WEFT_AWAIT(&self->cancelled.base);
    while (!weft_join_handle_is_finished(&self->unjoined)) WEFT_AWAIT(weft_sleep_init(&self->sleep, 1));
    WEFT_END();
}

static void unclaimed_outputs_destroyed(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state open_st, closed_st;
    gate_state_init(&open_st);
    gate_state_init(&closed_st);
    gate_open(&open_st);
    spawn_and_leave r;
    spawn_and_leave_start(&r);
    r.open_st = &open_st;
    r.closed_st = &closed_st;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    assert_int_equal(r.cancelled.result, -ECANCELED);
    /* joined without `out`: destroyed when the handle let go */
    weft_join_handle_detach(&r.unjoined);   /* completed, never joined */
    weft_runtime_destroy(rt);               /* never_done is cancelled: no output */
    weft_join_handle_detach(&r.never_done);
    assert_int_equal(atomic_load(&outputs_made), 3);
    assert_int_equal(atomic_load(&outputs_dropped), 3);
    gate_state_destroy(&open_st);
    gate_state_destroy(&closed_st);
}

/* JoinSet outputs: a result never joined, one joined without `out`, and
 * those left at destroy are destroyed; a joined one is the caller's. */
static void join_set_outputs_destroyed(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    gate_state st;
    gate_state_init(&st);
    gate_open(&st);
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(owned_out), owned_out_drop), 0);
    for (int i = 0; i < 6; i++) {
        gated g = gated_new(&st);
        assert_true(WEFT_JOIN_SET_SPAWN(js, &g, out) > 0);
    }
    owned_out got = {0};
    weft_join_set_next n;
    assert_int_equal(weft_block_on(rt, weft_join_set_join_next_init(&n, js, &got)), 0);
    assert_int_equal(n.result, 0);
    assert_non_null(got.p);
    free(got.p);
    assert_int_equal(weft_block_on(rt, weft_join_set_join_next_init(&n, js, NULL)), 0);
    assert_int_equal(n.result, 0);
    /* Wait for the rest to finish, then leave them unjoined. */
    block_until(rt, &outputs_made, 6);
    weft_join_set_destroy(js);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&outputs_dropped), 5);
    gate_state_destroy(&st);
}

/* ---- using a runtime after it was destroyed, through a held reference ------------- */

static void spawn_after_destroy(void **state) {
    (void)state;
    reset_counts();
    weft_runtime *rt = rt_new();
    weft_runtime_ref(rt);
    weft_join_set *js;
    assert_int_equal(weft_join_set_create(&js, rt, sizeof(owned_out), NULL), 0);
    weft_runtime_destroy(rt);
    gate_state st;
    gate_state_init(&st);
    gated g = gated_new(&st);
    weft_join_handle h = WEFT_SPAWN(rt, &g, out, NULL);
    assert_int_equal(h.result, -ESHUTDOWN);
    g = gated_new(&st);
    assert_int_equal(WEFT_JOIN_SET_SPAWN(js, &g, out), -ESHUTDOWN);
    assert_int_equal(atomic_load(&gated_ended), 2);
    weft_join_set_destroy(js);
    weft_runtime_unref(rt);
    gate_state_destroy(&st);
}

/* A thread that keeps spawning while another destroys the runtime: every
 * spawn either runs or fails with -ESHUTDOWN; nothing is touched after free. */
typedef struct spawner_arg {
    weft_runtime *rt;
    atomic_bool started;
    int ok, refused, refused_with;
} spawner_arg;

typedef struct nop {
    weft_future base;
} nop;
static weft_poll nop_poll(weft_future *f, weft_context *cx) { return WEFT_READY; }
static const weft_future_vtable nop_vtable = {nop_poll, NULL, "nop"};

static void *spawner(void *p) {
    spawner_arg *a = p;
    for (;;) {
        nop n;
        weft_future_init(&n.base, &nop_vtable);
        weft_join_handle h = weft_spawn_raw(a->rt, &n, sizeof n, 0, 0, NULL);
        atomic_store(&a->started, true);
        if (h.state == WEFT_JOIN_FAILED) {
            a->refused_with = h.result; /* checked on the test's thread */
            a->refused++;
            break;
        }
        a->ok++;
        weft_join_handle_detach(&h);
    }
    weft_runtime_unref(a->rt);
    return NULL;
}

static void spawn_races_destroy(void **state) {
    (void)state;
    for (int round = 0; round < 50; round++) {
        weft_runtime *rt = rt_new();
        spawner_arg a = {weft_runtime_ref(rt), false, 0, 0, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, spawner, &a), 0);
        while (!atomic_load(&a.started)) sched_yield();
        weft_runtime_destroy(rt);
        pthread_join(th, NULL);
        assert_int_equal(a.refused, 1);
        assert_int_equal(a.refused_with, -ESHUTDOWN);
        assert_true(a.ok >= 1);
    }
}

/* ---- destroying a runtime while another thread is inside block_on ----------------- */

typedef struct blocker_arg {
    weft_runtime *rt;
    gate_state *st;
    atomic_bool inside;
    int rc;
} blocker_arg;

typedef struct forever forever;
struct forever {
    WEFT_CORO_FIELDS;
    blocker_arg *arg;
    weft_join_handle h;
    gate g;
    weft_sleep sleep;
};

static void forever_cleanup(forever *f) { weft_join_handle_detach(&f->h); }

WEFT_ASYNC(forever, forever_cleanup) {
    WEFT_BEGIN();
    {   /* a task of the runtime, and a timer, besides the root itself */
        gated g = gated_new(self->arg->st);
        self->h = WEFT_SPAWN(cx->runtime, &g, out, NULL);
    }
    atomic_store(&self->arg->inside, true);
    WEFT_AWAIT(weft_sleep_init(&self->sleep, 1));
    WEFT_AWAIT(gate_init(&self->g, self->arg->st)); /* never opened */
    WEFT_END();
}

static void *blocker(void *p) {
    blocker_arg *a = p;
    forever f;
    forever_start(&f);
    f.arg = a;
    f.h.base.state = WEFT_FUTURE_DROPPED; /* nothing spawned yet: nothing to detach */
    a->rc = weft_block_on(a->rt, &f.base);
    weft_future_drop(&f.base); /* pending: drops the gate and the join handle */
    weft_runtime_unref(a->rt);
    return NULL;
}

static void destroy_while_blocked(void **state) {
    (void)state;
    for (int round = 0; round < 100; round++) {
        weft_runtime *rt = rt_new();
        gate_state st;
        gate_state_init(&st);
        blocker_arg a = {weft_runtime_ref(rt), &st, false, 1};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, blocker, &a), 0);
        /* Half the rounds destroy at once (maybe before block_on starts). */
        if (round % 2) while (!atomic_load(&a.inside)) sched_yield();
        weft_runtime_destroy(rt);
        pthread_join(th, NULL);
        assert_int_equal(a.rc, -ESHUTDOWN);
        gate_state_destroy(&st);
    }
}

/* ---- timers dropped after their runtime is gone ------------------------------------- */

typedef struct keep_losers {
    WEFT_CORO_FIELDS;
    weft_select sel;
    weft_future *kids[3];
    weft_sleep fast, *slow;
    weft_timeout *to;
    weft_interval *iv;
} keep_losers;

WEFT_ASYNC(keep_losers, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_KEEP_LOSERS,
                           weft_sleep_init(&self->fast, 1), weft_sleep_init(self->slow, 60000),
                           weft_timeout_init(self->to, weft_interval_tick(self->iv), 60000)));
    WEFT_END();
}

static void timers_dropped_after_destroy(void **state) {
    (void)state;
    for (int round = 0; round < 20; round++) {
        weft_runtime *rt = rt_new();
        weft_sleep *slow = malloc(sizeof *slow);
        weft_timeout *to = malloc(sizeof *to);
        weft_interval *iv = malloc(sizeof *iv);
        assert_int_equal(weft_interval_init(iv, 60000, WEFT_MISSED_BURST), 0);
        assert_int_equal(weft_block_on(rt, weft_interval_tick(iv)), 0); /* the first tick is immediate */
        keep_losers k;
        keep_losers_start(&k);
        k.slow = slow;
        k.to = to;
        k.iv = iv;
        assert_int_equal(weft_block_on(rt, &k.base), 0);
        assert_int_equal(k.sel.winner, 0);
        /* The losers are still registered with the runtime's timers. */
        weft_runtime_destroy(rt);
        weft_future_drop(&slow->base);
        weft_future_drop(&to->base);
        weft_interval_destroy(iv);
        free(slow);
        free(to);
        free(iv);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timeout_then_abort),
        cmocka_unit_test(timeout_then_join),
        cmocka_unit_test(abort_handle_outlives_join_handle),
        cmocka_unit_test(abort_handle_edges),
        cmocka_unit_test(handle_misuse_aborts),
        cmocka_unit_test(wait_on_joined_handle),
        cmocka_unit_test(unclaimed_outputs_destroyed),
        cmocka_unit_test(join_set_outputs_destroyed),
        cmocka_unit_test(spawn_after_destroy),
        cmocka_unit_test(spawn_races_destroy),
        cmocka_unit_test(timers_dropped_after_destroy),
        cmocka_unit_test(destroy_while_blocked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
