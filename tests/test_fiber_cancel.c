/* Cancelling fibers. An abort while the fiber is suspended on each kind of
 * leaf future (timer, stream I/O, accept, UDP, an async_fd, every lock
 * and signal, every channel,
 * join handles, JoinSets, blocking calls, combinators, coroutines, nested
 * fibers, yields): the pending await returns -ECANCELED, so does every
 * later one, the fiber releases what it holds exactly once on its own
 * thread, the leaf is dropped exactly once and leaves its object usable,
 * the output of the cancelled fiber is destroyed once. An abort before
 * the fiber starts: fn never runs, arg_drop once. Destroying a runtime
 * with thousands of suspended fibers unwinds each one. Stress: aborts
 * racing running fibers (50 rounds of 200) and destroys racing the workers
 * (40 rounds of 300): every fiber ends exactly once, one way. A fiber that
 * ignores its cancellation is reported.
 * weft-test: threaded  weft-test: io  weft-test: timeout=300 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include "fiber_support.h"

/* ---- the environment every case shares ----------------------------------------- */

typedef struct case_env case_env;

typedef struct leaf_case {
    const char *name;
    void (*setup)(case_env *e);
    int (*await_it)(case_env *e); /* in the fiber: awaits the leaf, returns weft_await's result */
    void (*check)(case_env *e);   /* after the abort: the leaf's object is as it should be */
} leaf_case;

struct case_env {
    const leaf_case *c;
    weft_runtime *rt;
    atomic_int phase;       /* 1: the fiber reached the await */
    int rc, later;          /* the pending await's result, a later await's */
    bool saw_cancelled;
    atomic_int released;    /* what the fiber held, released */
    pthread_t started_on, unwound_on;
    /* the leaves' objects */
    gate_state gs;
    weft_unix_stream a, b;
    weft_tcp_listener l;
    weft_udp_socket u;
    int pipe[2];
    weft_async_fd afd;
    weft_mutex m;
    weft_semaphore sem;
    weft_notify note;
    weft_rwlock rw;
    weft_barrier bar;
    weft_mpsc_tx *tx;
    weft_mpsc_rx *rx;
    weft_oneshot_tx *otx;
    weft_oneshot_rx *orx;
    weft_broadcast_tx *btx;
    weft_broadcast_rx *brx;
    weft_watch_tx *wtx;
    weft_watch_rx *wrx;
    weft_join_handle child;
    atomic_int coro_cleanups, inner_released;
    size_t written;
};

static atomic_int out_drops, arg_drops;
static void drop_out(void *p) {
    free(((weft_fiber_output *)p)->value);
    atomic_fetch_add(&out_drops, 1);
}
static void drop_arg(void *arg) {
    (void)arg;
    atomic_fetch_add(&arg_drops, 1);
}

/* Spawns a task that waits on the environment's gate forever. */
static weft_join_handle spawn_gate_task(case_env *e) {
    gate g;
    gate_init(&g, &e->gs);
    return WEFT_SPAWN(e->rt, &g, out, NULL);
}

/* ---- the cases ---------------------------------------------------------------------- */

static int await_sleep(case_env *e) {
    (void)e;
    return weft_fiber_sleep(1000000);
}

static int await_gate(case_env *e) {
    gate g;
    return weft_await(gate_init(&g, &e->gs));
}
static void check_gate(case_env *e) {
    assert_int_equal(atomic_load(&e->gs.drops), 1);
    assert_true(atomic_load(&e->gs.polls) >= 1);
}

static void setup_pair(case_env *e) { assert_int_equal(weft_unix_stream_pair(&e->a, &e->b, e->rt), 0); }
static int await_read(case_env *e) {
    char buf[16];
    ssize_t n = weft_fiber_read(&e->b.stream, buf, sizeof buf);
    return n < 0 ? (int)n : 0;
}
static void *read_one(void *arg) {
    case_env *e = arg;
    char c = 0;
    FCHECK_EQ(weft_fiber_read(&e->b.stream, &c, 1), 1);
    return (void *)(uintptr_t)c;
}
static void check_pair_usable(case_env *e) {
    assert_int_equal(write(weft_unix_stream_fd(&e->a), "x", 1), 1);
    assert_int_equal((uintptr_t)run_fiber(e->rt, read_one, e), 'x'); /* nothing was lost */
    weft_unix_stream_close(&e->a);
    weft_unix_stream_close(&e->b);
}

