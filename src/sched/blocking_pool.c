/* The blocking pool; see blocking.h. */
#include "sched/blocking_pool.h"

#include <errno.h>
#include <stddef.h>
#include <time.h>

#include "runtime/rt.h"

static struct timespec deadline_after(uint64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

void weft__blocking_pool_init(weft_blocking_pool *p, unsigned max) {
    pthread_mutex_init(&p->lock, NULL);
    cond_init_monotonic(&p->work);
    cond_init_monotonic(&p->exited);
    task_queue_init(&p->queue);
    p->threads = p->idle = p->wakeups = 0;
    p->max = max ? max : WEFT_BLOCKING_MAX_DEFAULT;
    p->keep_alive_ms = WEFT_BLOCKING_KEEP_ALIVE_MS;
    p->shutdown = false;
}

void weft__blocking_pool_destroy(weft_blocking_pool *p) {
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->exited);
}

static void *pool_thread(void *arg) {
    weft_runtime *rt = arg;
    weft_blocking_pool *p = &rt->blocking;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        weft_task *t;
        while ((t = task_queue_pop(&p->queue))) {
            pthread_mutex_unlock(&p->lock);
            weft__task_run(t);
            pthread_mutex_lock(&p->lock);
        }
        if (p->shutdown) break;
        p->idle++;
        struct timespec until = deadline_after(p->keep_alive_ms);
        bool timed_out = false;
        while (p->wakeups == 0 && !p->shutdown) {
            if (pthread_cond_timedwait(&p->work, &p->lock, &until) == ETIMEDOUT) {
                timed_out = true;
                break;
            }
        }
        if (p->wakeups > 0) p->wakeups--;
        p->idle--;
        if (timed_out && task_queue_empty(&p->queue) && !p->shutdown) break; /* retire */
    }
    p->threads--;
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->lock);
    weft__runtime_unref(rt);
    return NULL;
}

int weft__blocking_pool_submit(weft_runtime *rt, weft_task *t) {
    weft_blocking_pool *p = &rt->blocking;
    pthread_mutex_lock(&p->lock);
    task_queue_push(&p->queue, t);
    int err = 0;
    if (p->idle > p->wakeups) {
        p->wakeups++;
        pthread_cond_signal(&p->work);
    } else if (p->threads < p->max) {
        pthread_t th;
        weft__runtime_ref(rt);
        if (weft__thread_start(&th, true, pool_thread, rt) == 0) {
            p->threads++;
        } else {
            weft__runtime_unref(rt);
            /* With no thread at all nobody would ever run it. */
            if (p->threads == 0) err = -EAGAIN;
        }
    }
    /* Otherwise every thread is busy and at the limit: it waits its turn. */
    if (err) {
        weft_task_queue keep;
        task_queue_init(&keep);
        weft_task *x;
        while ((x = task_queue_pop(&p->queue))) {
            if (x != t) task_queue_push(&keep, x);
        }
        p->queue = keep;
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

bool weft__blocking_pool_shutdown(weft_blocking_pool *p, uint64_t timeout_ms) {
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work);
    struct timespec until = deadline_after(timeout_ms == UINT64_MAX ? 0 : timeout_ms);
    while (p->threads > 0) {
        if (timeout_ms == UINT64_MAX) pthread_cond_wait(&p->exited, &p->lock);
        else if (pthread_cond_timedwait(&p->exited, &p->lock, &until) == ETIMEDOUT) break;
    }
    bool all = p->threads == 0;
    pthread_mutex_unlock(&p->lock);
    return all;
}
