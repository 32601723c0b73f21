/*
 * The getaddrinfo resolver: lookups wait in a FIFO in front of at most
 * `max` runners. A runner is one detached call on the blocking pool that
 * takes lookups from the queue, one at a time, until it finds it empty; a
 * lookup that finds fewer than `max` runners starts another. So at most
 * `max` lookups are in getaddrinfo at once. The pool may still hold a few
 * more threads than that: a runner that has given up its slot is not yet
 * back among the pool's idle threads when the next runner is submitted,
 * which then starts a thread (1,000 concurrent lookups peak at 6-11
 * threads with max 4; a blocking call per lookup grew with the lookups).
 *
 * Cancellation: a queued lookup leaves the queue and completes at once
 * (-ECANCELED, discarded); a running one finishes on its thread.
 * Shutdown (after the runtime's tasks are gone): the queue is emptied with
 * -ESHUTDOWN; runners still in getaddrinfo finish their lookup and go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/resolver.h"
#include "runtime/rt.h"

/* Set while a lookup's start offloads a runner: a runner whose spawn fails
 * right there is accounted for by the start that tried (with its error). */
static _Thread_local weft__gai *tls_starting;

void weft__gai_init(weft__gai *g, weft_runtime *rt) {
    pthread_mutex_init(&g->lock, NULL);
    weft__list_init(&g->queue);
    g->running = 0;
    g->max = WEFT_GETADDRINFO_THREADS;
    g->shut = false;
    g->rt = rt;
}

void weft__gai_set_max(weft__gai *g, unsigned max) {
    pthread_mutex_lock(&g->lock);
    g->max = max ? max : WEFT_GETADDRINFO_THREADS;
    pthread_mutex_unlock(&g->lock);
}

void weft__gai_destroy(weft__gai *g) { pthread_mutex_destroy(&g->lock); }

/* Completes every lookup of `list` with `err`. Outside the lock. */
static void fail_all(weft_link *list, int err) {
    weft_link *n;
    while ((n = weft__list_pop_front(list)))
        weft_lookup_complete(weft__container_of(n, weft_lookup, link), err);
}

static void *runner(void *arg) {
    weft__gai *g = arg;
    pthread_mutex_lock(&g->lock);
    weft_link *n;
    while ((n = weft__list_pop_front(&g->queue))) {
        pthread_mutex_unlock(&g->lock);
        weft_lookup *l = weft__container_of(n, weft_lookup, link);
        weft__hostport hp = {0};
        memcpy(hp.host, l->host, sizeof hp.host);
        if (l->port >= 0) {
            hp.port = (uint16_t)l->port;
        } else {
            memcpy(hp.service, l->service, sizeof hp.service);
        }
        hp.numeric_host = l->numeric_host;
        int r = weft__resolve_sync(&hp, l->family, l->socktype, false, l->addrs, WEFT__RESOLVE_MAX);
        if (r > 0) l->n = (size_t)r;
        weft_lookup_complete(l, r > 0 ? 0 : r);
        pthread_mutex_lock(&g->lock);
    }
    g->running--;
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* The pool did not run a runner: its spawn failed (inside the start that
 * asked for it, which reports the error), or the runtime shut down before
 * it started. A queue nobody will serve any more is failed. */
static void runner_skipped(void *arg) {
    weft__gai *g = arg;
    weft_link orphans;
    weft__list_init(&orphans);
    pthread_mutex_lock(&g->lock);
    g->running--;
    if (g->running == 0 && tls_starting != g) weft__list_splice_back(&orphans, &g->queue);
    pthread_mutex_unlock(&g->lock);
    fail_all(&orphans, -ESHUTDOWN);
}

static int gai_start(void *self, weft_lookup *l) {
    weft__gai *g = self;
    pthread_mutex_lock(&g->lock);
    if (g->shut) {
        pthread_mutex_unlock(&g->lock);
        return -ESHUTDOWN;
    }
    weft__list_push_back(&g->queue, &l->link);
    bool spawn = g->running < g->max;
    if (spawn) g->running++;
    pthread_mutex_unlock(&g->lock);
    if (!spawn) return 0;
    tls_starting = g;
    int err = weft__offload(g->rt, runner, runner_skipped, g);
    tls_starting = NULL;
    if (err) {
        /* runner_skipped has given the runner back. With no runner left,
         * nobody serves the queue: fail it, this lookup included. */
        weft_link orphans;
        weft__list_init(&orphans);
        pthread_mutex_lock(&g->lock);
        if (g->running == 0) weft__list_splice_back(&orphans, &g->queue);
        pthread_mutex_unlock(&g->lock);
        fail_all(&orphans, err);
    }
    return 0;
}

static void gai_cancel(void *self, weft_lookup *l) {
    weft__gai *g = self;
    pthread_mutex_lock(&g->lock);
    /* Still queued: no runner took it, nobody else will complete it. */
    bool queued = weft__link_is_linked(&l->link);
    if (queued) weft__list_remove(&l->link);
    pthread_mutex_unlock(&g->lock);
    if (queued) weft_lookup_complete(l, -ECANCELED);
}

static void gai_shutdown(void *self) {
    weft__gai *g = self;
    weft_link orphans;
    weft__list_init(&orphans);
    pthread_mutex_lock(&g->lock);
    g->shut = true;
    weft__list_splice_back(&orphans, &g->queue);
    pthread_mutex_unlock(&g->lock);
    fail_all(&orphans, -ESHUTDOWN);
}

/* Embedded in the runtime: freed with it (weft__gai_destroy), no `free`. */
const weft_resolver_vtable weft__gai_vtable = {"getaddrinfo", gai_start, gai_cancel, gai_shutdown,
                                               NULL};