static int await_write_all(case_env *e) {
    size_t big = 16u << 20; /* more than the socket buffers hold: it waits */
    char *buf = calloc(1, big);
    int rc = weft_fiber_write_all(&e->a.stream, buf, big, &e->written);
    free(buf);
    return rc;
}
static void check_write_all(case_env *e) {
    assert_true(e->written < (16u << 20));
    weft_unix_stream_close(&e->a);
    weft_unix_stream_close(&e->b);
}

static void setup_listener(case_env *e) {
    assert_int_equal(weft_tcp_listener_bind(&e->l, e->rt, "127.0.0.1:0", 16), 0);
}
static int await_accept(case_env *e) {
    weft_tcp_stream s;
    int rc = weft_fiber_accept(&e->l, &s);
    if (rc == 0) weft_tcp_stream_close(&s);
    return rc;
}
static void *accept_one(void *arg) {
    case_env *e = arg;
    weft_tcp_stream s;
    FCHECK_EQ(weft_fiber_accept(&e->l, &s), 0);
    weft_tcp_stream_close(&s);
    return NULL;
}
static void *connect_one(void *arg) {
    case_env *e = arg;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", weft_tcp_listener_port(&e->l));
    weft_tcp_stream s;
    FCHECK_EQ(weft_fiber_connect(&s, addr), 0);
    weft_tcp_stream_close(&s);
    return NULL;
}
static void check_listener_usable(case_env *e) {
    weft_join_handle h = weft_fiber_spawn(e->rt, accept_one, e, NULL);
    run_fiber(e->rt, connect_one, e);
    assert_int_equal(weft_block_on(e->rt, &h.base), 0);
    assert_int_equal(h.result, 0);
    weft_tcp_listener_close(&e->l);
}

static void setup_mutex(case_env *e) {
    weft_mutex_init(&e->m);
    assert_int_equal(weft_mutex_try_lock(&e->m), 0); /* held by the test */
}
static int await_mutex(case_env *e) {
    weft_mutex_lock lk;
    int rc = weft_await(weft_mutex_lock_init(&lk, &e->m));
    if (rc == 0) weft_mutex_unlock(&e->m);
    return rc;
}
static void check_mutex(case_env *e) {
    weft_mutex_unlock(&e->m); /* hands it to nobody: the waiter left */
    assert_false(weft_mutex_is_locked(&e->m));
    weft_mutex_destroy(&e->m); /* debug builds check that nobody waits */
}

static void setup_sem(case_env *e) { weft_semaphore_init(&e->sem, 0); }
static int await_sem(case_env *e) {
    weft_semaphore_acquire a;
    return weft_await(weft_semaphore_acquire_init(&a, &e->sem));
}
static void check_sem(case_env *e) {
    weft_semaphore_add_permits(&e->sem, 1);
    assert_int_equal(weft_semaphore_available(&e->sem), 1); /* not taken by the cancelled waiter */
    weft_semaphore_destroy(&e->sem);
}

static void setup_notify(case_env *e) { weft_notify_init(&e->note); }
static int await_notify(case_env *e) {
    weft_notified n;
    return weft_await(weft_notify_notified_init(&n, &e->note));
}
static void *notified_at_once(void *arg) {
    case_env *e = arg;
    weft_notified n;
    FCHECK_EQ(weft_await(weft_notify_notified_init(&n, &e->note)), 0);
    return NULL;
}
static void check_notify(case_env *e) {
    weft_notify_one(&e->note); /* nobody waits: a permit is stored */
    run_fiber(e->rt, notified_at_once, e);
    weft_notify_destroy(&e->note);
}

