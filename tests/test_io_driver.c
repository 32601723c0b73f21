/* The I/O driver and its registrations, white-box: backend selection, the
 * readiness/tick protocol (a clear after an event that arrived meanwhile
 * does nothing; readiness that arrives while a waker registers is seen),
 * one waker slot per direction, deferred release of registrations, and,
 * across threads: a driver thread racing a polling thread, registration
 * and deregistration from a thread that is not the driver's while the
 * driver waits, and remote wakes interrupting a park.
 * weft-test: io  weft-test: threaded  weft-test: timeout=300 */
#include <pthread.h>
#include <sys/eventfd.h>

#include "net_support.h"
#include "io/registration.h"

static weft_runtime *rt_with(weft_io_backend b) {
    weft_runtime_options o = {0};
    o.io_backend = b;
    weft_runtime *rt = NULL;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    return rt;
}

static void test_backend_selection(void **state) {
    (void)state;
    const char *env = getenv("WEFT_IO_BACKEND");
    char saved[32] = "";
    if (env) snprintf(saved, sizeof saved, "%s", env);
    weft_runtime *rt = rt_with(WEFT_IO_EPOLL);
    assert_string_equal(backend_name(rt), "epoll");
    weft_runtime_destroy(rt);
    rt = rt_with(WEFT_IO_POLL);
    assert_string_equal(backend_name(rt), "poll");
    weft_runtime_destroy(rt);
    setenv("WEFT_IO_BACKEND", "poll", 1);
    rt = rt_with(WEFT_IO_DEFAULT);
    assert_string_equal(backend_name(rt), "poll");
    weft_runtime_destroy(rt);
    setenv("WEFT_IO_BACKEND", "epoll", 1);
    rt = rt_with(WEFT_IO_DEFAULT);
    assert_string_equal(backend_name(rt), "epoll");
    weft_runtime_destroy(rt);
    if (env) setenv("WEFT_IO_BACKEND", saved, 1);
    else unsetenv("WEFT_IO_BACKEND");
    weft_runtime_options bad = {.io_backend = (weft_io_backend)7};
    assert_int_equal(weft_runtime_create(&rt, &bad), -EINVAL);
}

/* ---- the readiness protocol ------------------------------------------------ */

static weft_io_reg *reg_eventfd(weft_runtime *rt, int *fd_out) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(fd >= 0);
    weft_io_reg *r = NULL;
    assert_int_equal(weft__io_register(rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE, &r), 0);
    if (fd_out) *fd_out = fd;
    return r;
}

