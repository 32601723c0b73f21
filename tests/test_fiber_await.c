/* Fibers await every kind of future: time (sleep, sleep_until, interval,
 * timeout both ways, yield), combinators (select, join, a coroutine, a
 * nested fiber), tasks (join handles of futures and fibers, join_wait,
 * spawn_blocking, JoinSets of fibers), I/O (Unix stream pair, TCP accept
 * and connect to a name, buffered lines, UDP, an async_fd), sync (mutex,
 * semaphore, notify, rwlock,
 * barrier, oneshot, mpsc, broadcast, watch); a fiber as weft_block_on's
 * root and awaited from a coroutine; spurious wake-ups; bad input.
 * weft-test: threaded  weft-test: io  weft-test: timeout=300 */
#include <fcntl.h>

#include "fiber_support.h"

/* ---- time ------------------------------------------------------------------ */

static void *time_body(void *arg) {
    (void)arg;
    weft_runtime *rt = weft_runtime_current();
    FCHECK(rt != NULL);
    FCHECK(weft_in_fiber());
    uint64_t t0 = weft_clock_ms();
    FCHECK_EQ(weft_fiber_sleep(20), 0);
    FCHECK(weft_clock_ms() >= t0 + 20);
    uint64_t deadline = weft_clock_ms() + 15;
    FCHECK_EQ(weft_fiber_sleep_until(deadline), 0);
    FCHECK(weft_clock_ms() >= deadline);
    FCHECK_EQ(weft_fiber_yield(), 0);

    /* A timeout whose inner future wins, then one whose limit wins. */
    weft_sleep inner;
    weft_timeout to;
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_sleep_init(&inner, 5), 1000)), 0);
    FCHECK_EQ(to.result, 0);
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_sleep_init(&inner, 100000), 10)), 0);
    FCHECK_EQ(to.result, -ETIMEDOUT);

    /* An interval: three ticks. */
    weft_interval iv;
    FCHECK_EQ(weft_interval_init(&iv, 5, WEFT_MISSED_BURST), 0);
    for (int i = 0; i < 3; i++) FCHECK_EQ(weft_await(weft_interval_tick(&iv)), 0);
    FCHECK_EQ(iv.ticks, 3);
    weft_interval_destroy(&iv);
    return (void *)(uintptr_t)7;
}

static void test_time(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(rt, time_body, NULL), 7);
    weft_runtime_destroy(rt);
}

/* ---- combinators, coroutines, nested fibers --------------------------------- */

typedef struct adder {
    WEFT_CORO_FIELDS;
    int a, b;
    weft_sleep s;
    int out;
} adder;

WEFT_ASYNC(adder, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 2));
    self->out = self->a + self->b;
    WEFT_END();
}

static void *inner_fiber(void *arg) {
    int *n = arg;
    FCHECK_EQ(weft_fiber_sleep(3), 0);
    (*n)++;
    return (void *)(uintptr_t)(*n * 2);
}

static void *combinators_body(void *arg) {
    (void)arg;
    /* select: the short sleep wins, the long one is dropped. */
    weft_sleep a, b;
    weft_select sel;
    weft_future *kids[2];
    FCHECK_EQ(weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS, weft_sleep_init(&a, 100000),
                                     weft_sleep_init(&b, 3))),
              0);
    FCHECK_EQ(sel.winner, 1);

    /* join of a coroutine and a sleep. */
    adder ad;
    adder_start(&ad);
    ad.a = 2;
    ad.b = 3;
    weft_join j;
    FCHECK_EQ(weft_await(WEFT_JOIN(&j, kids, &ad.base, weft_sleep_init(&a, 4))), 0);
    FCHECK_EQ(ad.out, 5);

    /* A fiber future awaited from a fiber: it runs on its own stack, as
     * part of this task. */
    int n = 20;
    weft_fiber nested;
    FCHECK_EQ(weft_await(weft_fiber_init(&nested, inner_fiber, &n, NULL)), 0);
    FCHECK_EQ(nested.output.error, 0);
    FCHECK_EQ((uintptr_t)nested.output.value, 42);
    FCHECK_EQ(n, 21);
    FCHECK(weft_in_fiber()); /* still in ours */
    return NULL;
}

