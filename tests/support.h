/* Test support: instrumented futures and wakers shared by the tests. */
#ifndef WEFT_TEST_SUPPORT_H
#define WEFT_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <cmocka.h>
#include "isolate.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"

/* A waker that counts what is done to it. */
typedef struct counting_waker {
    atomic_int clones, wakes, drops;
} counting_waker;

static weft_waker cw_clone(void *p);
static void cw_wake(void *p) {
    counting_waker *c = p;
    atomic_fetch_add(&c->wakes, 1);
    atomic_fetch_add(&c->drops, 1);
}
static void cw_wake_by_ref(void *p) { atomic_fetch_add(&((counting_waker *)p)->wakes, 1); }
static void cw_drop(void *p) { atomic_fetch_add(&((counting_waker *)p)->drops, 1); }
static const weft_waker_vtable cw_vtable = {cw_clone, cw_wake, cw_wake_by_ref, cw_drop};
static weft_waker cw_clone(void *p) {
    atomic_fetch_add(&((counting_waker *)p)->clones, 1);
    return (weft_waker){&cw_vtable, p};
}
static inline __attribute__((unused)) weft_waker counting_waker_get(counting_waker *c) {
    return (weft_waker){&cw_vtable, c};
}

/*
 * A "gate": a future that is pending until the test opens it, counting
 * polls and drops, and keeping the latest waker (like a leaf I/O future).
 * Opening it wakes the stored waker. Thread-safe enough for the tests:
 * `open` and the waker slot are guarded by a mutex.
 */
#include <pthread.h>
typedef struct gate_state {
    pthread_mutex_t lock;
    bool open;
    weft_waker waker;
    atomic_int polls, drops;
} gate_state;

typedef struct gate {
    weft_future base;
    gate_state *st;
    int out;
} gate;

static weft_poll gate_poll(weft_future *f, weft_context *cx) {
    gate *g = (gate *)f;
    atomic_fetch_add(&g->st->polls, 1);
    pthread_mutex_lock(&g->st->lock);
    bool open = g->st->open;
    if (!open) weft_waker_store(&g->st->waker, &cx->waker);
    pthread_mutex_unlock(&g->st->lock);
    if (open) {
        g->out = 42;
        return WEFT_READY;
    }
    return WEFT_PENDING;
}
static void gate_drop(weft_future *f) {
    gate *g = (gate *)f;
    atomic_fetch_add(&g->st->drops, 1);
}
static const weft_future_vtable gate_vtable = {gate_poll, gate_drop, "gate"};

static inline __attribute__((unused)) void gate_state_init(gate_state *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
}
static inline __attribute__((unused)) weft_future *gate_init(gate *g, gate_state *s) {
    weft_future_init(&g->base, &gate_vtable);
    g->st = s;
    g->out = 0;
    return &g->base;
}
static inline __attribute__((unused)) void gate_open(gate_state *s) {
    pthread_mutex_lock(&s->lock);
    s->open = true;
    weft_waker w = weft_waker_take(&s->waker);
    pthread_mutex_unlock(&s->lock);
    weft_waker_wake(w);
}
/* Wakes the stored waker without opening (a spurious or repeated wake). */
static inline __attribute__((unused)) void gate_poke(gate_state *s) {
    pthread_mutex_lock(&s->lock);
    weft_waker w = weft_waker_clone(&s->waker);
    pthread_mutex_unlock(&s->lock);
    weft_waker_wake(w);
}
static inline __attribute__((unused)) void gate_state_destroy(gate_state *s) {
    weft_waker_drop(weft_waker_take(&s->waker));
    pthread_mutex_destroy(&s->lock);
}

/* Runs `fn` in a child process; returns its stderr text (static buffer)
 * and sets *sig to the signal that ended it (0 if it exited). */
static inline __attribute__((unused)) const char *run_in_child(void (*fn)(void), int *sig) {
    static char buf[4096];
    int p[2];
    if (pipe(p) != 0) return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        fn();
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return buf;
}

/* The flavour the suite runs on: $WEFT_TEST_RUNTIME = "multi_thread[:N]"
 * selects the multi_thread runtime with N workers (default 2); anything
 * else, current_thread. `make check` runs the suite both ways. */
static inline __attribute__((unused)) weft_runtime_options test_runtime_options(void) {
    weft_runtime_options o = {0};
    const char *env = getenv("WEFT_TEST_RUNTIME");
    if (env && strncmp(env, "multi_thread", 12) == 0) {
        o.flavor = WEFT_MULTI_THREAD;
        o.workers = env[12] == ':' ? (unsigned)atoi(env + 13) : 2;
    }
    return o;
}

static inline __attribute__((unused)) bool test_is_multi_thread(void) {
    return test_runtime_options().flavor == WEFT_MULTI_THREAD;
}

/* Creates a runtime of the suite's flavour or fails the test. */
static inline __attribute__((unused)) weft_runtime *rt_new(void) {
    weft_runtime *rt = NULL;
    weft_runtime_options o = test_runtime_options();
    int err = weft_runtime_create(&rt, &o);
    assert_int_equal(err, 0);
    return rt;
}

/* A runtime on which one task runs at a time: current_thread, or a
 * one-worker multi_thread runtime. Tests whose assertions depend on a task
 * not being polled while another runs use it together with run_as_task. */
static inline __attribute__((unused)) weft_runtime *rt_new_single(void) {
    weft_runtime *rt = NULL;
    weft_runtime_options o = test_runtime_options();
    if (o.flavor == WEFT_MULTI_THREAD) o.workers = 1;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    return rt;
}

/* Runs `size` bytes of future at `fut` (moved) as a task and waits for it:
 * on multi_thread the block_on thread is not a worker, so this puts the
 * scenario on the worker. Returns the join handle's result. */
typedef struct task_runner {
    WEFT_CORO_FIELDS;
    void *fut;
    size_t size;
    weft_join_handle h;
} task_runner;

WEFT_ASYNC(task_runner, NULL) {
    WEFT_BEGIN();
    self->h = weft_spawn_raw(cx->runtime, self->fut, self->size, 0, 0, NULL);
    WEFT_AWAIT(&self->h.base);
    WEFT_END();
}

static inline __attribute__((unused)) int run_as_task(weft_runtime *rt, void *fut, size_t size) {
    task_runner r;
    task_runner_start(&r);
    r.fut = fut;
    r.size = size;
    assert_int_equal(weft_block_on(rt, &r.base), 0);
    return r.h.result;
}

#endif