static void test_tick_protocol(void **state) {
    (void)state;
    int fds = fd_count();
    /* current_thread: this thread may then turn the driver by hand. */
    weft_runtime *rt = rt_with(WEFT_IO_DEFAULT);
    weft_driver *d = weft__runtime_driver(rt);
    size_t regs0 = registrations(rt);
    weft_io_reg *r = reg_eventfd(rt, NULL);
    assert_int_equal(registrations(rt), regs0 + 1);
    counting_waker rw = {0}, ww = {0};
    weft_context rcx = weft_context_make(counting_waker_get(&rw));
    weft_context wcx = weft_context_make(counting_waker_get(&ww));
    weft_io_ready ev, ev2;
    int err;

    /* Optimistic start: ready to try. */
    assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, NULL, &ev, &err), WEFT_READY);
    assert_int_equal(err, 0);
    assert_true(ev.ready & WEFT_IO_READABLE);
    /* "read() said EAGAIN" — but an event arrived in between: the clear,
     * made with the old tick, must not erase the new readiness. */
    weft__io_set_ready(r, WEFT_IO_READABLE);
    weft__io_clear_ready(r, &ev);
    assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, NULL, &ev2, &err), WEFT_READY);
    assert_int_equal(ev2.tick, ev.tick + 1);
    /* A clear with the current tick works. */
    weft__io_clear_ready(r, &ev2);
    assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, NULL, &ev, &err), WEFT_PENDING);
    assert_int_equal(atomic_load(&rw.clones), 1);
    assert_true(weft__io_state(r) & REG_WAIT_READ);
    /* Polling again with the same waker clones nothing. */
    assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, NULL, &ev, &err), WEFT_PENDING);
    assert_int_equal(atomic_load(&rw.clones), 1);
    /* Write readiness does not wake the reader. */
    weft__io_set_ready(r, WEFT_IO_WRITABLE);
    assert_int_equal(atomic_load(&rw.wakes), 0);
    /* The writer has its own slot. */
    assert_int_equal(weft__io_poll_ready(r, &wcx, WEFT_INTEREST_WRITE, NULL, &ev, &err), WEFT_READY);
    weft__io_clear_ready(r, &ev);
    assert_int_equal(weft__io_poll_ready(r, &wcx, WEFT_INTEREST_WRITE, NULL, &ev, &err), WEFT_PENDING);
    /* Read readiness wakes the reader, once, and empties its slot. */
    weft__io_set_ready(r, WEFT_IO_READABLE);
    assert_int_equal(atomic_load(&rw.wakes), 1);
    assert_int_equal(atomic_load(&ww.wakes), 0);
    assert_false(weft__io_state(r) & REG_WAIT_READ);
    weft__io_set_ready(r, WEFT_IO_READABLE);
    assert_int_equal(atomic_load(&rw.wakes), 1);
    /* Hang-up wakes the writer. */
    weft__io_set_ready(r, WEFT_IO_WRITE_CLOSED);
    assert_int_equal(atomic_load(&ww.wakes), 1);
    /* A ready answer leaves no waker behind. */
    assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, NULL, &ev, &err), WEFT_READY);
    weft__io_clear_ready(r, &ev);
    assert_int_equal(atomic_load(&rw.clones), atomic_load(&rw.drops)); /* woken or dropped */
    /* A future's node: queued while pending, gone when dropped, and the
     * waiter bit goes with the last waiter. */
    {
        weft_io_waiter node;
        weft__io_waiter_init(&node);
        assert_int_equal(weft__io_poll_ready(r, &rcx, WEFT_INTEREST_READ, &node, &ev, &err), WEFT_PENDING);
        assert_true(weft__io_state(r) & REG_WAIT_READ);
        assert_int_equal(r->nwait[0], 1);
        weft__io_waiter_cancel(&node); /* the pending future was dropped */
        assert_int_equal(r->nwait[0], 0);
        assert_true(weft__list_empty(&r->waiters));
        assert_false(weft__io_state(r) & REG_WAIT_READ);
        assert_int_equal(atomic_load(&rw.clones), atomic_load(&rw.drops));
    }

    /* Deregistration: freed at the driver's next turn, not before. */
    size_t cached = d->cache_len;
    weft__io_deregister(r);
    assert_int_equal(atomic_load(&d->pending_count), 1);
    assert_int_equal(registrations(rt), regs0);
    weft__driver_park(d, 0);
    assert_int_equal(atomic_load(&d->pending_count), 0);
    assert_int_equal(d->cache_len, cached + 1);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
    /* Every clone was released: woken or dropped. */
    assert_int_equal(atomic_load(&rw.clones), atomic_load(&rw.drops));
    assert_int_equal(atomic_load(&ww.clones), atomic_load(&ww.drops));
}

/* ---- a driver thread racing a polling thread ---------------------------------- */

#define RACE_EVENTS 200000

typedef struct race {
    weft_io_reg *r;
    atomic_int woken;
    atomic_bool done;
    atomic_ulong events;
} race;

static weft_waker flag_clone(void *p);
static void flag_wake(void *p) { atomic_store(&((race *)p)->woken, 1); }
static void flag_drop(void *p) { (void)p; }
static const weft_waker_vtable flag_vtable = {flag_clone, flag_wake, flag_wake, flag_drop};
static weft_waker flag_clone(void *p) { return (weft_waker){&flag_vtable, p}; }

