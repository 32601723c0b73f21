/* Signals: bad numbers, several listeners of one signal, coalescing,
 * "only deliveries after it started", destroy waking a pending recv,
 * cancel-safety, chaining to (and restoring) the application's handler,
 * two runtimes at once, ctrl_c, and listeners created and dropped while
 * signals arrive.
 * weft-test: threaded */
#include "process_support.h"

/* ---- bad input ------------------------------------------------------------- */

typedef struct recv_once {
    WEFT_CORO_FIELDS;
    weft_signal *sig;
    weft_signal_recv r;
    int out;
} recv_once;

WEFT_ASYNC(recv_once, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_signal_recv_init(&self->r, self->sig));
    self->out = self->r.result;
    WEFT_END();
}

static int recv_now(weft_runtime *rt, weft_signal *s) {
    recv_once r;
    recv_once_start(&r);
    r.sig = s;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    return r.out;
}

static void test_bad_signals(void **state) {
    (void)state;
    const int bad[] = {0, -1, NSIG, 1000, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, 32, 33};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_signal s = {0};
        assert_int_equal(weft_signal_init(&s, bad[i]), -EINVAL);
        assert_int_equal(weft_signal_signum(&s), -EBADF);
        weft_signal_destroy(&s); /* empty: nothing */
    }
    assert_int_equal(weft_signal_init(NULL, SIGUSR1), -EINVAL);
    /* The real-time range is allowed. */
    weft_signal lo, hi;
    assert_int_equal(weft_signal_init(&lo, SIGRTMIN), 0);
    assert_int_equal(weft_signal_init(&hi, SIGRTMAX), 0);
    assert_int_equal(weft_signal_signum(&hi), SIGRTMAX);
    weft_signal_destroy(&lo);
    weft_signal_destroy(&hi);
    weft_signal_destroy(&hi); /* twice: nothing */
    /* recv on an empty or NULL listener. */
    weft_runtime *rt = rt_new();
    weft_signal empty = {0};
    assert_int_equal(recv_now(rt, &empty), -EBADF);
    assert_int_equal(recv_now(rt, NULL), -EINVAL);
    weft_runtime_destroy(rt);
}

/* ---- several listeners, on tasks -------------------------------------------- */

typedef struct many_case {
    WEFT_CORO_FIELDS;
    weft_signal sig[4];
    recv_once tasks[4];
    weft_join_handle h[4];
    int i;
} many_case;

WEFT_ASYNC(many_case, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 4; self->i++) {
        assert_int_equal(weft_signal_init(&self->sig[self->i], SIGUSR1), 0);
        recv_once t;
        recv_once_start(&t);
        t.sig = &self->sig[self->i];
        t.out = 1;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &t, out, &self->tasks[self->i].out);
    }
    /* Every listener exists: each sees this delivery, parked or not. */
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    for (self->i = 0; self->i < 4; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
        assert_int_equal(self->tasks[self->i].out, 0);
    }
    for (self->i = 0; self->i < 4; self->i++) weft_signal_destroy(&self->sig[self->i]);
    WEFT_END();
}

static void test_several_listeners(void **state) {
    (void)state;
    warm_up_signals();
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    for (int round = 0; round < 20; round++) {
        many_case c;
        many_case_start(&c);
        assert_int_equal(weft_block_on(rt, &c.base), 0);
    }
    weft_runtime_destroy(rt);
    assert_ptr_equal(disposition(SIGUSR1), (void *)SIG_DFL);
    assert_int_equal(fd_count_settled(fds), fds); /* the signal thread may drop a waker last */
}

/* ---- coalescing, and "after it started" ------------------------------------ */

typedef struct coalesce_case {
    WEFT_CORO_FIELDS;
    weft_signal idle, aux, late;
    weft_signal_recv r;
    weft_timeout t;
    int i;
} coalesce_case;