static void test_combinators(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, combinators_body, NULL);
    weft_runtime_destroy(rt);
}

/* A fiber awaited by a coroutine task, and a fiber as block_on's root. */
typedef struct fiber_waiter {
    WEFT_CORO_FIELDS;
    int n;
    weft_fiber f;
    int out;
} fiber_waiter;

WEFT_ASYNC(fiber_waiter, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_fiber_init(&self->f, inner_fiber, &self->n, NULL));
    self->out = (int)(uintptr_t)self->f.output.value;
    WEFT_END();
}

static void test_fiber_in_coroutine_and_root(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    fiber_waiter w;
    fiber_waiter_start(&w);
    w.n = 1;
    assert_int_equal(run_as_task(rt, &w, sizeof w), 0);

    int n = 4;
    weft_fiber root;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&root, inner_fiber, &n, NULL)), 0);
    assert_int_equal(root.output.error, 0);
    assert_int_equal((uintptr_t)root.output.value, 10);
    assert_int_equal(n, 5);
    weft_runtime_destroy(rt);
}

/* ---- tasks -------------------------------------------------------------------- */

typedef struct ten {
    WEFT_CORO_FIELDS;
    weft_sleep s;
    int out;
} ten;

WEFT_ASYNC(ten, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_sleep_init(&self->s, 3));
    self->out = 10;
    WEFT_END();
}

static void *blocking_fn(void *arg) {
    usleep(2000);
    return (void *)((uintptr_t)arg + 1);
}

static void *tasks_body(void *arg) {
    (void)arg;
    weft_runtime *rt = weft_runtime_current();
    /* A future task. */
    ten t;
    ten_start(&t);
    int got = 0;
    weft_join_handle h = WEFT_SPAWN(rt, &t, out, NULL);
    FCHECK_EQ(weft_fiber_join_task(&h, &got), 0);
    FCHECK_EQ(got, 10);

    /* A fiber task, joined by reference under a timeout first. */
    int n = 100;
    h = weft_fiber_spawn(rt, inner_fiber, &n, NULL);
    weft_fiber_output out = {NULL, 0};
    h.out = &out;
    weft_join_wait jw;
    weft_timeout to;
    FCHECK_EQ(weft_await(weft_timeout_init(&to, weft_join_wait_init(&jw, &h), 100000)), 0);
    FCHECK_EQ(to.result, 0);
    FCHECK_EQ(jw.result, 0);
    FCHECK_EQ((uintptr_t)out.value, 202);
    FCHECK_EQ(out.error, 0);

    /* spawn_blocking (its output is a void *). */
    h = weft_spawn_blocking(rt, blocking_fn, (void *)(uintptr_t)41, NULL);
    void *bout = NULL;
    FCHECK_EQ(weft_fiber_join_task(&h, &bout), 0);
    FCHECK_EQ((uintptr_t)bout, 42);
    /* A fiber joined with weft_fiber_join. */
    h = weft_fiber_spawn(rt, inner_fiber, &n, NULL);
    void *v = NULL;
    FCHECK_EQ(weft_fiber_join(&h, &v), 0);
    FCHECK_EQ((uintptr_t)v, 204);

    /* A JoinSet of fibers and a future task. */
    weft_join_set *js;
    FCHECK_EQ(weft_join_set_create(&js, rt, sizeof(weft_fiber_output), NULL), 0);
    int counts[3] = {0, 10, 20};
    for (int i = 0; i < 3; i++) FCHECK(weft_join_set_spawn_fiber(js, inner_fiber, &counts[i], NULL) > 0);
    uintptr_t sum = 0;
    for (int i = 0; i < 3; i++) {
        weft_join_set_next jn;
        weft_fiber_output o = {NULL, 1};
        FCHECK_EQ(weft_await(weft_join_set_join_next_init(&jn, js, &o)), 0);
        FCHECK_EQ(jn.result, 0);
        FCHECK_EQ(o.error, 0);
        sum += (uintptr_t)o.value;
    }
    FCHECK_EQ(sum, 2 * (1 + 11 + 21));
    weft_join_set_next jn;
    FCHECK_EQ(weft_await(weft_join_set_join_next_init(&jn, js, NULL)), 0);
    FCHECK_EQ(jn.result, -WEFT_EEMPTY);
    weft_join_set_destroy(js);
    return NULL;
}

