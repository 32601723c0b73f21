/* Many futures waiting on one socket: eight tasks accepting on one
 * listener, sixteen receiving on one UDP socket, with tasks aborted at
 * random moments (and replaced) while connections and datagrams arrive.
 * Every connection and every datagram must reach exactly one task, every
 * task still waiting must get one (a lost wake-up leaves it asleep: the
 * round then fails by its time limit), and once all are done or dropped no
 * waiter is left on the socket. Each case runs on both backends; the
 * runtime is the suite's. WEFT_WAITERS_ROUNDS sets the number of rounds
 * (the stress loop runs thousands), WEFT_WAITERS_SEED the random seed.
 * weft-test: io  weft-test: threaded  weft-test: timeout=900 */
#include "net_support.h"
#include "io/registration.h"

#define ACCEPTORS 8
#define RECEIVERS 16
#define DEFAULT_ROUNDS 1000
#define ROUND_LIMIT_MS 20000 /* a round that takes this long lost a wake-up */

static unsigned env_uint(const char *name, unsigned dflt) {
    const char *v = getenv(name);
    return v && *v ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

static uint32_t rng_next(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x ? x : 0x9e3779b9u;
}

/* The waiters left on a registration (taken under its lock). */
static size_t waiters_left(weft_io_reg *r) {
    spin_lock(&r->lock);
    size_t n = r->nwait[0] + r->nwait[1];
    bool empty = weft__list_empty(&r->waiters);
    spin_unlock(&r->lock);
    if (!empty && n == 0) n = 1000; /* a node linked but not counted */
    return n;
}

static weft_runtime *rt_on(weft_io_backend b) {
    weft_runtime_options o = test_runtime_options();
    o.io_backend = b;
    weft_runtime *rt = NULL;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    return rt;
}

/* ---- accepting ------------------------------------------------------------ */

typedef struct accept_board {
    atomic_uint accepted, errors;
    atomic_int last_error;
    _Atomic uint16_t ports[ACCEPTORS];
} accept_board;

/* Accepts exactly one connection, records its peer port in the same poll
 * (so an abort either comes before, dropping the pending accept, or after,
 * finding the task complete), and closes it. */
typedef struct acceptor {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    accept_board *b;
    weft_tcp_accept acc;
    int got; /* output: 1 once it accepted */
} acceptor;

WEFT_ASYNC(acceptor, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
    if (self->acc.result == 0) {
        unsigned i = atomic_fetch_add(&self->b->accepted, 1);
        if (i < ACCEPTORS) atomic_store(&self->b->ports[i], weft_sockaddr_port(&self->acc.peer));
        weft_tcp_stream_close(&self->acc.stream);
        self->got = 1;
    } else {
        atomic_fetch_add(&self->b->errors, 1);
        atomic_store(&self->b->last_error, self->acc.result);
    }
    WEFT_END();
}

typedef struct accept_case {
    WEFT_CORO_FIELDS;
    unsigned rounds, round;
    uint32_t seed;
    weft_tcp_listener l;
    weft_sockaddr target;
    accept_board b;
    acceptor tmpl;
    weft_join_handle h[ACCEPTORS];
    int got[ACCEPTORS];
    bool live[ACCEPTORS];
    weft_tcp_stream clients[ACCEPTORS];
    uint16_t client_ports[ACCEPTORS];
    weft_tcp_connect c;
    weft_timeout t;
    int i, k;
    unsigned aborts, respawns;
} accept_case;

static void spawn_acceptor(accept_case *self, weft_runtime *rt, int i) {
    acceptor_start(&self->tmpl);
    self->tmpl.l = &self->l;
    self->tmpl.b = &self->b;
    self->tmpl.got = 0;
    self->got[i] = 0;
    self->h[i] = WEFT_SPAWN(rt, &self->tmpl, got, &self->got[i]);
    self->live[i] = true;
}

WEFT_ASYNC(accept_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 64), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->target), 0);
    for (self->round = 0; self->round < self->rounds; self->round++) {
        memset(&self->b, 0, sizeof self->b);
        for (self->i = 0; self->i < ACCEPTORS; self->i++) spawn_acceptor(self, cx->runtime, self->i);
        for (self->k = 0; self->k < ACCEPTORS; self->k++) {
            /* Abort some acceptors: waiting ones leave the listener (a
             * replacement takes their place), ones that already accepted
             * are left as they are. */
            for (self->i = 0; self->i < ACCEPTORS; self->i++) {
                if (!self->live[self->i] || rng_next(&self->seed) % 6) continue;
                self->aborts++;
                weft_join_handle_abort(&self->h[self->i]);
                WEFT_AWAIT(&self->h[self->i].base);
                self->live[self->i] = false;
                if (self->h[self->i].result == -ECANCELED && !self->got[self->i]) {
                    self->respawns++;
                    spawn_acceptor(self, cx->runtime, self->i);
                }
            }
            /* A connection completes in the kernel and waits in the queue. */
            WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->target));
            assert_int_equal(self->c.result, 0);
            self->clients[self->k] = self->c.stream;
            {
                weft_sockaddr la;
                assert_int_equal(weft_tcp_stream_local_addr(&self->clients[self->k], &la), 0);
                self->client_ports[self->k] = weft_sockaddr_port(&la);
            }
        }
        /* Every acceptor still waiting must get one of the queued
         * connections; nobody sleeps through its wake-up. */
        for (self->i = 0; self->i < ACCEPTORS; self->i++) {
            if (!self->live[self->i]) continue;
            WEFT_AWAIT(weft_timeout_init(&self->t, &self->h[self->i].base, ROUND_LIMIT_MS));
            if (self->t.result == -ETIMEDOUT)
                fail_msg("round %u: lost wake-up, %u of %d connections accepted (seed %u)",
                         self->round, atomic_load(&self->b.accepted), ACCEPTORS, self->seed);
            assert_int_equal(self->h[self->i].result, 0);
            assert_int_equal(self->got[self->i], 1);
            self->live[self->i] = false;
        }
        /* Every connection accounted for, once. */
        assert_int_equal(atomic_load(&self->b.accepted), ACCEPTORS);
        assert_int_equal(atomic_load(&self->b.errors), 0);
        for (self->k = 0; self->k < ACCEPTORS; self->k++) {
            int seen = 0;
            for (self->i = 0; self->i < ACCEPTORS; self->i++)
                seen += atomic_load(&self->b.ports[self->i]) == self->client_ports[self->k];
            if (seen != 1) fail_msg("round %u: client port %u accepted %d times", self->round, self->client_ports[self->k], seen);
            weft_tcp_stream_close(&self->clients[self->k]);
        }
        /* Nothing left waiting on the listener. */
        assert_int_equal(waiters_left(self->l.io.reg), 0);
    }
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void run_accept(weft_io_backend backend) {
    int fds = fd_count();
    weft_runtime *rt = rt_on(backend);
    accept_case *t = calloc(1, sizeof *t);
    accept_case_start(t);
    t->rounds = env_uint("WEFT_WAITERS_ROUNDS", DEFAULT_ROUNDS);
    t->seed = env_uint("WEFT_WAITERS_SEED", (unsigned)time(NULL) | 1);
    uint32_t seed = t->seed;
    uint64_t t0 = mono_ns();
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    print_message("%s/%s: %u rounds x %d acceptors, %u aborts (%u replaced), %.1f ms, seed %u\n",
                  backend_name(rt), test_is_multi_thread() ? "multi_thread" : "current_thread",
                  t->rounds, ACCEPTORS, t->aborts, t->respawns, (double)(mono_ns() - t0) / 1e6, seed);
    weft_runtime_destroy(rt);
    free(t);
    assert_int_equal(fd_count(), fds);
}