WEFT_ASYNC(coalesce_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_signal_init(&self->idle, SIGUSR2), 0);
    assert_int_equal(weft_signal_init(&self->aux, SIGUSR2), 0);
    /* Three deliveries, each dispatched (aux saw it) while `idle` is not polled. */
    for (self->i = 0; self->i < 3; self->i++) {
        assert_int_equal(kill(getpid(), SIGUSR2), 0);
        WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->aux));
        assert_int_equal(self->r.result, 0);
    }
    /* `late` started after all three: it sees none of them. */
    assert_int_equal(weft_signal_init(&self->late, SIGUSR2), 0);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_signal_recv_init(&self->r, &self->late), 100));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    /* `idle` sees them as one recv, then nothing more. */
    WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->idle));
    assert_int_equal(self->r.result, 0);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_signal_recv_init(&self->r, &self->idle), 100));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    /* The dropped recvs lost nothing: the next delivery reaches both. */
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->idle));
    assert_int_equal(self->r.result, 0);
    WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->late));
    assert_int_equal(self->r.result, 0);
    weft_signal_destroy(&self->idle);
    weft_signal_destroy(&self->aux);
    weft_signal_destroy(&self->late);
    WEFT_END();
}

static void test_coalesce_and_start(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    coalesce_case c;
    coalesce_case_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
}

/* ---- destroy wakes a pending recv --------------------------------------------- */

typedef struct destroy_case {
    WEFT_CORO_FIELDS;
    weft_signal sig;
    recv_once task;
    weft_join_handle h;
    weft_sleep s;
} destroy_case;

WEFT_ASYNC(destroy_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_signal_init(&self->sig, SIGUSR1), 0);
    {
        recv_once t;
        recv_once_start(&t);
        t.sig = &self->sig;
        t.out = 1;
        self->h = WEFT_SPAWN(cx->runtime, &t, out, &self->task.out);
    }
    WEFT_AWAIT(weft_sleep_init(&self->s, 20)); /* parked or not, the answer is -EBADF */
    weft_signal_destroy(&self->sig);
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->h.result, 0);
    assert_int_equal(self->task.out, -EBADF);
    WEFT_END();
}

/* A listener may not be destroyed while another thread polls its recv
 * (weft/signal.h): both tasks run on one worker, so the destroy meets the
 * recv parked or not yet polled, never mid-poll. */
static void test_destroy_wakes_recv(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single();
    for (int i = 0; i < 10; i++) {
        destroy_case c;
        destroy_case_start(&c);
        assert_int_equal(run_as_task(rt, &c, sizeof c), 0);
    }
    weft_runtime_destroy(rt);
    assert_ptr_equal(disposition(SIGUSR1), (void *)SIG_DFL);
}

/* ---- the application's own handler --------------------------------------------- */

static atomic_int app_calls;
static atomic_int app_bad_info;
static void app_handler(int sig, siginfo_t *info, void *uc) {
    (void)uc;
    if (info->si_signo != sig || info->si_pid != getpid()) atomic_fetch_add(&app_bad_info, 1);
    atomic_fetch_add(&app_calls, 1);
}
static atomic_int app2_calls;
static void app_handler2(int sig) {
    (void)sig;
    atomic_fetch_add(&app2_calls, 1);
}

