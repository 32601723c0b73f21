/*
 * Lookups and the runtime's table of resolvers (see resolver.h and
 * weft/resolver.h).
 *
 * Completion and cancellation. The resolver publishes the answer under the
 * lookup's spinlock (done, result) and takes the waker; the future reads
 * them under the same lock, so the addresses written before completion
 * are visible to it. A future dropped before it saw the answer marks the
 * lookup cancelled, and calls the resolver's cancel *without* the lock (the
 * resolver takes its own locks there, and completes the lookup under them:
 * lock order resolver -> lookup, never the reverse).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/resolver.h"
#include "runtime/rt.h"

_Atomic uint64_t weft__lookup_count;

/* ---- the lookup ------------------------------------------------------------- */

static void lookup_unref(weft_lookup *l) {
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1) return;
    weft_waker_drop(l->waker);
    weft_runtime *rt = l->rt;
    free(l);
    weft__runtime_unref(rt); /* may free the runtime, and with it the resolvers */
}

const char *weft_lookup_host(const weft_lookup *l) { return l->host; }
const char *weft_lookup_service(const weft_lookup *l) { return l->service; }
int weft_lookup_port(const weft_lookup *l) { return l->port; }
int weft_lookup_family(const weft_lookup *l) { return l->family; }
int weft_lookup_socktype(const weft_lookup *l) { return l->socktype; }
weft_runtime *weft_lookup_runtime(const weft_lookup *l) { return l->rt; }
void weft_lookup_set_data(weft_lookup *l, void *data) { l->data = data; }
void *weft_lookup_data(const weft_lookup *l) { return l->data; }

bool weft_lookup_add(weft_lookup *l, const struct sockaddr *sa, socklen_t len) {
    if (!l || !sa || l->n >= WEFT__RESOLVE_MAX) return false;
    weft_sockaddr a;
    memset(&a, 0, sizeof a);
    if (sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in)) {
        memcpy(&a.u.in4, sa, sizeof a.u.in4);
    } else if (sa->sa_family == AF_INET6 && len == sizeof(struct sockaddr_in6)) {
        memcpy(&a.u.in6, sa, sizeof a.u.in6);
    } else {
        return false;
    }
    if (l->family != AF_UNSPEC && sa->sa_family != l->family) return false;
    a.len = len;
    if (l->port >= 0) weft_sockaddr_set_port(&a, (uint16_t)l->port);
    for (size_t i = 0; i < l->n; i++)
        if (weft_sockaddr_equal(&l->addrs[i], &a)) return false;
    l->addrs[l->n++] = a;
    return true;
}

void weft_lookup_complete(weft_lookup *l, int result) {
    if (!l) return;
    if (result >= 0) result = l->n ? (int)l->n : -WEFT_ENOADDRESS;
    spin_lock(&l->lock);
    if (WEFT_UNLIKELY(l->done)) {
        spin_unlock(&l->lock);
        weft_future misuse = WEFT_FUTURE_INIT(NULL);
        weft__misuse(&misuse, "weft_lookup_complete called twice for one lookup");
    }
    l->result = result;
    l->done = true;
    weft_waker w = weft_waker_take(&l->waker);
    spin_unlock(&l->lock);
    weft_waker_wake(w);
    lookup_unref(l);
}

/* ---- what the futures use (net.h) -------------------------------------------- */

static weft__resolver_slot *current_slot(weft_runtime *rt) {
    return atomic_load_explicit(&rt->resolvers.current, memory_order_acquire);
}

int weft__resolve_start(weft_runtime *rt, const weft__hostport *hp, int socktype,
                        weft_lookup **out) {
    *out = NULL;
    if (!rt) return -EINVAL;
    weft_lookup *l = malloc(sizeof *l);
    if (!l) return -ENOMEM;
    spin_init(&l->lock);
    atomic_init(&l->refs, 2); /* the future's and the resolver's */
    l->done = l->cancelled = false;
    l->result = 0;
    l->waker = WEFT_WAKER_NONE;
    l->rt = rt;
    weft__runtime_ref(rt);
    l->data = NULL;
    weft__link_clear(&l->link);
    l->family = AF_UNSPEC;
    l->socktype = socktype;
    l->port = hp->service[0] ? -1 : hp->port;
    l->numeric_host = hp->numeric_host;
    memcpy(l->host, hp->host, sizeof l->host);
    if (hp->service[0])
        memcpy(l->service, hp->service, sizeof l->service);
    else
        snprintf(l->service, sizeof l->service, "%u", hp->port);
    l->n = 0;
    weft__resolver_slot *slot = current_slot(rt);
    l->slot = slot;
    atomic_fetch_add_explicit(&weft__lookup_count, 1, memory_order_relaxed);
    int err = slot->vt->start(slot->self, l);
    if (err) {
        /* Not the resolver's: it fails with that error at the first poll. */
        if (err > 0) err = -WEFT_ERESOLVER_FAIL;
        weft_lookup_complete(l, err);
    }
    *out = l;
    return 0;
}