static void test_acceptors_epoll(void **state) {
    (void)state;
    run_accept(WEFT_IO_EPOLL);
}

static void test_acceptors_poll(void **state) {
    (void)state;
    run_accept(WEFT_IO_POLL);
}

/* ---- receiving ------------------------------------------------------------ */

typedef struct recv_board {
    atomic_uint received, errors, bad;
    atomic_uint seen[RECEIVERS]; /* times each datagram id was received */
} recv_board;

/* Receives exactly one datagram and records its id in the same poll. */
typedef struct receiver {
    WEFT_CORO_FIELDS;
    weft_udp_socket *u;
    recv_board *b;
    weft_dgram_recv r;
    uint32_t id;
    int got; /* output */
} receiver;

WEFT_ASYNC(receiver, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_udp_recv_init(&self->r, self->u, &self->id, sizeof self->id));
    if (self->r.result == (ssize_t)sizeof self->id && self->id < RECEIVERS) {
        atomic_fetch_add(&self->b->seen[self->id], 1);
        atomic_fetch_add(&self->b->received, 1);
        self->got = 1;
    } else if (self->r.result < 0) {
        atomic_fetch_add(&self->b->errors, 1);
    } else {
        atomic_fetch_add(&self->b->bad, 1);
    }
    WEFT_END();
}

typedef struct recv_case {
    WEFT_CORO_FIELDS;
    unsigned rounds, round;
    uint32_t seed;
    weft_udp_socket rx, tx;
    weft_sockaddr rx_addr;
    recv_board b;
    receiver tmpl;
    weft_join_handle h[RECEIVERS];
    int got[RECEIVERS];
    bool live[RECEIVERS];
    weft_dgram_send s;
    weft_timeout t;
    uint32_t id;
    int i;
    unsigned aborts, respawns;
} recv_case;

