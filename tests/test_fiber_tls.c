/* Threads and thread-locals: a fiber stays on the thread it started on
 * (multi_thread: its task is pinned to its worker) although its wake-ups
 * come from other workers, plain threads and timers, and the tasks around
 * it migrate; so a thread-local address taken before an await (as
 * compilers keep errno's) is still the fiber's thread's after it. errno is
 * the fiber's own across awaits, like a thread's across blocking calls,
 * although other fibers on the same thread change it meanwhile.
 * weft-test: threaded  weft-test: timeout=300 */
#include <pthread.h>

#include "fiber_support.h"

static _Thread_local int tls_probe;

typedef struct shared {
    weft_mpsc_tx *to_echo;   /* requests to the echo coroutine */
    gate_state gates[128];   /* one per fiber: a gate keeps one waker */
    atomic_int fibers_done, moved, errno_lost;
    atomic_bool stop_poker;
} shared;

typedef struct req {
    weft_oneshot_tx *reply;
    int value;
} req;

/* A coroutine task that answers every request: it is not pinned, so on a
 * multi_thread runtime it runs wherever it is woken. */
typedef struct echo {
    WEFT_CORO_FIELDS;
    weft_mpsc_rx *rx;
    weft_mpsc_recv r;
    req q;
} echo;

WEFT_ASYNC(echo, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->rx, &self->q));
        if (self->r.result != 0) break;
        int v = self->q.value + 1;
        weft_oneshot_send(self->q.reply, &v);
        weft_oneshot_tx_destroy(&self->q.reply);
    }
    WEFT_END();
}

#define ITERS 300

typedef struct fiber_arg {
    shared *sh;
    int id;
} fiber_arg;

static void *member(void *p) {
    fiber_arg *a = p;
    shared *sh = a->sh;
    pthread_t home = pthread_self();
    int *my_errno = &errno;         /* what a compiler keeps across calls */
    int *my_probe = &tls_probe;
    for (int i = 0; i < ITERS; i++) {
        errno = 1000 + a->id;       /* other fibers on this thread set theirs meanwhile */
        *my_probe = a->id;
        int rc;
        switch (i % 4) {
        case 0: { /* woken by an unpinned task, from wherever it runs */
            weft_oneshot_tx *tx;
            weft_oneshot_rx *rx;
            FCHECK_EQ(weft_oneshot_create(sizeof(int), NULL, &tx, &rx), 0);
            req q = {tx, i};
            weft_mpsc_send s;
            FCHECK_EQ(weft_await(weft_mpsc_send_init(&s, sh->to_echo, &q)), 0);
            FCHECK_EQ(s.result, 0);
            int v = 0;
            weft_oneshot_recv r;
            rc = weft_await(weft_oneshot_recv_init(&r, rx, &v));
            FCHECK_EQ(r.result, 0);
            FCHECK_EQ(v, i + 1);
            weft_oneshot_rx_destroy(&rx);
            break;
        }
        case 1: /* woken by a timer, fired by whichever worker holds the wheel */
            rc = weft_fiber_sleep(1);
            break;
        case 2: { /* woken by a plain thread */
            gate g;
            gate_state *gs = &sh->gates[a->id];
            rc = weft_await(gate_init(&g, gs));
            pthread_mutex_lock(&gs->lock); /* closed again for the next round */
            gs->open = false;
            pthread_mutex_unlock(&gs->lock);
            break;
        }
        default: /* back into the queue, where idle workers steal from */
            rc = weft_fiber_yield();
            break;
        }
        FCHECK_EQ(rc, 0);
        if (!pthread_equal(home, pthread_self())) atomic_fetch_add(&sh->moved, 1);
        if (my_errno != &errno || my_probe != &tls_probe) atomic_fetch_add(&sh->moved, 1);
        if (errno != 1000 + a->id) atomic_fetch_add(&sh->errno_lost, 1);
    }
    atomic_fetch_add(&sh->fibers_done, 1);
    return NULL;
}

/* Keeps opening every gate; each fiber closes its own after passing it. */
static void *poker(void *p) {
    shared *sh = p;
    while (!atomic_load(&sh->stop_poker)) {
        for (int i = 0; i < 128; i++) gate_open(&sh->gates[i]);
        usleep(200);
    }
    return NULL;
}

static void test_fibers_stay_home(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    shared sh;
    memset(&sh, 0, sizeof sh);
    for (int i = 0; i < 128; i++) gate_state_init(&sh.gates[i]);
    weft_mpsc_rx *rx;
    assert_int_equal(weft_mpsc_create(sizeof(req), WEFT_MPSC_UNBOUNDED, NULL, &sh.to_echo, &rx), 0);
    echo e;
    echo_start(&e);
    e.rx = rx;
    weft_join_handle eh = WEFT_SPAWN(rt, &e, q, NULL);
    pthread_t pk;
    assert_int_equal(pthread_create(&pk, NULL, poker, &sh), 0);

    enum { N = 128 };
    fiber_arg args[N];
    weft_join_handle hs[N];
    for (int i = 0; i < N; i++) {
        args[i] = (fiber_arg){&sh, i};
        hs[i] = weft_fiber_spawn(rt, member, &args[i], NULL);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    atomic_store(&sh.stop_poker, true);
    pthread_join(pk, NULL);
    assert_int_equal(atomic_load(&sh.fibers_done), N);
    assert_int_equal(atomic_load(&sh.moved), 0);
    assert_int_equal(atomic_load(&sh.errno_lost), 0);
    weft_mpsc_tx_destroy(&sh.to_echo);
    assert_int_equal(weft_block_on(rt, &eh.base), 0);
    weft_mpsc_rx_destroy(&rx);
    weft_runtime_destroy(rt);
    for (int i = 0; i < 128; i++) gate_state_destroy(&sh.gates[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fibers_stay_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