static void setup_rwlock(case_env *e) {
    weft_rwlock_init(&e->rw, 0);
    assert_int_equal(weft_rwlock_try_read(&e->rw), 0);
}
static int await_rwlock(case_env *e) {
    weft_rwlock_lock w;
    int rc = weft_await(weft_rwlock_write_init(&w, &e->rw));
    if (rc == 0) weft_rwlock_write_unlock(&e->rw);
    return rc;
}
static void check_rwlock(case_env *e) {
    weft_rwlock_read_unlock(&e->rw);
    assert_int_equal(weft_rwlock_try_write(&e->rw), 0);
    weft_rwlock_write_unlock(&e->rw);
    weft_rwlock_destroy(&e->rw);
}

static void setup_barrier(case_env *e) { weft_barrier_init(&e->bar, 2); }
static int await_barrier(case_env *e) {
    weft_barrier_wait w;
    return weft_await(weft_barrier_wait_init(&w, &e->bar));
}
static void check_barrier(case_env *e) { weft_barrier_destroy(&e->bar); }

static void setup_mpsc(case_env *e) { assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &e->tx, &e->rx), 0); }
static int await_recv(case_env *e) {
    weft_mpsc_recv r;
    int v;
    return weft_await(weft_mpsc_recv_init(&r, e->rx, &v));
}
static void check_recv(case_env *e) {
    int v = 7, got = 0;
    assert_int_equal(weft_mpsc_try_send(e->tx, &v), 0);
    assert_int_equal(weft_mpsc_try_recv(e->rx, &got), 0);
    assert_int_equal(got, 7);
    weft_mpsc_tx_destroy(&e->tx);
    weft_mpsc_rx_destroy(&e->rx);
}
static void setup_mpsc_full(case_env *e) {
    setup_mpsc(e);
    int v = 1;
    assert_int_equal(weft_mpsc_try_send(e->tx, &v), 0);
}
static int await_send(case_env *e) {
    weft_mpsc_send s;
    int v = 2;
    return weft_await(weft_mpsc_send_init(&s, e->tx, &v));
}
static void check_send(case_env *e) {
    int got = 0;
    assert_int_equal(weft_mpsc_try_recv(e->rx, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(weft_mpsc_try_recv(e->rx, &got), -EAGAIN); /* the cancelled send sent nothing */
    weft_mpsc_tx_destroy(&e->tx);
    weft_mpsc_rx_destroy(&e->rx);
}

static void setup_oneshot(case_env *e) { assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &e->otx, &e->orx), 0); }
static int await_oneshot(case_env *e) {
    weft_oneshot_recv r;
    int v;
    return weft_await(weft_oneshot_recv_init(&r, e->orx, &v));
}
static void check_oneshot(case_env *e) {
    int v = 3, got = 0;
    assert_int_equal(weft_oneshot_send(e->otx, &v), 0);
    weft_oneshot_tx_destroy(&e->otx);
    assert_int_equal(weft_oneshot_try_recv(e->orx, &got), 0);
    assert_int_equal(got, 3);
    weft_oneshot_rx_destroy(&e->orx);
}

static void setup_broadcast(case_env *e) {
    assert_int_equal(weft_broadcast_create(sizeof(int), 4, NULL, &e->btx, &e->brx), 0);
}
static int await_broadcast(case_env *e) {
    weft_broadcast_recv r;
    int v;
    return weft_await(weft_broadcast_recv_init(&r, e->brx, &v));
}
static void check_broadcast(case_env *e) {
    int v = 4, got = 0;
    assert_true(weft_broadcast_send(e->btx, &v) >= 0);
    assert_int_equal(weft_broadcast_try_recv(e->brx, &got, NULL), 0);
    assert_int_equal(got, 4);
    weft_broadcast_rx_destroy(&e->brx);
    weft_broadcast_tx_destroy(&e->btx);
}

static void setup_watch(case_env *e) {
    int zero = 0;
    assert_int_equal(weft_watch_create(sizeof(int), &zero, NULL, &e->wtx, &e->wrx), 0);
}
static int await_watch(case_env *e) {
    weft_watch_changed c;
    return weft_await(weft_watch_changed_init(&c, e->wrx));
}
static void check_watch(case_env *e) {
    weft_watch_rx_destroy(&e->wrx);
    weft_watch_tx_destroy(&e->wtx);
}

/* A join handle awaited by value: the cancelled await drops it, so the
 * child is detached and runs on; the test lets it finish. */
