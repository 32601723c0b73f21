/**
 * @file
 * weft/resolver.h — the runtime's resolver: the code that answers the name
 * lookups of weft_resolve and of weft_tcp_connect by name.
 *
 * Every runtime has one resolver. It starts as the getaddrinfo resolver:
 * lookups queue in front of a few threads of the blocking pool (four
 * unless weft_getaddrinfo_install says otherwise), each running
 * getaddrinfo(3). It answers every name the system's resolver answers
 * (/etc/hosts, DNS, and whatever else /etc/nsswitch.conf names: LDAP,
 * mDNS, ...), and a lookup costs a blocking call on a pool thread.
 *
 * Another resolver can be installed with weft_resolver_install: the
 * optional library weft-ares (weft/ares.h, weft_ares_install) installs one
 * driven by c-ares through the runtime's reactor and timers, with no thread
 * per lookup. A resolver is a small table of functions (weft_resolver_vtable)
 * that starts a lookup and later completes it from any thread; weft turns
 * that into the futures, their wake-ups and their cancellation.
 *
 * Numeric addresses with numeric ports ("127.0.0.1:80", "[::1]:443") are
 * answered on the spot and never reach a resolver. The plain calls that take
 * an address text (weft_tcp_listener_bind, weft_udp_bind, weft_udp_connect,
 * weft_tcp_socket_bind) do not use the runtime's resolver: they call
 * getaddrinfo on the calling thread (weft/net.h, "Blocking").
 */
#ifndef WEFT_RESOLVER_H
#define WEFT_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_runtime;

/** @defgroup resolver Resolvers
 * @{ */

/**
 * One name lookup, as a resolver sees it (opaque). weft creates it when a
 * weft_resolve or weft_tcp_connect future starts a lookup and hands it to
 * the runtime's resolver; the resolver reads the query with the accessors
 * below, adds the addresses it finds with weft_lookup_add, and ends it with
 * weft_lookup_complete, exactly once.
 */
typedef struct weft_lookup weft_lookup;

/** The host to look up: a name ("example.com"), or a numeric address
 *  ("127.0.0.1", "fe80::1%eth0", without brackets) when only the service is
 *  a name. Valid until the lookup is completed. Any thread. */
WEFT_API const char *weft_lookup_host(const weft_lookup *l);
/** The service: a service name ("http"), or the decimal port ("443") when
 *  the port is a number (weft_lookup_port then says which). Any thread. */
WEFT_API const char *weft_lookup_service(const weft_lookup *l);
/** The port when it was given as a number (0-65535), or -1 when it is a
 *  service name, which the resolver looks up for weft_lookup_socktype.
 *  Any thread. */
WEFT_API int weft_lookup_port(const weft_lookup *l);
/** The address family wanted: AF_UNSPEC (both), AF_INET or AF_INET6. Any thread. */
WEFT_API int weft_lookup_family(const weft_lookup *l);
/** The socket type the addresses are for: SOCK_STREAM or SOCK_DGRAM. Any thread. */
WEFT_API int weft_lookup_socktype(const weft_lookup *l);
/** The runtime whose task started the lookup (the lookup holds a
 *  reference to it until it is freed). Any thread. */
WEFT_API struct weft_runtime *weft_lookup_runtime(const weft_lookup *l);

/** Stores a pointer for the resolver's own use (NULL at start). weft never
 *  reads it; the resolver synchronises its accesses (they may come from
 *  start, cancel and its own completion on different threads). */
WEFT_API void weft_lookup_set_data(weft_lookup *l, void *data);
/** The pointer stored with weft_lookup_set_data. */
WEFT_API void *weft_lookup_data(const weft_lookup *l);

/**
 * Adds an answer: an IPv4 or IPv6 socket address of `len` bytes. When the
 * lookup has a numeric port (weft_lookup_port) that port is written into
 * the stored copy; otherwise the address must carry the service's port.
 * Duplicates are skipped. Returns true if it was stored, false if the
 * lookup is full (16 addresses are kept), the family is neither AF_INET
 * nor AF_INET6, the family is not the one wanted, or `len` is wrong. Call
 * it only before weft_lookup_complete, from the thread that will complete
 * the lookup.
 */
WEFT_API bool weft_lookup_add(weft_lookup *l, const struct sockaddr *sa, socklen_t len);