static void test_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    run_fiber(rt, tasks_body, NULL);
    weft_runtime_destroy(rt);
}

/* ---- I/O ---------------------------------------------------------------------- */

typedef struct io_pair {
    weft_unix_stream a, b;
} io_pair;

static void *io_writer(void *arg) {
    io_pair *p = arg;
    static const char text[] = "first line\nsecond\nxyz";
    size_t done = 0;
    FCHECK_EQ(weft_fiber_write_all(&p->a.stream, text, sizeof text - 1, &done), 0);
    FCHECK_EQ(done, sizeof text - 1);
    /* A write larger than the socket buffer: the writer suspends until the
     * reader drains it. */
    size_t big = 4u << 20;
    char *buf = malloc(big);
    FCHECK(buf);
    for (size_t i = 0; i < big; i++) buf[i] = (char)(i * 7);
    FCHECK_EQ(weft_fiber_write_all(&p->a.stream, buf, big, NULL), 0);
    free(buf);
    weft_unix_stream_close(&p->a);
    return NULL;
}

static void *io_reader(void *arg) {
    io_pair *p = arg;
    weft_bufreader br;
    FCHECK_EQ(weft_bufreader_init(&br, &p->b.stream, NULL, 64), 0);
    char line[32];
    FCHECK_EQ(weft_fiber_read_line(&br, line, sizeof line), 11);
    FCHECK(strcmp(line, "first line\n") == 0);
    FCHECK_EQ(weft_fiber_read_line(&br, line, sizeof line), 7);
    FCHECK(strcmp(line, "second\n") == 0);
    char three[3];
    size_t done = 0;
    FCHECK_EQ(weft_fiber_read_exact(&br.stream, three, 3, &done), 0);
    FCHECK(memcmp(three, "xyz", 3) == 0);
    size_t big = 4u << 20, got = 0;
    char *buf = malloc(65536);
    FCHECK(buf);
    for (;;) {
        ssize_t n = weft_fiber_read(&br.stream, buf, 65536);
        FCHECK(n >= 0);
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) FCHECK_EQ(buf[i], (char)((got + (size_t)i) * 7));
        got += (size_t)n;
    }
    FCHECK_EQ(got, big);
    FCHECK_EQ(weft_fiber_read_exact(&br.stream, three, 3, &done), -ENODATA);
    FCHECK_EQ(done, 0);
    free(buf);
    weft_bufreader_destroy(&br);
    weft_unix_stream_close(&p->b);
    return NULL;
}

static void *tcp_server(void *arg) {
    weft_tcp_listener *l = arg;
    weft_tcp_stream s;
    FCHECK_EQ(weft_fiber_accept(l, &s), 0);
    char buf[16];
    size_t done;
    FCHECK_EQ(weft_fiber_read_exact(&s.stream, buf, 5, &done), 0);
    FCHECK_EQ(weft_fiber_write_all(&s.stream, buf, 5, NULL), 0);
    weft_tcp_stream_close(&s);
    return NULL;
}

