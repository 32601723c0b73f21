/*
 * Name resolution without blocking a runtime thread: getaddrinfo runs via
 * weft__offload (the runtime's blocking pool) and completes the future
 * through its waker.
 *
 * The request is shared by the caller and the thread (two references): the
 * caller may drop its future while the lookup runs; whoever lets go last
 * frees it.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "sched/blocking_pool.h"

#define RESOLVE_MAX 16

_Atomic uint64_t weft__offload_count;

/* ---- offload ------------------------------------------------------------- */

int weft__offload(weft_runtime *rt, void *(*fn)(void *arg), void (*cancel)(void *arg), void *arg) {
    int err = weft__blocking_detached(rt, fn, cancel, arg);
    if (!err) atomic_fetch_add_explicit(&weft__offload_count, 1, memory_order_relaxed);
    return err;
}

/* ---- the request --------------------------------------------------------- */

struct weft__resolve_req {
    pthread_mutex_t lock;
    _Atomic int refs;
    bool done;
    int result;
    weft_waker waker;
    char host[256];
    uint16_t port;
    weft_sockaddr addrs[RESOLVE_MAX];
};

static void req_unref(weft__resolve_req *q) {
    if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1) return;
    weft_waker_drop(q->waker);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static int map_gai(int rc, int sys_errno) {
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN: return -EAGAIN;
    case EAI_MEMORY: return -ENOMEM;
    case EAI_SERVICE:
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
    case EAI_FAMILY: return -EINVAL;
    case EAI_SYSTEM: return sys_errno ? -sys_errno : -EIO;
    default: return -EIO;
    }
}

/* Publishes the outcome, wakes the waiting future, lets go of our half. */
static void resolve_finish(weft__resolve_req *q, int result) {
    pthread_mutex_lock(&q->lock);
    q->result = result;
    q->done = true;
    weft_waker w = weft_waker_take(&q->waker);
    pthread_mutex_unlock(&q->lock);
    weft_waker_wake(w);
    req_unref(q);
}

/* The runtime shut down before the lookup started. */
static void resolve_cancel(void *p) { resolve_finish(p, -ECANCELED); }

static void *resolve_main(void *p) {
    weft__resolve_req *q = p;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM; /* one entry per address */
    char port[8];
    snprintf(port, sizeof port, "%u", q->port);
    int rc = getaddrinfo(q->host, port, &hints, &res);
    int result;
    if (rc != 0) {
        result = map_gai(rc, errno);
    } else {
        int n = 0;
        for (struct addrinfo *ai = res; ai && n < RESOLVE_MAX; ai = ai->ai_next) {
            if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
            if (ai->ai_addrlen > sizeof q->addrs[n].u) continue;
            memset(&q->addrs[n], 0, sizeof q->addrs[n]);
            memcpy(&q->addrs[n].u, ai->ai_addr, ai->ai_addrlen);
            q->addrs[n].len = ai->ai_addrlen;
            n++;
        }
        freeaddrinfo(res);
        result = n ? n : -ENOENT;
    }
    resolve_finish(q, result);
    return NULL;
}

int weft__resolve_start(weft_runtime *rt, const char *host, uint16_t port, weft__resolve_req **out) {
    *out = NULL;
    size_t n = strlen(host);
    if (n >= sizeof((weft__resolve_req *)0)->host) return -EINVAL;
    weft__resolve_req *q = calloc(1, sizeof *q);
    if (!q) return -ENOMEM;
    pthread_mutex_init(&q->lock, NULL);
    atomic_init(&q->refs, 2);
    memcpy(q->host, host, n + 1);
    q->port = port;
    q->waker = WEFT_WAKER_NONE;
    /* On failure resolve_cancel has already run and dropped its half. */
    int err = weft__offload(rt, resolve_main, resolve_cancel, q);
    if (err) {
        req_unref(q);
        return err;
    }
    *out = q;
    return 0;
}

weft_poll weft__resolve_poll(weft__resolve_req *q, weft_context *cx, int *result,
                             weft_sockaddr **addrs) {
    weft_waker old = WEFT_WAKER_NONE;
    pthread_mutex_lock(&q->lock);
    bool done = q->done;
    if (!done) old = weft_waker_replace(&q->waker, &cx->waker);
    pthread_mutex_unlock(&q->lock);
    weft_waker_drop(old);
    if (!done) return WEFT_PENDING;
    *result = q->result;
    *addrs = q->addrs;
    return WEFT_READY;
}

void weft__resolve_release(weft__resolve_req *q) {
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    weft_waker w = weft_waker_take(&q->waker);
    pthread_mutex_unlock(&q->lock);
    weft_waker_drop(w);
    req_unref(q);
}

/* ---- the public future --------------------------------------------------- */

static weft_poll resolve_fut_poll(weft_future *f, weft_context *cx) {
    weft_resolve *r = (weft_resolve *)f;
    if (!r->req) {
        char host[256];
        uint16_t port;
        bool br;
        int err = weft__split_host_port(r->text, host, sizeof host, &port, &br);
        if (!err && (br || weft__is_ipv4_literal(host))) {
            /* Numeric: no thread. */
            weft_sockaddr a;
            err = weft__parse_numeric_host(&a, host, port, br);
            if (!err && r->cap == 0) err = -ENOSPC;
            if (!err) r->out[0] = a;
            r->result = err ? err : 1;
            return WEFT_READY;
        }
        if (!err && !weft__is_hostname(host)) err = -EINVAL;
        if (!err) err = weft__resolve_start(cx->runtime, host, port, &r->req);
        if (err) {
            r->result = err;
            return WEFT_READY;
        }
    }
    int result;
    weft_sockaddr *addrs;
    if (weft__resolve_poll(r->req, cx, &result, &addrs) == WEFT_PENDING) return WEFT_PENDING;
    if (result > 0) {
        size_t n = (size_t)result < r->cap ? (size_t)result : r->cap;
        memcpy(r->out, addrs, n * sizeof *addrs);
        result = n ? (int)n : -ENOSPC;
    }
    r->result = result;
    weft__resolve_release(r->req);
    r->req = NULL;
    return WEFT_READY;
}

static void resolve_fut_drop(weft_future *f) {
    weft_resolve *r = (weft_resolve *)f;
    weft__resolve_release(r->req);
    r->req = NULL;
}

static const weft_future_vtable resolve_vtable = {resolve_fut_poll, resolve_fut_drop,
                                                  "weft_resolve"};

weft_future *weft_resolve_init(weft_resolve *f, const char *text, weft_sockaddr *out, size_t cap) {
    weft_future_init(&f->base, &resolve_vtable);
    size_t n = text ? strlen(text) : 0;
    if (!text || n >= sizeof f->text) {
        f->text[0] = 0; /* fails with -EINVAL at the first poll */
    } else {
        memcpy(f->text, text, n + 1);
    }
    f->out = out;
    f->cap = cap;
    f->req = NULL;
    f->result = 0;
    return &f->base;
}