weft_poll weft__resolve_poll(weft_lookup *l, weft_context *cx, int *result, weft_sockaddr **addrs) {
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&l->lock);
    bool done = l->done;
    if (!done) old = weft_waker_replace(&l->waker, &cx->waker);
    spin_unlock(&l->lock);
    weft_waker_drop(old);
    if (!done) return WEFT_PENDING;
    *result = l->result;
    *addrs = l->addrs;
    return WEFT_READY;
}

void weft__resolve_release(weft_lookup *l) {
    if (!l) return;
    spin_lock(&l->lock);
    bool done = l->done;
    if (!done) l->cancelled = true;
    weft_waker w = weft_waker_take(&l->waker);
    spin_unlock(&l->lock);
    weft_waker_drop(w);
    /* Our reference keeps `l` valid during the call. */
    if (!done && l->slot->vt->cancel) l->slot->vt->cancel(l->slot->self, l);
    lookup_unref(l);
}

/* ---- the runtime's table ------------------------------------------------------- */

void weft__resolvers_init(weft__resolvers *r, weft_runtime *rt) {
    pthread_mutex_init(&r->lock, NULL);
    weft__gai_init(&r->gai, rt);
    r->gai_slot = (weft__resolver_slot){&weft__gai_vtable, &r->gai, NULL};
    atomic_init(&r->current, &r->gai_slot);
    r->installed = NULL;
    r->shut = false;
}

void weft__resolvers_shutdown(weft__resolvers *r) {
    pthread_mutex_lock(&r->lock);
    r->shut = true;
    weft__resolver_slot *list = r->installed;
    pthread_mutex_unlock(&r->lock);
    /* No install can add to the list any more: walk it unlocked (a
     * resolver's shutdown may complete lookups, which may take locks). */
    for (weft__resolver_slot *s = list; s; s = s->next)
        if (s->vt->shutdown) s->vt->shutdown(s->self);
    weft__gai_vtable.shutdown(&r->gai);
}

void weft__resolvers_free(weft__resolvers *r) {
    weft__resolver_slot *s = r->installed;
    while (s) {
        weft__resolver_slot *next = s->next;
        if (s->vt->free) s->vt->free(s->self);
        free(s);
        s = next;
    }
    r->installed = NULL;
    weft__gai_destroy(&r->gai);
    pthread_mutex_destroy(&r->lock);
}

int weft_resolver_install(weft_runtime *rt, const weft_resolver_vtable *vt, void *self) {
    if (!rt || !vt || !vt->start) return -EINVAL;
    weft__resolver_slot *s = malloc(sizeof *s);
    if (!s) return -ENOMEM;
    s->vt = vt;
    s->self = self;
    weft__resolvers *r = &rt->resolvers;
    pthread_mutex_lock(&r->lock);
    if (r->shut || atomic_load_explicit(&rt->shutting_down, memory_order_acquire)) {
        pthread_mutex_unlock(&r->lock);
        free(s);
        return -ESHUTDOWN;
    }
    s->next = r->installed;
    r->installed = s;
    atomic_store_explicit(&r->current, s, memory_order_release);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int weft_getaddrinfo_install(weft_runtime *rt, const weft_getaddrinfo_options *opts) {
    if (!rt) return -EINVAL;
    weft__resolvers *r = &rt->resolvers;
    pthread_mutex_lock(&r->lock);
    if (r->shut || atomic_load_explicit(&rt->shutting_down, memory_order_acquire)) {
        pthread_mutex_unlock(&r->lock);
        return -ESHUTDOWN;
    }
    weft__gai_set_max(&r->gai, opts ? opts->max_threads : 0);
    atomic_store_explicit(&r->current, &r->gai_slot, memory_order_release);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

const char *weft_resolver_name(const weft_runtime *rt) {
    if (!rt) return "";
    const weft__resolver_slot *s = atomic_load_explicit(&rt->resolvers.current, memory_order_acquire);
    return s->vt->name ? s->vt->name : "";
}