static void setup_child(case_env *e) { e->child = spawn_gate_task(e); }
static int await_join(case_env *e) { return weft_fiber_join(&e->child, NULL); }
static void check_join(case_env *e) {
    assert_int_equal(e->child.state, WEFT_JOIN_DETACHED);
    gate_open(&e->gs);
}

/* A join handle awaited by reference: the handle survives the cancelled
 * await, and the fiber's cleanup aborts the child. */
static int await_join_wait(case_env *e) {
    weft_join_wait w;
    int rc = weft_await(weft_join_wait_init(&w, &e->child));
    FCHECK_EQ(e->child.state, WEFT_JOIN_LIVE);
    weft_join_handle_abort(&e->child);
    weft_join_handle_detach(&e->child);
    return rc;
}
static void check_child_dropped(case_env *e) {
    /* Aborted: its gate is dropped on its runtime, soon. */
    while (atomic_load(&e->gs.drops) == 0) {
        weft_sleep s;
        assert_int_equal(weft_block_on(e->rt, weft_sleep_init(&s, 1)), 0);
    }
    assert_int_equal(atomic_load(&e->gs.drops), 1);
}

/* A JoinSet the fiber owns: its cleanup destroys it, aborting the child. */
static int await_join_set(case_env *e) {
    weft_join_set *js;
    FCHECK_EQ(weft_join_set_create(&js, weft_runtime_current(), sizeof(int), NULL), 0);
    gate g;
    gate_init(&g, &e->gs);
    FCHECK(WEFT_JOIN_SET_SPAWN(js, &g, out) > 0);
    weft_join_set_next n;
    int rc = weft_await(weft_join_set_join_next_init(&n, js, NULL));
    weft_join_set_destroy(js);
    return rc;
}

static void *slow_blocking(void *arg) {
    (void)arg;
    usleep(30000);
    return NULL;
}
static int await_blocking(case_env *e) {
    weft_join_handle h = weft_spawn_blocking(weft_runtime_current(), slow_blocking, NULL, NULL);
    (void)e;
    return weft_fiber_join(&h, NULL);
}

/* Combinators: the gate inside a timeout inside a select. */
static int await_combinator(case_env *e) {
    gate g;
    weft_timeout to;
    weft_sleep s;
    weft_select sel;
    weft_future *kids[2];
    return weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS,
                                  weft_timeout_init(&to, gate_init(&g, &e->gs), 1000000),
                                  weft_sleep_init(&s, 1000000)));
}

/* A coroutine with a cleanup hook, waiting on the gate. */
typedef struct gated {
    WEFT_CORO_FIELDS;
    case_env *e;
    gate g;
} gated;
static void gated_cleanup(gated *self) { atomic_fetch_add(&self->e->coro_cleanups, 1); }
WEFT_ASYNC(gated, gated_cleanup) {
    WEFT_BEGIN();
    WEFT_AWAIT(gate_init(&self->g, &self->e->gs));
    WEFT_END();
}
static int await_coroutine(case_env *e) {
    gated c;
    gated_start(&c);
    c.e = e;
    return weft_await(&c.base);
}
static void check_coroutine(case_env *e) {
    check_gate(e);
    assert_int_equal(atomic_load(&e->coro_cleanups), 1);
}

/* A fiber awaiting a fiber awaiting the gate: both unwind. */
static void *inner_waits(void *arg) {
    case_env *e = arg;
    char *mine = malloc(16);
    int rc = await_gate(e);
    FCHECK_EQ(rc, -ECANCELED);
    FCHECK(weft_fiber_is_cancelled());
    free(mine);
    atomic_fetch_add(&e->inner_released, 1);
    return NULL;
}
static int await_nested(case_env *e) {
    weft_fiber inner;
    return weft_await(weft_fiber_init(&inner, inner_waits, e, NULL));
}
static void check_nested(case_env *e) {
    check_gate(e);
    assert_int_equal(atomic_load(&e->inner_released), 1);
}

static int await_yields(case_env *e) {
    (void)e;
    int rc;
    while ((rc = weft_fiber_yield()) == 0) {}
    return rc;
}