static void *tcp_client(void *arg) {
    char addr[64];
    /* A name: resolved on the blocking pool, another future awaited. */
    snprintf(addr, sizeof addr, "localhost:%u", (unsigned)(uintptr_t)arg);
    weft_tcp_stream s;
    FCHECK_EQ(weft_fiber_connect(&s, addr), 0);
    FCHECK_EQ(weft_fiber_write_all(&s.stream, "hello", 5, NULL), 0);
    char buf[8];
    FCHECK_EQ(weft_fiber_read_exact(&s.stream, buf, 5, NULL), 0);
    FCHECK(memcmp(buf, "hello", 5) == 0);
    FCHECK_EQ(weft_fiber_read(&s.stream, buf, sizeof buf), 0); /* the server closed */
    weft_tcp_stream_close(&s);
    FCHECK_EQ(weft_fiber_connect(&s, "not an address"), -EINVAL);
    return NULL;
}

/* UDP: a datagram each way; an async_fd (a pipe) waited on for reading. */
typedef struct dgram_arg {
    weft_udp_socket a, b;
    int pipe_r, pipe_w;
} dgram_arg;

static void *udp_and_fd_body(void *arg) {
    dgram_arg *d = arg;
    char buf[32];
    weft_dgram_recv r;
    weft_dgram_send s;
    weft_sleep sl;
    weft_join j;
    weft_future *kids[2];
    /* The receive waits until the send (after a sleep) delivers. */
    FCHECK_EQ(weft_await(WEFT_JOIN(&j, kids, weft_udp_recv_init(&r, &d->b, buf, sizeof buf),
                                   weft_sleep_init(&sl, 3))),
              0);
    FCHECK_EQ(r.result, 4);
    FCHECK(memcmp(buf, "ping", 4) == 0);
    FCHECK_EQ(weft_await(weft_udp_send_init(&s, &d->b, "pong", 4)), 0);
    FCHECK_EQ(s.result, 4);

    /* Readiness is a hint (a new registration starts ready): wait, try,
     * clear what turned out stale, wait again. */
    weft_async_fd afd;
    FCHECK_EQ(weft_async_fd_adopt(&afd, weft_runtime_current(), d->pipe_r), 0);
    for (;;) {
        weft_async_fd_ready ready;
        FCHECK_EQ(weft_await(weft_async_fd_ready_init(&ready, &afd, WEFT_INTEREST_READ)), 0);
        FCHECK_EQ(ready.result, 0);
        if (read(d->pipe_r, buf, sizeof buf) == 1) break;
        FCHECK_EQ(errno, EAGAIN);
        weft_async_fd_clear_ready(&afd, &ready.ready);
    }
    weft_async_fd_close(&afd); /* closes pipe_r */
    return NULL;
}

static void *udp_peer(void *arg) {
    dgram_arg *d = arg;
    FCHECK_EQ(weft_fiber_sleep(2), 0);
    weft_dgram_send s;
    FCHECK_EQ(weft_await(weft_udp_send_init(&s, &d->a, "ping", 4)), 0);
    char buf[8];
    weft_dgram_recv r;
    FCHECK_EQ(weft_await(weft_udp_recv_init(&r, &d->a, buf, sizeof buf)), 0);
    FCHECK_EQ(r.result, 4);
    FCHECK_EQ(weft_fiber_sleep(2), 0);
    FCHECK_EQ(write(d->pipe_w, "x", 1), 1); /* the async_fd wait ends */
    return NULL;
}

static void test_udp_and_async_fd(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    dgram_arg d;
    assert_int_equal(weft_udp_bind(&d.a, rt, "127.0.0.1:0"), 0);
    assert_int_equal(weft_udp_bind(&d.b, rt, "127.0.0.1:0"), 0);
    weft_sockaddr aa, ba;
    char text[64];
    assert_int_equal(weft_udp_local_addr(&d.a, &aa), 0);
    assert_int_equal(weft_udp_local_addr(&d.b, &ba), 0);
    assert_int_equal(weft_udp_connect_addr(&d.a, &ba), 0);
    assert_int_equal(weft_udp_connect_addr(&d.b, &aa), 0);
    (void)text;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    d.pipe_r = p[0];
    d.pipe_w = p[1];
    weft_join_handle peer = weft_fiber_spawn(rt, udp_peer, &d, NULL);
    run_fiber(rt, udp_and_fd_body, &d);
    assert_int_equal(weft_block_on(rt, &peer.base), 0);
    assert_int_equal(peer.result, 0);
    close(d.pipe_w);
    weft_udp_close(&d.a);
    weft_udp_close(&d.b);
    weft_runtime_destroy(rt);
}