/**
 * Ends the lookup: `result` 0 publishes the addresses added (none added:
 * the future sees -WEFT_ENOADDRESS), a negative value is the error the
 * future sees (-WEFT_ENOTFOUND, -WEFT_ENOADDRESS, -WEFT_ENOSERVICE,
 * -WEFT_ERESOLVER_AGAIN, -WEFT_ERESOLVER_FAIL, -ETIMEDOUT, -ENOMEM, ...).
 * Wakes the waiting future. Call it exactly once for every lookup that
 * `start` accepted, possibly inside `start` itself, from any thread; the
 * resolver must not touch `l` afterwards. If the future was dropped
 * meanwhile the answer is discarded. The lookup holds a reference on its
 * runtime, so completing it can free the runtime's memory (and call the
 * resolver's `free`) when it is the last one: a resolver that completes
 * lookups from threads of its own holds a reference there
 * (weft_runtime_ref).
 */
WEFT_API void weft_lookup_complete(weft_lookup *l, int result);

/**
 * A resolver: the functions weft calls, and the `self` pointer given to
 * weft_resolver_install, passed back to each.
 */
typedef struct weft_resolver_vtable {
    /** A short name ("getaddrinfo", "c-ares"), for weft_resolver_name. */
    const char *name;
    /**
     * Starts looking up `l`. Called once per lookup, on the runtime thread
     * polling the future; must not block. Returns 0 if it took the lookup
     * (it must then call weft_lookup_complete exactly once, now or later,
     * from any thread), or a negative error the future completes with (the
     * lookup is then not the resolver's). Required.
     */
    int (*start)(void *self, weft_lookup *l);
    /**
     * The future waiting for `l` was dropped before it saw the answer. `l`
     * stays valid during the call, which may come from any thread and may
     * race with the resolver's own completion of `l` (before, during or
     * after it). The resolver should stop the work if it can; it must still
     * complete `l` if it has not (an answer after a cancel is discarded).
     * May be NULL: the lookup then runs to its end and its answer is
     * discarded.
     */
    void (*cancel)(void *self, weft_lookup *l);
    /**
     * The runtime is being destroyed: its tasks have been dropped and its
     * threads, except those of the blocking pool, have stopped. The
     * resolver completes every lookup it holds (now, or as soon as the
     * work running for it ends), gives back the runtime's resources it
     * uses (registrations, timers), and refuses later starts with
     * -ESHUTDOWN. Called once, on the thread destroying the runtime. May be
     * NULL.
     */
    void (*shutdown)(void *self);
    /**
     * Frees the resolver. Called once, when the runtime's memory goes
     * (after the last lookup was freed), on whichever thread let go of the
     * last reference. May be NULL.
     */
    void (*free)(void *self);
} weft_resolver_vtable;

/**
 * Makes `vt` with `self` the resolver of `rt`: lookups started from now on
 * go to it. The resolver it replaces finishes the lookups it holds and is
 * shut down and freed with the runtime, like the new one. `vt` must stay
 * valid as long as the runtime. Returns 0 (the runtime then owns `self`:
 * it calls shutdown and free), -EINVAL (NULL `rt` or `vt`, or no `start`),
 * -ESHUTDOWN (the runtime is being destroyed) or -ENOMEM; on failure
 * nothing changed and `self` is still the caller's. Any thread.
 */
WEFT_API int weft_resolver_install(struct weft_runtime *rt, const weft_resolver_vtable *vt,
                                   void *self);

/** The name of the resolver `rt` uses now ("getaddrinfo", "c-ares", ...),
 *  or "" for a NULL `rt`. Any thread. */
WEFT_API const char *weft_resolver_name(const struct weft_runtime *rt);

/** Options of the getaddrinfo resolver. Zero-initialised means defaults. */
typedef struct weft_getaddrinfo_options {
    /** Most blocking-pool threads running lookups at once (0: 4). Further
     *  lookups wait in a queue, in order. */
    unsigned max_threads;
} weft_getaddrinfo_options;

/** The number of threads the getaddrinfo resolver uses unless told otherwise. */
#define WEFT_GETADDRINFO_THREADS 4

/**
 * Makes the getaddrinfo resolver the resolver of `rt` again (it is the one
 * every runtime starts with), with `opts` (NULL: defaults). Each lookup
 * runs getaddrinfo on one of at most `max_threads` threads of the blocking
 * pool; the others wait in a queue. A dropped lookup that has not started
 * leaves the queue; one that is running finishes on its thread and its
 * answer is discarded. A lookup holds its thread as long as getaddrinfo
 * takes (a name server that does not answer holds it for the system
 * resolver's whole timeout): more threads let more slow lookups run at
 * once. Returns 0, -EINVAL (NULL `rt`) or -ESHUTDOWN. Any thread.
 */
WEFT_API int weft_getaddrinfo_install(struct weft_runtime *rt,
                                      const weft_getaddrinfo_options *opts);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_RESOLVER_H */