static int await_interval(case_env *e) {
    (void)e;
    weft_interval iv;
    FCHECK_EQ(weft_interval_init(&iv, 1000000, WEFT_MISSED_BURST), 0);
    int rc = weft_await(weft_interval_tick(&iv)); /* the first tick is immediate */
    if (rc == 0) rc = weft_await(weft_interval_tick(&iv));
    weft_interval_destroy(&iv);
    return rc;
}

static void setup_udp(case_env *e) {
    assert_int_equal(weft_udp_bind(&e->u, e->rt, "127.0.0.1:0"), 0);
    assert_int_equal(pipe2(e->pipe, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(weft_async_fd_adopt(&e->afd, e->rt, e->pipe[0]), 0);
}
static int await_udp(case_env *e) {
    char buf[16];
    weft_dgram_recv r;
    return weft_await(weft_udp_recv_init(&r, &e->u, buf, sizeof buf));
}
/* Readiness is a hint (a new registration starts ready): wait, try,
 * clear what turned out stale, wait again. */
static int read_byte(case_env *e) {
    for (;;) {
        weft_async_fd_ready r;
        int rc = weft_await(weft_async_fd_ready_init(&r, &e->afd, WEFT_INTEREST_READ));
        if (rc) return rc;
        FCHECK_EQ(r.result, 0);
        char c;
        if (read(e->pipe[0], &c, 1) == 1) return 0;
        weft_async_fd_clear_ready(&e->afd, &r.ready);
    }
}
static int await_async_fd(case_env *e) { return read_byte(e); }
static void *udp_recv_one(void *arg) {
    case_env *e = arg;
    char buf[16];
    weft_dgram_recv r;
    FCHECK_EQ(weft_await(weft_udp_recv_init(&r, &e->u, buf, sizeof buf)), 0);
    FCHECK_EQ(r.result, 3);
    FCHECK_EQ(read_byte(e), 0);
    return NULL;
}
static void check_udp(case_env *e) {
    /* Both still usable: a datagram to ourselves, a byte in the pipe. */
    weft_sockaddr self;
    assert_int_equal(weft_udp_local_addr(&e->u, &self), 0);
    assert_int_equal(weft_udp_connect_addr(&e->u, &self), 0);
    assert_int_equal(send(weft_udp_fd(&e->u), "abc", 3, 0), 3);
    assert_int_equal(write(e->pipe[1], "x", 1), 1);
    run_fiber(e->rt, udp_recv_one, e);
    weft_udp_close(&e->u);
    weft_async_fd_close(&e->afd);
    close(e->pipe[1]);
}

static void setup_gate(case_env *e) { (void)e; }
static void check_nothing(case_env *e) { (void)e; }

static const leaf_case cases[] = {
    {"sleep", setup_gate, await_sleep, check_nothing},
    {"gate (a custom leaf)", setup_gate, await_gate, check_gate},
    {"read", setup_pair, await_read, check_pair_usable},
    {"write_all", setup_pair, await_write_all, check_write_all},
    {"accept", setup_listener, await_accept, check_listener_usable},
    {"udp recv", setup_udp, await_udp, check_udp},
    {"async_fd ready", setup_udp, await_async_fd, check_udp},
    {"mutex", setup_mutex, await_mutex, check_mutex},
    {"semaphore", setup_sem, await_sem, check_sem},
    {"notify", setup_notify, await_notify, check_notify},
    {"rwlock", setup_rwlock, await_rwlock, check_rwlock},
    {"barrier", setup_barrier, await_barrier, check_barrier},
    {"mpsc recv", setup_mpsc, await_recv, check_recv},
    {"mpsc send", setup_mpsc_full, await_send, check_send},
    {"oneshot", setup_oneshot, await_oneshot, check_oneshot},
    {"broadcast", setup_broadcast, await_broadcast, check_broadcast},
    {"watch", setup_watch, await_watch, check_watch},
    {"join handle", setup_child, await_join, check_join},
    {"join_wait", setup_child, await_join_wait, check_child_dropped},
    {"JoinSet", setup_gate, await_join_set, check_child_dropped},
    {"spawn_blocking", setup_gate, await_blocking, check_nothing},
    {"select(timeout(gate), sleep)", setup_gate, await_combinator, check_gate},
    {"coroutine", setup_gate, await_coroutine, check_coroutine},
    {"nested fiber", setup_gate, await_nested, check_nested},
    {"yield", setup_gate, await_yields, check_nothing},
    {"interval", setup_gate, await_interval, check_nothing},
};

/* ---- the fiber under test ------------------------------------------------------------ */

static void *case_body(void *arg) {
    case_env *e = arg;
    char *held = malloc(64); /* what the fiber holds in its locals */
    FCHECK(held);
    e->started_on = pthread_self();
    atomic_store(&e->phase, 1);
    e->rc = e->c->await_it(e);
    e->later = weft_fiber_sleep(1); /* at once: cancelled */
    e->saw_cancelled = weft_fiber_is_cancelled();
    free(held);
    atomic_fetch_add(&e->released, 1);
    e->unwound_on = pthread_self();
    return strdup("the output of a cancelled fiber"); /* for out_drop */
}

/* Lets the runtime run until the fiber has reached its await. */
static void wait_for_phase(case_env *e) {
    while (atomic_load(&e->phase) < 1) {
        weft_sleep s;
        assert_int_equal(weft_block_on(e->rt, weft_sleep_init(&s, 1)), 0);
    }
    weft_sleep s;
    assert_int_equal(weft_block_on(e->rt, weft_sleep_init(&s, 3)), 0);
}

static void test_abort_mid_await(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_env *e = calloc(1, sizeof *e);
        e->c = &cases[i];
        e->rt = rt_new();
        gate_state_init(&e->gs);
        e->c->setup(e);
        atomic_store(&out_drops, 0);
        atomic_store(&arg_drops, 0);
        weft_fiber_options o = {.out_drop = drop_out, .arg_drop = drop_arg};
        weft_join_handle h = weft_fiber_spawn(e->rt, case_body, e, &o);
        wait_for_phase(e);
        weft_join_handle_abort(&h);
        assert_int_equal(weft_block_on(e->rt, &h.base), 0);
        if (h.result != -ECANCELED || e->rc != -ECANCELED)
            fail_msg("case %s: join %d, await %d", e->c->name, h.result, e->rc);
        assert_int_equal(e->later, -ECANCELED);
        assert_true(e->saw_cancelled);
        assert_int_equal(atomic_load(&e->released), 1);
        assert_int_equal(atomic_load(&out_drops), 1);
        assert_int_equal(atomic_load(&arg_drops), 0);
        assert_true(pthread_equal(e->started_on, e->unwound_on));
        e->c->check(e);
        weft_runtime_destroy(e->rt);
        gate_state_destroy(&e->gs);
        free(e);
    }
}

/* ---- an abort before the fiber starts -------------------------------------------------- */

static void *must_not_run(void *arg) {
    (void)arg;
    abort();
}

typedef struct abort_early {
    WEFT_CORO_FIELDS;
    weft_join_handle h;
} abort_early;

WEFT_ASYNC(abort_early, NULL) {
    WEFT_BEGIN();
    {
        weft_fiber_options o = {.arg_drop = drop_arg, .out_drop = drop_out};
        self->h = weft_fiber_spawn(cx->runtime, must_not_run, NULL, &o);
        weft_join_handle_abort(&self->h); /* before anything polled it */
    }
    WEFT_AWAIT(&self->h.base);
    WEFT_END();
}

static void test_abort_before_start(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single();
    atomic_store(&arg_drops, 0);
    atomic_store(&out_drops, 0);
    abort_early a;
    abort_early_start(&a);
    assert_int_equal(run_as_task(rt, &a, sizeof a), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&arg_drops), 1);
    assert_int_equal(atomic_load(&out_drops), 0);
}