static void *driver_side(void *p) {
    race *rc = p;
    for (unsigned long i = 0; i < RACE_EVENTS; i++) {
        weft__io_set_ready(rc->r, WEFT_IO_READABLE);
        atomic_store(&rc->events, i + 1);
        if (i % 64 == 0) sched_yield();
    }
    atomic_store(&rc->done, true);
    weft__io_set_ready(rc->r, WEFT_IO_READABLE);
    return NULL;
}

static void test_readiness_race(void **state) {
    (void)state;
    weft_runtime *rt = rt_with(WEFT_IO_DEFAULT); /* nobody else drives it */
    race rc = {0};
    rc.r = reg_eventfd(rt, NULL);
    weft_context cx = weft_context_make((weft_waker){&flag_vtable, &rc});
    pthread_t th;
    pthread_create(&th, NULL, driver_side, &rc);
    unsigned long waits = 0, readies = 0;
    for (;;) {
        weft_io_ready ev;
        int err;
        atomic_store(&rc.woken, 0);
        if (weft__io_poll_ready(rc.r, &cx, WEFT_INTEREST_READ, NULL, &ev, &err) == WEFT_READY) {
            readies++;
            /* the "read" found nothing: clear what we saw */
            weft__io_clear_ready(rc.r, &ev);
            if (atomic_load(&rc.done) && !(weft__io_state(rc.r) & WEFT_IO_READABLE)) break;
            continue;
        }
        /* Pending: a wake must come (the last event follows `done`). */
        waits++;
        uint64_t t0 = mono_ns();
        while (!atomic_load(&rc.woken)) {
            if (mono_ns() - t0 > 10ull * 1000000000u) fail_msg("lost wake-up after %lu events", atomic_load(&rc.events));
            sched_yield();
        }
        if (atomic_load(&rc.done) && atomic_load(&rc.events) == RACE_EVENTS) {
            /* one more look: the final event's readiness */
            weft_io_ready e2;
            if (weft__io_poll_ready(rc.r, &cx, WEFT_INTEREST_READ, NULL, &e2, &err) == WEFT_READY) break;
        }
    }
    pthread_join(th, NULL);
    assert_true(readies > 0);
    (void)waits;
    weft__io_deregister(rc.r);
    weft_runtime_destroy(rt);
}

/* ---- many waiters racing a driver thread -------------------------------------- */

/*
 * Readers and writers, each with its own wait node (one reader uses the
 * stream slot instead), race a "driver" thread that publishes read and
 * write events without pause. A waiter that goes pending must be woken by
 * the second event of its direction that completes after it queued (the
 * first may have been published before it queued): that is checked
 * exactly, by counting events, with no time limit. Waiters also drop their
 * node at random (a cancelled future) and poll again while queued (a
 * spurious poll). At the end no node is left in the list.
 */
#define WR_NODE_READERS 4
#define WR_NODE_WRITERS 2
#define WR_POLLERS (WR_NODE_READERS + 1 + WR_NODE_WRITERS)
#define WR_ITERATIONS 20000

typedef struct wrace {
    weft_io_reg *r;
    atomic_bool stop;
    atomic_ulong events[2]; /* completed set_ready calls per direction */
    atomic_int failures;
} wrace;

typedef struct wpoller {
    wrace *rc;
    int dir;        /* WEFT_INTEREST_READ / _WRITE */
    bool slot;      /* wait in the direction's slot (a stream) */
    atomic_int woken;
    unsigned long waits, cancels, repolls;
    uint32_t rng;
} wpoller;

static weft_waker wp_clone(void *p);
static void wp_wake(void *p) { atomic_store(&((wpoller *)p)->woken, 1); }
static void wp_drop(void *p) { (void)p; }
static const weft_waker_vtable wp_vtable = {wp_clone, wp_wake, wp_wake, wp_drop};
static weft_waker wp_clone(void *p) { return (weft_waker){&wp_vtable, p}; }