static void install_app(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = app_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static void test_chains_and_restores_app_handler(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    install_app(SIGUSR2);
    weft_signal s;
    assert_int_equal(weft_signal_init(&s, SIGUSR2), 0);
    assert_ptr_not_equal(disposition(SIGUSR2), (void *)app_handler);
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal(recv_now(rt, &s), 0);
    /* weft's handler called the application's, with the signal's info. */
    WAIT_UNTIL(atomic_load(&app_calls) == 1);
    assert_int_equal(atomic_load(&app_calls), 1);
    assert_int_equal(atomic_load(&app_bad_info), 0);
    weft_signal_destroy(&s);
    assert_ptr_equal(disposition(SIGUSR2), (void *)app_handler);
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    WAIT_UNTIL(atomic_load(&app_calls) == 2);
    assert_int_equal(atomic_load(&app_calls), 2);

    /* Ignored before: ignored after, and weft saw the delivery meanwhile. */
    signal(SIGUSR2, SIG_IGN);
    assert_int_equal(weft_signal_init(&s, SIGUSR2), 0);
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal(recv_now(rt, &s), 0);
    weft_signal_destroy(&s);
    assert_ptr_equal(disposition(SIGUSR2), (void *)SIG_IGN);
    signal(SIGUSR2, SIG_DFL);

    /* An action installed after weft's replaces it, and stays when the
     * last listener goes. */
    assert_int_equal(weft_signal_init(&s, SIGUSR2), 0);
    signal(SIGUSR2, app_handler2);
    weft_signal_destroy(&s);
    assert_ptr_equal(disposition(SIGUSR2), (void *)app_handler2);
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    WAIT_UNTIL(atomic_load(&app2_calls) == 1);
    assert_int_equal(atomic_load(&app2_calls), 1);
    signal(SIGUSR2, SIG_DFL);
    weft_runtime_destroy(rt);
}

/* ---- two runtimes, one signal --------------------------------------------------- */

typedef struct other_rt {
    pthread_t th;
    weft_signal sig;
    int out;
} other_rt;

static void *other_main(void *arg) {
    other_rt *o = arg;
    weft_runtime *rt = NULL;
    weft_runtime_options opts = {0}; /* the other flavour than the suite's, sometimes */
    if (!test_is_multi_thread()) {
        opts.flavor = WEFT_MULTI_THREAD;
        opts.workers = 2;
    }
    if (weft_runtime_create(&rt, &opts) != 0) return NULL;
    recv_once r;
    recv_once_start(&r);
    r.sig = &o->sig;
    r.out = 1;
    weft_block_on(rt, &r.base);
    o->out = r.out;
    weft_runtime_destroy(rt);
    return NULL;
}

static void test_two_runtimes(void **state) {
    (void)state;
    other_rt o = {.out = 1};
    weft_signal mine;
    assert_int_equal(weft_signal_init(&o.sig, SIGUSR1), 0);
    assert_int_equal(weft_signal_init(&mine, SIGUSR1), 0);
    assert_int_equal(pthread_create(&o.th, NULL, other_main, &o), 0);
    weft_runtime *rt = rt_new();
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(recv_now(rt, &mine), 0);
    pthread_join(o.th, NULL);
    assert_int_equal(o.out, 0);
    weft_signal_destroy(&o.sig);
    weft_signal_destroy(&mine);
    weft_runtime_destroy(rt);
}

/* ---- ctrl_c --------------------------------------------------------------------- */

typedef struct ctrl_c_task {
    WEFT_CORO_FIELDS;
    weft_ctrl_c c;
    int out;
} ctrl_c_task;

WEFT_ASYNC(ctrl_c_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_ctrl_c_init(&self->c));
    self->out = self->c.result;
    WEFT_END();
}

typedef struct ctrl_c_case {
    WEFT_CORO_FIELDS;
    ctrl_c_task task;
    weft_join_handle h;
    weft_sleep s;
    weft_timeout t;
    weft_ctrl_c dropped;
    int i;
} ctrl_c_case;

WEFT_ASYNC(ctrl_c_case, NULL) {
    WEFT_BEGIN();
    /* A ctrl_c dropped before any signal: SIGINT's default comes back. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_ctrl_c_init(&self->dropped), 10));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_ptr_equal(disposition(SIGINT), (void *)SIG_DFL);
    {
        ctrl_c_task t;
        ctrl_c_task_start(&t);
        t.out = 1;
        self->h = WEFT_SPAWN(cx->runtime, &t, out, &self->task.out);
    }
    /* Listening from its first poll: wait until it is. */
    for (self->i = 0; self->i < 3000 && disposition(SIGINT) == (void *)SIG_DFL; self->i++)
        WEFT_AWAIT(weft_sleep_init(&self->s, 10));
    assert_int_equal(kill(getpid(), SIGINT), 0); /* the default would end the test */
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->task.out, 0);
    assert_ptr_equal(disposition(SIGINT), (void *)SIG_DFL);
    WEFT_END();
}

static void test_ctrl_c(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    ctrl_c_case c;
    ctrl_c_case_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
}

/* ---- listeners created and dropped while signals arrive ------------------------- */

#define CHURN_TASKS 8
#define CHURN_ROUNDS 300
#define SENDS 5000

static atomic_bool sending;

static void *sender_main(void *arg) {
    (void)arg;
    for (int i = 0; i < SENDS; i++) {
        kill(getpid(), SIGUSR1);
        if (i % 64 == 0) sched_yield();
    }
    atomic_store(&sending, false);
    return NULL;
}