/* A fiber future dropped by a combinator, not by an abort: the select's
 * loser. */
static void *loser_body(void *arg) {
    case_env *e = arg;
    int rc = await_gate(e);
    FCHECK_EQ(rc, -ECANCELED);
    atomic_fetch_add(&e->released, 1);
    return NULL;
}

static void *select_body(void *arg) {
    case_env *e = arg;
    weft_fiber loser;
    weft_sleep s;
    weft_select sel;
    weft_future *kids[2];
    FCHECK_EQ(weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS,
                                     weft_fiber_init(&loser, loser_body, e, NULL),
                                     weft_sleep_init(&s, 5))),
              0);
    FCHECK_EQ(sel.winner, 1);
    FCHECK_EQ(atomic_load(&e->released), 1); /* unwound when the select dropped it */
    FCHECK(!weft_fiber_is_cancelled());       /* the outer fiber is not */
    return NULL;
}

static void test_dropped_by_select(void **state) {
    (void)state;
    case_env e;
    memset(&e, 0, sizeof e);
    gate_state_init(&e.gs);
    e.rt = rt_new();
    run_fiber(e.rt, select_body, &e);
    check_gate(&e);
    weft_runtime_destroy(e.rt);
    gate_state_destroy(&e.gs);
}

/* ---- destroying a runtime with thousands of suspended fibers ----------------------------- */