static void test_io(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    io_pair p;
    assert_int_equal(weft_unix_stream_pair(&p.a, &p.b, rt), 0);
    weft_join_handle w = weft_fiber_spawn(rt, io_writer, &p, NULL);
    run_fiber(rt, io_reader, &p);
    assert_int_equal(weft_block_on(rt, &w.base), 0);
    assert_int_equal(w.result, 0);

    weft_tcp_listener l;
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), 0);
    weft_join_handle srv = weft_fiber_spawn(rt, tcp_server, &l, NULL);
    run_fiber(rt, tcp_client, (void *)(uintptr_t)weft_tcp_listener_port(&l));
    assert_int_equal(weft_block_on(rt, &srv.base), 0);
    weft_tcp_listener_close(&l);
    weft_runtime_destroy(rt);
}

/* ---- sync and channels ------------------------------------------------------- */

typedef struct sync_state {
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
    int counter;
} sync_state;

/* The partner: holds the lock for a while, hands out permits, notifies,
 * and sends on every channel, sleeping in between so the main fiber
 * really waits. */
static void *sync_partner(void *arg) {
    sync_state *s = arg;
    weft_mutex_lock lk;
    FCHECK_EQ(weft_await(weft_mutex_lock_init(&lk, &s->m)), 0);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    s->counter++;
    weft_mutex_unlock(&s->m);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    weft_semaphore_add_permits(&s->sem, 1);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    weft_notify_one(&s->note);
    weft_barrier_wait bw;
    FCHECK_EQ(weft_await(weft_barrier_wait_init(&bw, &s->bar)), 0);
    for (int i = 0; i < 4; i++) {
        weft_mpsc_send snd;
        FCHECK_EQ(weft_await(weft_mpsc_send_init(&snd, s->tx, &i)), 0); /* capacity 1: waits */
        FCHECK_EQ(snd.result, 0);
    }
    weft_mpsc_tx_destroy(&s->tx);
    FCHECK_EQ(weft_fiber_sleep(3), 0);
    int v = 99;
    FCHECK_EQ(weft_oneshot_send(s->otx, &v), 0);
    weft_oneshot_tx_destroy(&s->otx);
    FCHECK_EQ(weft_fiber_sleep(3), 0);
    FCHECK(weft_broadcast_send(s->btx, &v) >= 0);
    FCHECK_EQ(weft_fiber_sleep(3), 0);
    v = 5;
    FCHECK_EQ(weft_watch_send(s->wtx, &v), 0);
    return NULL;
}

