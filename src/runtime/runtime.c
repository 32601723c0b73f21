/* The flavour-independent part of a runtime: creation and destruction,
 * reference counting, counters, errors (the owned-task list: owned.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"
#include "time/wheel.h"

_Thread_local weft_runtime *weft__tls_runtime;

int weft__current_thread_create(weft_runtime **out, const weft_runtime_options *opts);
int weft__multi_thread_create(weft_runtime **out, const weft_runtime_options *opts);

int weft_runtime_create(weft_runtime **out, const weft_runtime_options *opts) {
    static const weft_runtime_options defaults;
    if (!out) return -EINVAL;
    *out = NULL;
    if (!opts) opts = &defaults;
    if (opts->io_backend > WEFT_IO_POLL) return -EINVAL;
    if (opts->fiber_stack_size > ((size_t)1 << 30)) return -EINVAL; /* WEFT_FIBER_STACK_MAX */
    switch (opts->flavor) {
    case WEFT_CURRENT_THREAD: return weft__current_thread_create(out, opts);
    case WEFT_MULTI_THREAD: return weft__multi_thread_create(out, opts);
    }
    return -EINVAL;
}

/* Makes every thread inside weft_block_on return -ESHUTDOWN and waits until
 * they are all out, so that nothing polls while the runtime is torn down. */
static void wait_for_blockers(weft_runtime *rt) {
    pthread_mutex_lock(&rt->blockers_lock);
    while (rt->blockers > 0) {
        pthread_mutex_unlock(&rt->blockers_lock);
        rt->ops->wake_blockers(rt);
        pthread_mutex_lock(&rt->blockers_lock);
        if (rt->blockers > 0) pthread_cond_wait(&rt->blockers_left, &rt->blockers_lock);
    }
    pthread_mutex_unlock(&rt->blockers_lock);
}

int weft_runtime_destroy_timeout(weft_runtime *rt, uint64_t timeout_ms) {
    if (!rt) return 0;
    if (weft__tls_runtime) {
        weft_future misuse = WEFT_FUTURE_INIT(NULL);
        weft__misuse(&misuse, "weft_runtime_destroy called from inside a runtime");
    }
    if (weft__blocking_pool_is_current(&rt->blocking)) {
        /* It would wait for its own thread to end. */
        weft_future misuse = WEFT_FUTURE_INIT(NULL);
        weft__misuse(&misuse, "weft_runtime_destroy called from the runtime's own blocking pool");
    }
    atomic_store_explicit(&rt->shutting_down, true, memory_order_release);
    wait_for_blockers(rt);
    rt->ops->shutdown(rt);
    /* After the tasks: a cancelled blocking call that has not started is
     * skipped by the pool, a running one finishes on its thread. */
    bool all = weft__blocking_pool_shutdown(&rt->blocking, timeout_ms);
    weft__runtime_unref(rt);
    return all ? 0 : -ETIMEDOUT;
}

void weft_runtime_destroy(weft_runtime *rt) { weft_runtime_destroy_timeout(rt, UINT64_MAX); }

int weft_main(weft_future *main_future, const weft_runtime_options *opts) {
    weft_runtime_options mt = {.flavor = WEFT_MULTI_THREAD};
    weft_runtime *rt;
    int err = weft_runtime_create(&rt, opts ? opts : &mt);
    if (err) return err;
    err = weft_block_on(rt, main_future);
    weft_runtime_destroy(rt);
    return err;
}

int weft__main_failed(int err) {
    fprintf(stderr, "weft_main: %s\n", weft_strerror(err));
    return 1;
}

int weft_block_on(weft_runtime *rt, weft_future *fut) {
    if (!rt || !fut) return -EINVAL;
    if (weft__tls_runtime) return -EDEADLK;
    /* Registered under the lock that destroy checks: either destroy sees
     * this caller (and waits for it), or this caller sees shutting_down. */
    pthread_mutex_lock(&rt->blockers_lock);
    bool down = atomic_load_explicit(&rt->shutting_down, memory_order_acquire);
    if (!down) rt->blockers++;
    pthread_mutex_unlock(&rt->blockers_lock);
    if (down) return -ESHUTDOWN;
    int rc = rt->ops->block_on(rt, fut);
    pthread_mutex_lock(&rt->blockers_lock);
    if (--rt->blockers == 0) pthread_cond_broadcast(&rt->blockers_left);
    pthread_mutex_unlock(&rt->blockers_lock);
    return rc;
}

weft_runtime *weft_runtime_current(void) { return weft__tls_runtime; }

weft_runtime *weft_runtime_ref(weft_runtime *rt) {
    weft__runtime_ref(rt);
    return rt;
}

void weft_runtime_unref(weft_runtime *rt) {
    if (rt) weft__runtime_unref(rt);
}

uint64_t weft_runtime_now_ms(const weft_runtime *rt) { return weft_clock_ms() - rt->origin_ms; }

void weft_runtime_stats_get(const weft_runtime *rt, weft_runtime_stats *out) {
#define GET(f) out->f = atomic_load_explicit(&rt->stats.f, memory_order_relaxed)
    weft__owned_counts(rt, &out->tasks_spawned, &out->tasks_completed);
    GET(task_polls);
    GET(root_polls);
    GET(parks);
    GET(remote_schedules);
    GET(timers_fired);
#undef GET
    if (rt->ops->stats) rt->ops->stats(rt, out);
}

void weft__runtime_base_init(weft_runtime *rt, const weft_sched_ops *ops,
                             const weft_runtime_options *opts) {
    memset(rt, 0, sizeof *rt);
    rt->ops = ops;
    atomic_init(&rt->refs, 1);
    atomic_init(&rt->shutting_down, false);
    pthread_mutex_init(&rt->blockers_lock, NULL);
    pthread_cond_init(&rt->blockers_left, NULL);
    weft__owned_init(rt);
    rt->opts = *opts;
    rt->origin_ms = weft_clock_ms();
    weft__blocking_pool_init(&rt->blocking, opts->max_blocking);
}

void weft__runtime_base_destroy(weft_runtime *rt) {
    weft__blocking_pool_destroy(&rt->blocking);
    pthread_mutex_destroy(&rt->blockers_lock);
    pthread_cond_destroy(&rt->blockers_left);
}

void weft__runtime_ref(weft_runtime *rt) { atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed); }

void weft__runtime_unref(weft_runtime *rt) {
    if (atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1) return;
    weft__runtime_base_destroy(rt);
    rt->ops->free(rt);
}

int weft__thread_start(pthread_t *th, bool detached, void *(*fn)(void *), void *arg) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (detached) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    /* Not the signals of a fault: the kernel delivers those to the
     * faulting thread whatever its mask, but a blocked one kills the
     * process without running the handler (weft's fiber stack overflow
     * report, the application's crash reporter). */
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(th, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -err;
}

weft_wheel *weft__wheel_for(weft_context *cx, const weft_future *f) {
    if (!cx->runtime) weft__misuse(f, "polled outside a runtime (it needs the runtime's timers)");
    return cx->runtime->ops->wheel(cx->runtime);
}