typedef struct churn_task {
    WEFT_CORO_FIELDS;
    unsigned seed;
    weft_signal sig;
    weft_signal_recv r;
    weft_timeout t;
    int round, got;
    weft_barrier *gate;
    weft_barrier_wait bw;
    int out;
} churn_task;

WEFT_ASYNC(churn_task, NULL) {
    WEFT_BEGIN();
    for (self->round = 0; self->round < CHURN_ROUNDS; self->round++) {
        assert_int_equal(weft_signal_init(&self->sig, SIGUSR1), 0);
        switch (rand_r(&self->seed) % 3) {
        case 0: /* dropped at once */
            break;
        case 1: /* dropped while it may be parked */
            WEFT_AWAIT(weft_timeout_init(&self->t, weft_signal_recv_init(&self->r, &self->sig),
                                         rand_r(&self->seed) % 3));
            if (self->t.result == 0) self->got++;
            break;
        default: /* waits for one delivery, as long as they come */
            if (atomic_load(&sending)) {
                WEFT_AWAIT(weft_timeout_init(&self->t, weft_signal_recv_init(&self->r, &self->sig), 50));
                if (self->t.result == 0) self->got++;
            }
        }
        weft_signal_destroy(&self->sig);
    }
    /* A listener every task holds when the final signal is sent. */
    assert_int_equal(weft_signal_init(&self->sig, SIGUSR1), 0);
    WEFT_AWAIT(weft_barrier_wait_init(&self->bw, self->gate));
    WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->sig));
    self->out = self->r.result;
    weft_signal_destroy(&self->sig);
    WEFT_END();
}

typedef struct churn_case {
    WEFT_CORO_FIELDS;
    weft_signal tracker;
    weft_barrier gate;
    churn_task tasks[CHURN_TASKS];
    weft_join_handle h[CHURN_TASKS];
    weft_barrier_wait bw;
    weft_signal_recv r;
    int i;
} churn_case;

WEFT_ASYNC(churn_case, NULL) {
    WEFT_BEGIN();
    weft_barrier_init(&self->gate, CHURN_TASKS + 1);
    for (self->i = 0; self->i < CHURN_TASKS; self->i++) {
        churn_task t;
        memset(&t, 0, sizeof t);
        churn_task_start(&t);
        t.seed = (unsigned)self->i * 7919u + 1;
        t.gate = &self->gate;
        t.out = 1;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &t, out, &self->tasks[self->i].out);
    }
    /* Every task holds its final listener: the last signal reaches all. */
    WEFT_AWAIT(weft_barrier_wait_init(&self->bw, &self->gate));
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    for (self->i = 0; self->i < CHURN_TASKS; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
        assert_int_equal(self->tasks[self->i].out, 0);
    }
    WEFT_AWAIT(weft_signal_recv_init(&self->r, &self->tracker));
    assert_int_equal(self->r.result, 0);
    weft_barrier_destroy(&self->gate);
    WEFT_END();
}

static void test_churn_while_signals_arrive(void **state) {
    (void)state;
    warm_up_signals();
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    churn_case c;
    churn_case_start(&c);
    /* Listening before the first signal is sent (the default would end the test). */
    assert_int_equal(weft_signal_init(&c.tracker, SIGUSR1), 0);
    atomic_store(&sending, true);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, NULL), 0);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    pthread_join(th, NULL);
    /* Once a signal sent after the sender's last has been handled, none of
     * the sender's can still be pending (they coalesce): stop listening. */
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(recv_now(rt, &c.tracker), 0);
    weft_signal_destroy(&c.tracker);
    weft_runtime_destroy(rt);
    assert_ptr_equal(disposition(SIGUSR1), (void *)SIG_DFL);
    assert_int_equal(fd_count_settled(fds), fds); /* the signal thread may drop a waker last */
}

/* ---- a root waker that outlives its runtime ------------------------------------ */

/* weft's signal thread takes a waiting future's waker, then wakes it after
 * releasing its lock; meanwhile the future may complete (another wake made
 * it poll), weft_block_on return and the runtime be destroyed. The wake
 * must then touch nothing freed: the root waker of weft_block_on keeps its
 * runtime's memory while clones of it exist (here a clone is woken after
 * the destroy, deterministically; ASan reports a use after free if not). */