typedef struct crowd {
    atomic_int started, unwound, wrong_thread;
    weft_mutex m;
} crowd;

static void *crowd_member(void *arg) {
    crowd *c = arg;
    pthread_t me = pthread_self();
    char *held = malloc(32);
    atomic_fetch_add(&c->started, 1);
    int rc;
    switch (atomic_load(&c->started) % 3) { /* a mix of leaves */
    case 0: rc = weft_fiber_sleep(1000000); break;
    case 1: {
        weft_mutex_lock lk;
        rc = weft_await(weft_mutex_lock_init(&lk, &c->m));
        break;
    }
    default: {
        weft_yield_now y;
        while ((rc = weft_await(weft_yield_now_init(&y))) == 0) weft_fiber_sleep(1000);
    }
    }
    FCHECK_EQ(rc, -ECANCELED);
    free(held);
    if (!pthread_equal(me, pthread_self())) atomic_fetch_add(&c->wrong_thread, 1);
    atomic_fetch_add(&c->unwound, 1);
    return strdup("unwound");
}

static void test_runtime_destroy_unwinds(void **state) {
    (void)state;
    int n = FIBER_TEST_SANITIZED ? 2000 : 5000;
    weft_runtime *rt = rt_new();
    crowd c;
    memset(&c, 0, sizeof c);
    weft_mutex_init(&c.m);
    assert_int_equal(weft_mutex_try_lock(&c.m), 0);
    atomic_store(&out_drops, 0);
    weft_fiber_options o = {.out_drop = drop_out, .stack_size = 64 * 1024};
    for (int i = 0; i < n; i++) {
        weft_join_handle h = weft_fiber_spawn(rt, crowd_member, &c, &o);
        assert_int_equal(h.state, WEFT_JOIN_LIVE);
        weft_join_handle_detach(&h);
    }
    while (atomic_load(&c.started) < n) {
        weft_sleep s;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 2)), 0);
    }
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&c.unwound), n);
    assert_int_equal(atomic_load(&out_drops), n);
    /* Each fiber unwound on the thread it ran on: its worker, before the
     * worker exited (multi_thread), or the thread that drove the runtime. */
    assert_int_equal(atomic_load(&c.wrong_thread), 0);
    weft_mutex_unlock(&c.m);
    weft_mutex_destroy(&c.m);
}

/* ---- aborts racing the fibers, destroys racing the workers --------------------------------- */

/* Every fiber ends exactly once, one way: fn returned normally, fn
 * unwound after a cancellation, or fn never ran and arg_drop had arg. */
typedef struct race {
    atomic_int finished, unwound, never_ran;
} race;

static void race_arg_drop(void *arg) { atomic_fetch_add(&((race *)arg)->never_ran, 1); }