static void *wpoller_main(void *p) {
    wpoller *w = p;
    wrace *rc = w->rc;
    int di = w->dir == WEFT_INTEREST_READ ? 0 : 1;
    weft_io_waiter node;
    weft__io_waiter_init(&node);
    weft_context cx = weft_context_make((weft_waker){&wp_vtable, w});
    for (int i = 0; i < WR_ITERATIONS && !atomic_load(&rc->failures); i++) {
        weft_io_ready ev;
        int err;
        atomic_store(&w->woken, 0);
        if (weft__io_poll_ready(rc->r, &cx, w->dir, w->slot ? NULL : &node, &ev, &err) == WEFT_READY) {
            weft__io_clear_ready(rc->r, &ev); /* "the call said EAGAIN" */
            continue;
        }
        unsigned long e0 = atomic_load(&rc->events[di]);
        w->rng = w->rng * 1103515245u + 12345u;
        unsigned pick = (w->rng >> 16) % 8;
        if (!w->slot && pick == 0) { /* the future is dropped */
            w->cancels++;
            weft__io_waiter_cancel(&node);
            continue;
        }
        if (pick == 1) { /* polled again while queued */
            w->repolls++;
            continue;
        }
        w->waits++;
        while (!atomic_load(&w->woken)) {
            if (atomic_load(&rc->events[di]) >= e0 + 2) {
                if (atomic_load(&w->woken)) break;
                fprintf(stderr, "lost wake-up: %s %s, events %lu -> %lu\n",
                        w->slot ? "slot" : "node", di ? "writer" : "reader", e0,
                        atomic_load(&rc->events[di]));
                atomic_fetch_add(&rc->failures, 1);
                break;
            }
            sched_yield();
        }
    }
    weft__io_waiter_cancel(&node);
    return NULL;
}

static void *wdriver_main(void *p) {
    wrace *rc = p;
    for (unsigned long i = 0; !atomic_load(&rc->stop); i++) {
        int di = (i % 3 == 2) ? 1 : 0;
        weft__io_set_ready(rc->r, di ? WEFT_IO_WRITABLE : WEFT_IO_READABLE);
        atomic_fetch_add(&rc->events[di], 1);
        if (i % 16 == 0) sched_yield();
    }
    return NULL;
}

static void run_waiters_race(weft_io_backend b) {
    weft_runtime *rt = rt_with(b); /* nobody else drives it */
    wrace rc;
    memset(&rc, 0, sizeof rc);
    rc.r = reg_eventfd(rt, NULL);
    wpoller w[WR_POLLERS];
    pthread_t th[WR_POLLERS], drv;
    memset(w, 0, sizeof w);
    for (int i = 0; i < WR_POLLERS; i++) {
        w[i].rc = &rc;
        w[i].dir = i < WR_NODE_READERS + 1 ? WEFT_INTEREST_READ : WEFT_INTEREST_WRITE;
        w[i].slot = i == WR_NODE_READERS;
        w[i].rng = 7u + (unsigned)i * 7919u;
    }
    pthread_create(&drv, NULL, wdriver_main, &rc);
    for (int i = 0; i < WR_POLLERS; i++) pthread_create(&th[i], NULL, wpoller_main, &w[i]);
    for (int i = 0; i < WR_POLLERS; i++) pthread_join(th[i], NULL);
    atomic_store(&rc.stop, true);
    pthread_join(drv, NULL);
    assert_int_equal(atomic_load(&rc.failures), 0);
    unsigned long waits = 0, cancels = 0, repolls = 0;
    for (int i = 0; i < WR_POLLERS; i++) {
        waits += w[i].waits;
        cancels += w[i].cancels;
        repolls += w[i].repolls;
    }
    print_message("%s: %lu waits, %lu cancels, %lu re-polls, %lu+%lu events\n", backend_name(rt),
                  waits, cancels, repolls, atomic_load(&rc.events[0]), atomic_load(&rc.events[1]));
    assert_true(waits > 0);
    /* Every node left the list (the slot reader may have left its waker,
     * as a dropped stream read does). */
    assert_true(weft__list_empty(&rc.r->waiters));
    assert_int_equal(rc.r->nwait[0] + rc.r->nwait[1], 0);
    weft__io_deregister(rc.r);
    weft_runtime_destroy(rt);
}