static weft_waker stashed;
static weft_poll stash_poll(weft_future *f, weft_context *cx) {
    (void)f;
    stashed = weft_waker_clone(&cx->waker);
    return WEFT_READY;
}
static const weft_future_vtable stash_vtable = {stash_poll, NULL, "stash"};

static void test_root_waker_outlives_runtime(void **state) {
    (void)state;
    for (int i = 0; i < 2; i++) {
        weft_runtime *rt = rt_new();
        weft_future f;
        weft_future_init(&f, &stash_vtable);
        assert_int_equal(weft_block_on(rt, &f), 0);
        weft_runtime_destroy(rt);
        if (i == 0) weft_waker_wake(stashed);
        else weft_waker_drop(stashed);
    }
}

/* What the descriptor counts of these tests (and of the process tests)
 * rely on: a task's waker held past weft_runtime_destroy keeps the
 * runtime's wakeup descriptor open (a wake writes to it), and its wake or
 * drop, the last reference, closes it. weft's signal thread holds such a
 * clone for a moment while it wakes a task, so a count taken just after
 * the destroy may still see the descriptor (fd_count_settled waits). */
static void test_held_waker_keeps_wakeup_descriptor(void **state) {
    (void)state;
    warm_up_signals();
    for (int i = 0; i < 2; i++) {
        int fds = fd_count();
        weft_runtime *rt = rt_new();
        weft_future f;
        weft_future_init(&f, &stash_vtable);
        assert_int_equal(run_as_task(rt, &f, sizeof f), 0);
        weft_runtime_destroy(rt);
        assert_true(fd_count() > fds);
        if (i == 0) weft_waker_wake(stashed);
        else weft_waker_drop(stashed);
        assert_int_equal(fd_count(), fds);
    }
}

/* ---- signals delivered while runtimes come and go --------------------------------- */

/* A task waits for SIGUSR2 while a thread sends it without pause; each
 * round's runtime is destroyed as soon as its task has its delivery. weft's
 * signal thread wakes tasks from outside their runtimes: a wake that queued
 * a task which then completed, and whose runtime was then destroyed, must
 * not touch that runtime afterwards (ThreadSanitizer and ASan check it). */
static atomic_bool storm_on;
static void *storm_main(void *arg) {
    (void)arg;
    while (atomic_load(&storm_on)) kill(getpid(), SIGUSR2);
    return NULL;
}

static void test_deliveries_while_runtimes_are_destroyed(void **state) {
    (void)state;
    weft_signal keep; /* listening before the first send */
    assert_int_equal(weft_signal_init(&keep, SIGUSR2), 0);
    atomic_store(&storm_on, true);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, storm_main, NULL), 0);
    for (int round = 0; round < 300; round++) {
        weft_runtime *rt = rt_new();
        weft_signal s;
        assert_int_equal(weft_signal_init(&s, SIGUSR2), 0);
        recv_once r;
        recv_once_start(&r);
        r.sig = &s;
        r.out = 1;
        assert_int_equal(run_as_task(rt, &r, sizeof r), 0);
        weft_runtime_destroy(rt);
        weft_signal_destroy(&s);
    }
    atomic_store(&storm_on, false);
    pthread_join(th, NULL);
    /* As in the churn test: one handled delivery after the last send. */
    weft_runtime *rt = rt_new();
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal(recv_now(rt, &keep), 0);
    weft_signal_destroy(&keep);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_signals),
        cmocka_unit_test(test_several_listeners),
        cmocka_unit_test(test_coalesce_and_start),
        cmocka_unit_test(test_destroy_wakes_recv),
        cmocka_unit_test(test_chains_and_restores_app_handler),
        cmocka_unit_test(test_two_runtimes),
        cmocka_unit_test(test_ctrl_c),
        cmocka_unit_test(test_churn_while_signals_arrive),
        cmocka_unit_test(test_root_waker_outlives_runtime),
        cmocka_unit_test(test_held_waker_keeps_wakeup_descriptor),
        cmocka_unit_test(test_deliveries_while_runtimes_are_destroyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