static void *racer(void *arg) {
    race *r = arg;
    for (int i = 0; i < 20; i++) {
        int rc = (i % 3 == 0) ? weft_fiber_sleep(1) : weft_fiber_yield();
        if (rc == -ECANCELED) {
            FCHECK(weft_fiber_is_cancelled());
            atomic_fetch_add(&r->unwound, 1);
            return NULL;
        }
        FCHECK_EQ(rc, 0);
    }
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

static void test_abort_races(void **state) {
    (void)state;
    int rounds = FIBER_TEST_SANITIZED ? 10 : 50, n = 200;
    unsigned seed = 12345;
    for (int round = 0; round < rounds; round++) {
        weft_runtime *rt = rt_new();
        race r;
        memset(&r, 0, sizeof r);
        weft_fiber_options o = {.arg_drop = race_arg_drop, .stack_size = 64 * 1024};
        weft_join_handle hs[200];
        for (int i = 0; i < n; i++) hs[i] = weft_fiber_spawn(rt, racer, &r, &o);
        /* Abort them in a scrambled order while they run (on multi_thread,
         * on the workers; on current_thread, between turns of block_on). */
        int cancelled = 0, completed = 0;
        for (int k = 0; k < n; k++) {
            int i = (int)((k * 7919u + (unsigned)round) % (unsigned)n);
            seed = seed * 1103515245u + 12345u;
            if (seed % 4 == 0) {
                weft_sleep s;
                assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 1)), 0);
            }
            weft_join_handle_abort(&hs[i]);
        }
        for (int i = 0; i < n; i++) {
            assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
            if (hs[i].result == -ECANCELED) cancelled++;
            else if (hs[i].result == 0) completed++;
            else fail_msg("result %d", hs[i].result);
        }
        weft_runtime_destroy(rt);
        assert_int_equal(atomic_load(&r.finished) + atomic_load(&r.unwound) + atomic_load(&r.never_ran), n);
        assert_int_equal(completed, atomic_load(&r.finished));
        assert_int_equal(cancelled, atomic_load(&r.unwound) + atomic_load(&r.never_ran));
    }
}

static void test_destroy_races(void **state) {
    (void)state;
    int rounds = FIBER_TEST_SANITIZED ? 10 : 40, n = 300;
    for (int round = 0; round < rounds; round++) {
        weft_runtime *rt = rt_new();
        race r;
        memset(&r, 0, sizeof r);
        weft_fiber_options o = {.arg_drop = race_arg_drop, .stack_size = 64 * 1024};
        for (int i = 0; i < n; i++) weft_join_handle_detach_value(weft_fiber_spawn(rt, racer, &r, &o));
        /* Destroy at once, or after some have started, finished, or both. */
        if (round % 3) {
            weft_sleep s;
            assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, (uint64_t)(round % 5))), 0);
        }
        weft_runtime_destroy(rt);
        assert_int_equal(atomic_load(&r.finished) + atomic_load(&r.unwound) + atomic_load(&r.never_ran), n);
    }
}

/* ---- a fiber that ignores its cancellation ----------------------------------------------- */

static atomic_bool stubborn_started;

static void *stubborn(void *arg) {
    (void)arg;
    atomic_store(&stubborn_started, true);
    for (int i = 0; i < 20000; i++) (void)weft_fiber_sleep(1000000); /* ignores -ECANCELED */
    return NULL;
}

static void stubborn_child(void) {
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_fiber_spawn(rt, stubborn, NULL, NULL);
    /* Abort only once it runs: a fiber cancelled before it starts never runs. */
    while (!atomic_load(&stubborn_started)) {
        weft_sleep s;
        weft_block_on(rt, weft_sleep_init(&s, 1));
    }
    weft_join_handle_abort(&h);
    weft_block_on(rt, &h.base);
    weft_runtime_destroy(rt);
}

static void test_ignored_cancellation_is_reported(void **state) {
    (void)state;
    int sig = 0;
    const char *err = run_in_child(stubborn_child, &sig);
    assert_non_null(strstr(err, "ignores its cancellation"));
#ifdef NDEBUG
    assert_int_equal(sig, 0); /* reported once; the fiber ends by itself */
#else
    assert_int_equal(sig, SIGABRT);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abort_mid_await),
        cmocka_unit_test(test_abort_before_start),
        cmocka_unit_test(test_dropped_by_select),
        cmocka_unit_test(test_runtime_destroy_unwinds),
        cmocka_unit_test(test_abort_races),
        cmocka_unit_test(test_destroy_races),
        cmocka_unit_test(test_ignored_cancellation_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
