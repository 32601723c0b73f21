/* The blocking pool; see blocking_pool.h. */
#include "sched/blocking_pool.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "runtime/rt.h"
#include "util/deadline.h"
#include "weft/error.h"

static _Thread_local const weft_blocking_pool *tls_pool;

static int default_thread_start(pthread_t *th, void *(*fn)(void *), void *arg) {
    return weft__thread_start(th, false, fn, arg);
}
int (*weft__blocking_thread_start)(pthread_t *, void *(*)(void *), void *) = default_thread_start;

void weft__blocking_pool_init(weft_blocking_pool *p, unsigned max) {
    pthread_mutex_init(&p->lock, NULL);
    weft__cond_init_monotonic(&p->work);
    weft__cond_init_monotonic(&p->exited);
    task_queue_init(&p->queue);
    p->all = NULL;
    p->threads = p->idle = p->wakeups = 0;
    p->max = max ? max : WEFT_BLOCKING_MAX_DEFAULT;
    p->keep_alive_ms = WEFT_BLOCKING_KEEP_ALIVE_MS;
    p->shutdown = p->abandoned = false;
}

void weft__blocking_pool_destroy(weft_blocking_pool *p) {
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->exited);
}

bool weft__blocking_pool_is_current(const weft_blocking_pool *p) { return tls_pool == p; }

static void unlink_thread(weft_blocking_pool *p, weft_pool_thread *pt) {
    for (weft_pool_thread **at = &p->all; *at; at = &(*at)->next) {
        if (*at == pt) {
            *at = pt->next;
            return;
        }
    }
}

/* Joins the retired threads that have fully exited, without waiting for
 * the others (a thread that is done may still be running thread-local
 * destructors, which may be user code: a worker must not wait for it).
 * Under the lock. */
static void reap_exited(weft_blocking_pool *p) {
    weft_pool_thread **at = &p->all;
    while (*at) {
        weft_pool_thread *pt = *at;
        if (pt->done && pthread_tryjoin_np(pt->th, NULL) == 0) {
            *at = pt->next;
            free(pt);
        } else {
            at = &pt->next;
        }
    }
}

/* Unlinks the threads that are done (under the lock); the caller joins
 * them once it has dropped the lock (they may still need it to exit). */
static weft_pool_thread *take_done(weft_blocking_pool *p) {
    weft_pool_thread *done = NULL, **at = &p->all;
    while (*at) {
        weft_pool_thread *pt = *at;
        if (pt->done) {
            *at = pt->next;
            pt->next = done;
            done = pt;
        } else {
            at = &pt->next;
        }
    }
    return done;
}

static void join_all(weft_pool_thread *list) {
    while (list) {
        weft_pool_thread *next = list->next;
        pthread_join(list->th, NULL);
        free(list);
        list = next;
    }
}

static void *pool_thread(void *arg) {
    weft_pool_thread *self = arg;
    weft_runtime *rt = self->rt;
    weft_blocking_pool *p = &rt->blocking;
    tls_pool = p;
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
        struct timespec until = weft__deadline_after_ms(p->keep_alive_ms);
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
    if (p->abandoned) {
        /* Shutdown gave up on us and detached us: nobody will join us. */
        unlink_thread(p, self);
        free(self);
    } else {
        self->done = true;
    }
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->lock);
    tls_pool = NULL;
    weft__runtime_unref(rt); /* may free the runtime: after the last touch of p */
    return NULL;
}

/* Starts one more thread (under the lock). 0 or -errno. */
static int start_thread(weft_runtime *rt) {
    weft_blocking_pool *p = &rt->blocking;
    weft_pool_thread *pt = malloc(sizeof *pt);
    if (!pt) return -ENOMEM;
    pt->rt = rt;
    pt->done = false;
    weft__runtime_ref(rt);
    int err = weft__blocking_thread_start(&pt->th, pool_thread, pt);
    if (err) {
        weft__runtime_unref(rt); /* never the last: the caller holds one */
        free(pt);
        return err;
    }
    pt->next = p->all;
    p->all = pt;
    p->threads++;
    return 0;
}

int weft__blocking_pool_submit(weft_runtime *rt, weft_task *t) {
    weft_blocking_pool *p = &rt->blocking;
    int err = 0;
    pthread_mutex_lock(&p->lock);
    if (p->idle > p->wakeups) {
        p->wakeups++;
        pthread_cond_signal(&p->work);
    } else if (p->threads < p->max) {
        reap_exited(p); /* threads that retired since */
        /* With no thread at all nobody would ever run it. */
        if (start_thread(rt) != 0 && p->threads == 0) err = -WEFT_ENOTHREAD;
    }
    /* Otherwise every thread is busy and at the limit: it waits its turn. */
    if (!err) task_queue_push(&p->queue, t);
    pthread_mutex_unlock(&p->lock);
    return err;
}

bool weft__blocking_pool_shutdown(weft_blocking_pool *p, uint64_t timeout_ms) {
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work);
    struct timespec until = weft__deadline_after_ms(timeout_ms == UINT64_MAX ? 0 : timeout_ms);
    while (p->threads > 0) {
        if (timeout_ms == UINT64_MAX) pthread_cond_wait(&p->exited, &p->lock);
        else if (pthread_cond_timedwait(&p->exited, &p->lock, &until) == ETIMEDOUT) break;
    }
    bool all = p->threads == 0;
    weft_pool_thread *done = take_done(p);
    if (!all) {
        /* The rest are still in a user function past the limit: detach
         * them; each unlists and frees itself when it ends. */
        p->abandoned = true;
        for (weft_pool_thread *pt = p->all; pt; pt = pt->next) pthread_detach(pt->th);
    }
    pthread_mutex_unlock(&p->lock);
    join_all(done);
    return all;
}