static void *sync_body(void *arg) {
    sync_state *s = arg;
    weft_runtime *rt = weft_runtime_current();
    FCHECK_EQ(weft_mutex_try_lock(&s->m), 0); /* held until the partner runs */
    weft_join_handle ph = weft_fiber_spawn(rt, sync_partner, s, NULL);
    FCHECK_EQ(weft_fiber_sleep(2), 0);
    weft_mutex_unlock(&s->m);
    FCHECK_EQ(weft_fiber_sleep(1), 0);
    weft_mutex_lock lk;
    FCHECK_EQ(weft_await(weft_mutex_lock_init(&lk, &s->m)), 0); /* the partner holds it */
    FCHECK_EQ(s->counter, 1);
    weft_mutex_unlock(&s->m);

    weft_semaphore_acquire acq;
    FCHECK_EQ(weft_await(weft_semaphore_acquire_init(&acq, &s->sem)), 0);
    FCHECK_EQ(acq.result, 0);
    weft_semaphore_add_permits(&s->sem, 1);
    weft_notified nd;
    FCHECK_EQ(weft_await(weft_notify_notified_init(&nd, &s->note)), 0);
    weft_rwlock_lock rl;
    FCHECK_EQ(weft_await(weft_rwlock_read_init(&rl, &s->rw)), 0);
    weft_rwlock_read_unlock(&s->rw);
    weft_barrier_wait bw;
    FCHECK_EQ(weft_await(weft_barrier_wait_init(&bw, &s->bar)), 0);

    FCHECK_EQ(weft_fiber_sleep(5), 0); /* the partner blocks on the full channel */
    int sum = 0, v;
    weft_mpsc_recv rcv;
    for (;;) {
        FCHECK_EQ(weft_await(weft_mpsc_recv_init(&rcv, s->rx, &v)), 0);
        if (rcv.result != 0) break;
        sum += v;
    }
    FCHECK_EQ(rcv.result, -WEFT_ECLOSED);
    FCHECK_EQ(sum, 0 + 1 + 2 + 3);
    weft_oneshot_recv orcv;
    FCHECK_EQ(weft_await(weft_oneshot_recv_init(&orcv, s->orx, &v)), 0);
    FCHECK_EQ(orcv.result, 0);
    FCHECK_EQ(v, 99);
    weft_broadcast_recv brcv;
    v = 0;
    FCHECK_EQ(weft_await(weft_broadcast_recv_init(&brcv, s->brx, &v)), 0);
    FCHECK_EQ(brcv.result, 0);
    FCHECK_EQ(v, 99);
    weft_watch_changed wc;
    FCHECK_EQ(weft_await(weft_watch_changed_init(&wc, s->wrx)), 0);
    FCHECK_EQ(wc.result, 0);
    weft_watch_borrow_and_update(s->wrx, &v);
    FCHECK_EQ(v, 5);
    FCHECK_EQ(weft_fiber_join(&ph, NULL), 0);
    return NULL;
}

static void test_sync(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    sync_state s;
    memset(&s, 0, sizeof s);
    weft_mutex_init(&s.m);
    weft_semaphore_init(&s.sem, 0);
    weft_notify_init(&s.note);
    weft_rwlock_init(&s.rw, 0);
    weft_barrier_init(&s.bar, 2);
    assert_int_equal(weft_mpsc_create(sizeof(int), 1, NULL, &s.tx, &s.rx), 0);
    assert_int_equal(weft_oneshot_create(sizeof(int), NULL, &s.otx, &s.orx), 0);
    assert_int_equal(weft_broadcast_create(sizeof(int), 4, NULL, &s.btx, &s.brx), 0);
    int zero = 0;
    assert_int_equal(weft_watch_create(sizeof(int), &zero, NULL, &s.wtx, &s.wrx), 0);
    run_fiber(rt, sync_body, &s);
    weft_runtime_destroy(rt);
    weft_mpsc_rx_destroy(&s.rx);
    weft_oneshot_rx_destroy(&s.orx);
    weft_broadcast_rx_destroy(&s.brx);
    weft_broadcast_tx_destroy(&s.btx);
    weft_watch_rx_destroy(&s.wrx);
    weft_watch_tx_destroy(&s.wtx);
    weft_mutex_destroy(&s.m);
    weft_semaphore_destroy(&s.sem);
    weft_notify_destroy(&s.note);
    weft_rwlock_destroy(&s.rw);
    weft_barrier_destroy(&s.bar);
}

/* ---- spurious wake-ups: the fiber resumes only when its future is ready ------ */

typedef struct gate_arg {
    gate_state gs;
    atomic_int phase; /* 1: the fiber waits on the gate; 2: it got through */
} gate_arg;

static void *gate_body(void *arg) {
    gate_arg *g = arg;
    gate gt;
    atomic_store(&g->phase, 1);
    FCHECK_EQ(weft_await(gate_init(&gt, &g->gs)), 0);
    FCHECK_EQ(gt.out, 42);
    atomic_store(&g->phase, 2);
    return NULL;
}