static void spawn_receiver(recv_case *self, weft_runtime *rt, int i) {
    receiver_start(&self->tmpl);
    self->tmpl.u = &self->rx;
    self->tmpl.b = &self->b;
    self->tmpl.got = 0;
    self->got[i] = 0;
    self->h[i] = WEFT_SPAWN(rt, &self->tmpl, got, &self->got[i]);
    self->live[i] = true;
}

WEFT_ASYNC(recv_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_udp_bind(&self->rx, cx->runtime, "127.0.0.1:0"), 0);
    assert_int_equal(weft_udp_bind(&self->tx, cx->runtime, "127.0.0.1:0"), 0);
    assert_int_equal(weft_udp_local_addr(&self->rx, &self->rx_addr), 0);
    for (self->round = 0; self->round < self->rounds; self->round++) {
        memset(&self->b, 0, sizeof self->b);
        for (self->i = 0; self->i < RECEIVERS; self->i++) spawn_receiver(self, cx->runtime, self->i);
        for (self->id = 0; self->id < RECEIVERS; self->id++) {
            for (self->i = 0; self->i < RECEIVERS; self->i++) {
                if (!self->live[self->i] || rng_next(&self->seed) % 10) continue;
                self->aborts++;
                weft_join_handle_abort(&self->h[self->i]);
                WEFT_AWAIT(&self->h[self->i].base);
                self->live[self->i] = false;
                if (self->h[self->i].result == -ECANCELED && !self->got[self->i]) {
                    self->respawns++;
                    spawn_receiver(self, cx->runtime, self->i);
                }
            }
            WEFT_AWAIT(weft_udp_send_to_init(&self->s, &self->tx, &self->id, sizeof self->id, &self->rx_addr));
            assert_int_equal(self->s.result, (ssize_t)sizeof self->id);
        }
        for (self->i = 0; self->i < RECEIVERS; self->i++) {
            if (!self->live[self->i]) continue;
            WEFT_AWAIT(weft_timeout_init(&self->t, &self->h[self->i].base, ROUND_LIMIT_MS));
            if (self->t.result == -ETIMEDOUT)
                fail_msg("round %u: lost wake-up, %u of %d datagrams received (seed %u)",
                         self->round, atomic_load(&self->b.received), RECEIVERS, self->seed);
            assert_int_equal(self->h[self->i].result, 0);
            assert_int_equal(self->got[self->i], 1);
            self->live[self->i] = false;
        }
        assert_int_equal(atomic_load(&self->b.received), RECEIVERS);
        assert_int_equal(atomic_load(&self->b.errors) + atomic_load(&self->b.bad), 0);
        for (self->i = 0; self->i < RECEIVERS; self->i++) {
            if (atomic_load(&self->b.seen[self->i]) != 1)
                fail_msg("round %u: datagram %d received %u times", self->round, self->i,
                         atomic_load(&self->b.seen[self->i]));
        }
        assert_int_equal(waiters_left(self->rx.io.reg), 0);
    }
    weft_udp_close(&self->rx);
    weft_udp_close(&self->tx);
    WEFT_END();
}

static void run_recv(weft_io_backend backend) {
    int fds = fd_count();
    weft_runtime *rt = rt_on(backend);
    recv_case *t = calloc(1, sizeof *t);
    recv_case_start(t);
    t->rounds = env_uint("WEFT_WAITERS_ROUNDS", DEFAULT_ROUNDS);
    t->seed = env_uint("WEFT_WAITERS_SEED", (unsigned)time(NULL) | 1);
    uint32_t seed = t->seed;
    uint64_t t0 = mono_ns();
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    print_message("%s/%s: %u rounds x %d receivers, %u aborts (%u replaced), %.1f ms, seed %u\n",
                  backend_name(rt), test_is_multi_thread() ? "multi_thread" : "current_thread",
                  t->rounds, RECEIVERS, t->aborts, t->respawns, (double)(mono_ns() - t0) / 1e6, seed);
    weft_runtime_destroy(rt);
    free(t);
    assert_int_equal(fd_count(), fds);
}

static void test_receivers_epoll(void **state) {
    (void)state;
    run_recv(WEFT_IO_EPOLL);
}

static void test_receivers_poll(void **state) {
    (void)state;
    run_recv(WEFT_IO_POLL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acceptors_epoll),
        cmocka_unit_test(test_acceptors_poll),
        cmocka_unit_test(test_receivers_epoll),
        cmocka_unit_test(test_receivers_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