static void test_waiters_race_epoll(void **state) {
    (void)state;
    run_waiters_race(WEFT_IO_EPOLL);
}

static void test_waiters_race_poll(void **state) {
    (void)state;
    run_waiters_race(WEFT_IO_POLL);
}

/*
 * The same waiters against a driver that publishes a short burst of events
 * (racing the waiters as they wake, try and queue again) and then waits
 * until every waiter sleeps, as an edge-triggered reactor goes quiet when
 * nothing drains the socket. A waiter that then sleeps while its
 * direction's readiness is set has lost its wake-up for good: no later
 * event would come. That is checked after every burst.
 */
enum { LS_ACTIVE = 0, LS_WAITING = 1, LS_DONE = 2 };

typedef struct lstep {
    weft_io_reg *r;
    atomic_bool stop;
    atomic_int failures;
} lstep;

typedef struct lpoller {
    lstep *ls;
    int dir;
    bool slot;
    atomic_int woken, state;
    atomic_ulong seq; /* +1 each time it stops waiting */
    unsigned long waits;
    uint32_t rng;
} lpoller;

static weft_waker lp_clone(void *p);
static void lp_wake(void *p) { atomic_store(&((lpoller *)p)->woken, 1); }
static void lp_drop(void *p) { (void)p; }
static const weft_waker_vtable lp_vtable = {lp_clone, lp_wake, lp_wake, lp_drop};
static weft_waker lp_clone(void *p) { return (weft_waker){&lp_vtable, p}; }

static void *lpoller_main(void *p) {
    lpoller *w = p;
    lstep *ls = w->ls;
    weft_io_waiter node;
    weft__io_waiter_init(&node);
    weft_context cx = weft_context_make((weft_waker){&lp_vtable, w});
    while (!atomic_load(&ls->stop)) {
        weft_io_ready ev;
        int err;
        atomic_store(&w->woken, 0);
        if (weft__io_poll_ready(ls->r, &cx, w->dir, w->slot ? NULL : &node, &ev, &err) == WEFT_READY) {
            weft__io_clear_ready(ls->r, &ev);
            continue;
        }
        w->rng = w->rng * 1103515245u + 12345u;
        if (!w->slot && (w->rng >> 16) % 8 == 0) {
            weft__io_waiter_cancel(&node); /* dropped; polls again at once */
            continue;
        }
        w->waits++;
        atomic_store(&w->state, LS_WAITING);
        while (!atomic_load(&w->woken) && !atomic_load(&ls->stop)) sched_yield();
        atomic_store(&w->state, LS_ACTIVE);
        atomic_fetch_add(&w->seq, 1);
    }
    weft__io_waiter_cancel(&node);
    atomic_store(&w->state, LS_DONE);
    return NULL;
}

/* `readers` node readers (plus a slot reader when `slot`) and one node
 * writer. With one waiter per direction nobody else consumes a readiness
 * a lost waiter should have seen, so a lost wake-up shows at once. */