static void test_spurious_wakeups(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_arg g;
    gate_state_init(&g.gs);
    atomic_init(&g.phase, 0);
    weft_join_handle h = weft_fiber_spawn(rt, gate_body, &g, NULL);
    /* Drive the runtime until the fiber waits (a short sleep on the root). */
    while (atomic_load(&g.gs.polls) == 0) {
        weft_sleep s;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 1)), 0);
    }
    for (int i = 0; i < 50; i++) {
        gate_poke(&g.gs);
        weft_sleep s;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 1)), 0);
        assert_int_equal(atomic_load(&g.phase), 1);
    }
    assert_true(atomic_load(&g.gs.polls) > 1); /* polled again on each wake, not resumed */
    gate_open(&g.gs);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal(atomic_load(&g.phase), 2);
    assert_int_equal(atomic_load(&g.gs.drops), 0);
    gate_state_destroy(&g.gs);
    weft_runtime_destroy(rt);
}

/* ---- bad input ------------------------------------------------------------------ */

static int arg_drops;
static void count_arg_drop(void *arg) {
    (void)arg;
    arg_drops++;
}

static void test_outside_a_fiber(void **state) {
    (void)state;
    gate_state gs;
    gate_state_init(&gs);
    gate g;
    assert_int_equal(weft_await(gate_init(&g, &gs)), -EPERM);
    assert_int_equal(atomic_load(&gs.drops), 1); /* dropped, never polled */
    assert_int_equal(atomic_load(&gs.polls), 0);
    assert_int_equal(weft_await(NULL), -EINVAL);
    assert_false(weft_in_fiber());
    assert_false(weft_fiber_is_cancelled());
    assert_int_equal(weft_fiber_sleep(1), -EPERM);
    assert_int_equal(weft_fiber_yield(), -EPERM);
    gate_state_destroy(&gs);
}

static void *never(void *arg) {
    (void)arg;
    abort();
}

static void test_spawn_errors(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_fiber_options o = {.arg_drop = count_arg_drop};
    arg_drops = 0;
    weft_join_handle h = weft_fiber_spawn(rt, NULL, NULL, &o);
    assert_int_equal(h.state, WEFT_JOIN_FAILED);
    assert_int_equal(h.result, -EINVAL);
    assert_int_equal(arg_drops, 1);
    h = weft_fiber_spawn(NULL, never, NULL, &o);
    assert_int_equal(h.result, -EINVAL);
    assert_int_equal(arg_drops, 2);
    o.stack_size = ((size_t)1 << 30) + 1;
    h = weft_fiber_spawn(rt, never, NULL, &o);
    assert_int_equal(h.result, -EINVAL);
    assert_int_equal(arg_drops, 3);
    assert_int_equal(weft_join_set_spawn_fiber(NULL, never, NULL, &o), -EINVAL);
    assert_int_equal(arg_drops, 4);
    /* A JoinSet whose outputs are too small for a fiber's. */
    weft_join_set *js;
    o.stack_size = 0;
    assert_int_equal(weft_join_set_create(&js, rt, 1, NULL), 0);
    assert_int_equal(weft_join_set_spawn_fiber(js, never, NULL, &o), -EINVAL);
    assert_int_equal(arg_drops, 5);
    weft_join_set_destroy(js);

    /* The runtime option is checked at creation. */
    weft_runtime_options ro = test_runtime_options();
    ro.fiber_stack_size = ((size_t)1 << 30) + 1;
    weft_runtime *bad = NULL;
    assert_int_equal(weft_runtime_create(&bad, &ro), -EINVAL);

    /* A spawn through a held reference after destroy. */
    weft_runtime *held = weft_runtime_ref(rt);
    weft_runtime_destroy(rt);
    h = weft_fiber_spawn(held, never, NULL, &o);
    assert_int_equal(h.result, -ESHUTDOWN);
    assert_int_equal(arg_drops, 6);
    weft_runtime_unref(held);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_fiber_in_coroutine_and_root),
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_udp_and_async_fd),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_spurious_wakeups),
        cmocka_unit_test(test_outside_a_fiber),
        cmocka_unit_test(test_spawn_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
