/*
 * The runtime's resolvers (weft/resolver.h): the lookup object shared by a
 * future and a resolver, the table of installed resolvers every runtime
 * embeds, and the getaddrinfo resolver (resolver_gai.c).
 *
 * A lookup is shared by two owners: the future that started it and the
 * resolver that answers it. Each holds one reference; the lookup holds one
 * on its runtime, so the resolvers (freed with the runtime's memory)
 * outlive every lookup they were given.
 */
#ifndef WEFT_NET_RESOLVER_H
#define WEFT_NET_RESOLVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "util/list.h"
#include "util/spinlock.h"
#include "weft/net.h"
#include "weft/resolver.h"

/* Most addresses one lookup keeps. */
#define WEFT__RESOLVE_MAX 16

typedef struct weft__resolver_slot {
    const weft_resolver_vtable *vt;
    void *self;
    struct weft__resolver_slot *next; /* in weft__resolvers.installed */
} weft__resolver_slot;

/* The getaddrinfo resolver: a FIFO of lookups in front of at most `max`
 * runners, each a detached call on the blocking pool that takes lookups
 * from the queue until it is empty. */
typedef struct weft__gai {
    pthread_mutex_t lock;
    weft_link queue;  /* weft_lookup.link, waiting for a runner */
    unsigned running; /* runners started and not yet gone */
    unsigned max;
    bool shut;
    struct weft_runtime *rt;
} weft__gai;

typedef struct weft__resolvers {
    pthread_mutex_t lock;                    /* installs, shutdown */
    _Atomic(weft__resolver_slot *) current;  /* where lookups go */
    weft__resolver_slot *installed;          /* every slot installed (not the default) */
    weft__resolver_slot gai_slot;            /* the getaddrinfo resolver */
    weft__gai gai;
    bool shut;
} weft__resolvers;

struct weft_lookup {
    weft_spinlock lock; /* done, result, waker, cancelled */
    _Atomic unsigned refs;
    bool done;
    bool cancelled;
    int result;
    weft_waker waker;
    struct weft_runtime *rt;
    const weft__resolver_slot *slot; /* the resolver it went to */
    void *data;                      /* the resolver's */
    weft_link link;                  /* the getaddrinfo queue */
    int family, socktype;
    int port; /* -1: `service` is a name */
    bool numeric_host; /* host is an IP address: only the service is a name */
    char host[256];
    char service[33];
    size_t n;
    weft_sockaddr addrs[WEFT__RESOLVE_MAX];
};

/* Sets up the table of a new runtime (the getaddrinfo resolver current). */
void weft__resolvers_init(weft__resolvers *r, struct weft_runtime *rt);
/* weft_runtime_destroy, after the tasks: shuts every resolver down. */
void weft__resolvers_shutdown(weft__resolvers *r);
/* The runtime's memory goes: frees every resolver. */
void weft__resolvers_free(weft__resolvers *r);

extern const weft_resolver_vtable weft__gai_vtable;
void weft__gai_init(weft__gai *g, struct weft_runtime *rt);
void weft__gai_set_max(weft__gai *g, unsigned max);
void weft__gai_destroy(weft__gai *g);

/* Lookups handed to a resolver so far (tests: numeric addresses never are). */
extern _Atomic uint64_t weft__lookup_count;

#endif