static void run_lockstep(weft_io_backend b, int readers, bool slot, unsigned long steps_max) {
    weft_runtime *rt = rt_with(b);
    lstep ls;
    memset(&ls, 0, sizeof ls);
    ls.r = reg_eventfd(rt, NULL);
    int n = readers + (slot ? 1 : 0) + 1;
    lpoller w[WR_POLLERS];
    pthread_t th[WR_POLLERS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < n; i++) {
        w[i].ls = &ls;
        w[i].dir = i < n - 1 ? WEFT_INTEREST_READ : WEFT_INTEREST_WRITE;
        w[i].slot = slot && i == n - 2;
        w[i].rng = 11u + (unsigned)i * 104729u;
    }
    for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, lpoller_main, &w[i]);
    unsigned long steps = 0;
    for (unsigned long ev = 0; ev < steps_max && !atomic_load(&ls.failures); ev++) {
        /* Wait until every poller sleeps, then look for one that sleeps
         * although its direction is ready. */
        uint64_t t0 = mono_ns(), st;
        for (;;) {
            /* Settled: every poller sleeps, unwoken, and none moved while
             * the readiness was read (its seq did not change). */
            unsigned long seq[WR_POLLERS];
            int parked = 0;
            for (int i = 0; i < n; i++) seq[i] = atomic_load(&w[i].seq);
            for (int i = 0; i < n; i++)
                parked += atomic_load(&w[i].state) == LS_WAITING && !atomic_load(&w[i].woken);
            st = weft__io_state(ls.r);
            for (int i = 0; i < n; i++)
                parked -= !(atomic_load(&w[i].state) == LS_WAITING && !atomic_load(&w[i].woken) &&
                            atomic_load(&w[i].seq) == seq[i]);
            if (parked == n) break;
            if (mono_ns() - t0 > 30ull * 1000000000u) fail_msg("pollers never settled");
            sched_yield();
        }
        for (int i = 0; i < n; i++) {
            uint64_t mask = w[i].dir == WEFT_INTEREST_READ ? READ_READY : WRITE_READY;
            if ((st & mask) && !atomic_load(&w[i].woken)) {
                fprintf(stderr, "lost wake-up: %s %s sleeps on a ready registration (step %lu)\n",
                        w[i].slot ? "slot" : "node", w[i].dir == WEFT_INTEREST_READ ? "reader" : "writer", ev);
                atomic_fetch_add(&ls.failures, 1);
            }
        }
        /* A burst of events racing the pollers as they wake and queue
         * again; the next settled state shows whether one was lost. */
        unsigned burst = 1 + (unsigned)(ev * 2654435761u >> 7) % 4;
        for (unsigned k = 0; k < burst; k++) {
            weft__io_set_ready(ls.r, (ev + k) % 3 == 2 ? WEFT_IO_WRITABLE : WEFT_IO_READABLE);
            if (k % 2) sched_yield();
        }
        steps++;
    }
    atomic_store(&ls.stop, true);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&ls.failures), 0);
    unsigned long waits = 0;
    for (int i = 0; i < n; i++) waits += w[i].waits;
    print_message("%s: %lu steps, %lu waits\n", backend_name(rt), steps, waits);
    assert_true(weft__list_empty(&ls.r->waiters));
    weft__io_deregister(ls.r);
    weft_runtime_destroy(rt);
}

static void test_waiters_lockstep_epoll(void **state) {
    (void)state;
    run_lockstep(WEFT_IO_EPOLL, 1, false, 30000);
    run_lockstep(WEFT_IO_EPOLL, 4, true, 6000);
}

static void test_waiters_lockstep_poll(void **state) {
    (void)state;
    run_lockstep(WEFT_IO_POLL, 1, false, 30000);
    run_lockstep(WEFT_IO_POLL, 4, true, 6000);
}

/* ---- registration and deregistration from another thread while parked -------- */

typedef struct remote_reader {
    WEFT_CORO_FIELDS;
    weft_unix_stream s;
    weft_read_exact r;
    unsigned char buf[5];
    gate_state *done;
    int result;
} remote_reader;

static void remote_reader_cleanup(remote_reader *self) {
    weft_unix_stream_close(&self->s);
    gate_open(self->done);
}

