/*
 * Name resolution. The synchronous form (bind, UDP connect) calls
 * getaddrinfo on the calling thread; the futures (weft_resolve, connect)
 * hand the lookup to the runtime's resolver (lookup.c: the getaddrinfo
 * resolver of resolver_gai.c unless another was installed) and complete
 * through their waker. Numeric addresses never reach a resolver.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "sched/blocking_pool.h"

_Atomic uint64_t weft__offload_count;

/* ---- offload ------------------------------------------------------------- */

int weft__offload(weft_runtime *rt, void *(*fn)(void *arg), void (*cancel)(void *arg), void *arg) {
    int err = weft__blocking_detached(rt, fn, cancel, arg);
    if (!err) atomic_fetch_add_explicit(&weft__offload_count, 1, memory_order_relaxed);
    return err;
}

/* ---- getaddrinfo ----------------------------------------------------------- */

/* getaddrinfo's EAI_* answers as weft's codes. */
int weft__gai_error(int rc, int sys_errno) {
    switch (rc) {
    case EAI_NONAME: return -WEFT_ENOTFOUND;
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -WEFT_ENOADDRESS;
    case EAI_SERVICE: return -WEFT_ENOSERVICE;
    case EAI_AGAIN: return -WEFT_ERESOLVER_AGAIN;
    case EAI_FAIL: return -WEFT_ERESOLVER_FAIL;
    case EAI_MEMORY: return -ENOMEM;
    case EAI_SYSTEM: return sys_errno ? -sys_errno : -WEFT_ERESOLVER_FAIL;
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
    case EAI_FAMILY: return -EINVAL;
    default: return -WEFT_ERESOLVER_FAIL;
    }
}

int weft__resolve_sync(const weft__hostport *hp, int family, int socktype, bool passive,
                       weft_sockaddr *out, size_t cap) {
    if (cap == 0) return -ENOSPC;
    if (hp->numeric) {
        if (family != AF_UNSPEC && hp->addr.u.sa.sa_family != family) return -WEFT_ENOADDRESS;
        out[0] = hp->addr;
        return 1;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = family;
    hints.ai_socktype = socktype; /* one entry per address */
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    if (hp->numeric_host) hints.ai_flags |= AI_NUMERICHOST; /* only the service to look up */
    char port[8];
    const char *service = hp->service;
    if (!service[0]) {
        snprintf(port, sizeof port, "%u", hp->port);
        service = port;
        hints.ai_flags |= AI_NUMERICSERV;
    }
    errno = 0;
    int rc = getaddrinfo(hp->host, service, &hints, &res);
    if (rc != 0) return weft__gai_error(rc, errno);
    int n = 0;
    for (struct addrinfo *ai = res; ai && (size_t)n < cap; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        if (family != AF_UNSPEC && ai->ai_family != family) continue;
        if (ai->ai_addrlen > sizeof out[n].u) continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].u, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n ? n : -WEFT_ENOADDRESS;
}

int weft__resolve_text(const char *text, int family, int socktype, bool passive,
                       weft_sockaddr *out, size_t cap) {
    weft__hostport hp;
    int err = weft__hostport_parse(&hp, text);
    if (err) return err;
    return weft__resolve_sync(&hp, family, socktype, passive, out, cap);
}

/* ---- the public future --------------------------------------------------- */

static weft_poll resolve_fut_poll(weft_future *f, weft_context *cx) {
    weft_resolve *r = (weft_resolve *)f;
    if (!r->req) {
        weft__hostport hp;
        int err = weft__hostport_parse(&hp, r->text);
        if (!err && (!r->out || r->cap == 0)) err = -ENOSPC;
        if (!err && hp.numeric) {
            r->out[0] = hp.addr; /* numeric: no thread */
            r->result = 1;
            return WEFT_READY;
        }
        if (!err) err = weft__resolve_start(cx->runtime, &hp, SOCK_STREAM, &r->req);
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
        result = (int)n;
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