WEFT_ASYNC(remote_reader, remote_reader_cleanup) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_read_exact_init(&self->r, &self->s.stream, self->buf, 5));
    self->result = self->r.result == 0 && memcmp(self->buf, "remote", 5) == 0 ? 0 : -1;
    WEFT_END();
}

typedef struct remote_ctx {
    weft_runtime *rt;
    gate_state done;
    weft_unix_stream peer;
    int churn;
} remote_ctx;

static void *remote_main(void *p) {
    remote_ctx *rc = p;
    usleep(20000); /* the runtime is parked by now */
    /* Churn: register, make readable, deregister, while the driver waits
     * and dispatches (the deferred release keeps this safe). */
    for (int i = 0; i < rc->churn; i++) {
        weft_unix_stream a, b;
        if (weft_unix_stream_pair(&a, &b, rc->rt) != 0) continue;
        ssize_t w = write(weft_unix_stream_fd(&b), "x", 1);
        (void)w;
        if (i % 2) sched_yield();
        weft_unix_stream_close(&a);
        weft_unix_stream_close(&b);
    }
    remote_reader t;
    memset(&t, 0, sizeof t);
    remote_reader_start(&t);
    t.done = &rc->done;
    assert_int_equal(weft_unix_stream_pair(&t.s, &rc->peer, rc->rt), 0);
    WEFT_SPAWN_DETACHED(rc->rt, &t);
    usleep(20000); /* the reader is waiting by now */
    ssize_t w = write(weft_unix_stream_fd(&rc->peer), "remote", 5);
    assert_int_equal(w, 5);
    return NULL;
}

static void run_remote(weft_io_backend b) {
    int fds = fd_count();
    weft_runtime *rt = rt_with(b);
    remote_ctx rc;
    memset(&rc, 0, sizeof rc);
    rc.rt = rt;
    rc.churn = 3000;
    gate_state_init(&rc.done);
    gate g;
    pthread_t th;
    pthread_create(&th, NULL, remote_main, &rc);
    assert_int_equal(weft_block_on(rt, gate_init(&g, &rc.done)), 0);
    pthread_join(th, NULL);
    weft_runtime_destroy(rt);
    weft_unix_stream_close(&rc.peer); /* after destroy: frees directly */
    gate_state_destroy(&rc.done);
    assert_int_equal(fd_count(), fds);
}

static void test_remote_registration_epoll(void **state) {
    (void)state;
    run_remote(WEFT_IO_EPOLL);
}

static void test_remote_registration_poll(void **state) {
    (void)state;
    run_remote(WEFT_IO_POLL);
}

/* ---- remote wakes interrupt a park with no timer and no I/O ---------------------- */

static void *open_later(void *p) {
    usleep(30000);
    gate_open(p);
    return NULL;
}

static void test_remote_wake_interrupts_park(void **state) {
    (void)state;
    for (int b = WEFT_IO_EPOLL; b <= WEFT_IO_POLL; b++) {
        weft_runtime *rt = rt_with((weft_io_backend)b);
        gate_state gs;
        gate_state_init(&gs);
        gate g;
        pthread_t th;
        pthread_create(&th, NULL, open_later, &gs);
        assert_int_equal(weft_block_on(rt, gate_init(&g, &gs)), 0);
        pthread_join(th, NULL);
        weft_runtime_stats st;
        weft_runtime_stats_get(rt, &st);
        assert_true(st.parks >= 1);
        weft_runtime_destroy(rt);
        gate_state_destroy(&gs);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_selection),
        cmocka_unit_test(test_tick_protocol),
        cmocka_unit_test(test_readiness_race),
        cmocka_unit_test(test_waiters_race_epoll),
        cmocka_unit_test(test_waiters_race_poll),
        cmocka_unit_test(test_waiters_lockstep_epoll),
        cmocka_unit_test(test_waiters_lockstep_poll),
        cmocka_unit_test(test_remote_registration_epoll),
        cmocka_unit_test(test_remote_registration_poll),
        cmocka_unit_test(test_remote_wake_interrupts_park),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
