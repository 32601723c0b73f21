/**
 * @file
 * weft/ares.h — an asynchronous resolver for weft, built on c-ares
 * (library weft-ares: `pkg-config weft-ares`, CMake target weft::ares).
 *
 * weft_ares_install makes c-ares the runtime's resolver (weft/resolver.h):
 * from then on weft_resolve and weft_tcp_connect by name look names up
 * without a thread per lookup. The c-ares sockets are watched by the
 * runtime's reactor and its retransmissions and timeouts run on the
 * runtime's timers, from one task the library spawns on the runtime at the
 * first lookup; a thousand lookups in flight add no thread.
 *
 * Which names it answers: the hosts file (/etc/hosts, or `hosts_path`),
 * then DNS, with the name servers, search domains, ndots, timeout and
 * attempts of /etc/resolv.conf (or `resolv_conf_path`), LOCALDOMAIN and
 * RES_OPTIONS, each overridable below; "localhost" is always a loopback
 * address (RFC 6761) and is never sent to a name server. It does not use
 * the system's name service switch: names that only NSS modules know (LDAP,
 * NIS, mDNS through nss-mdns, systemd's nss-myhostname, containers' NSS
 * plugins) are not found. For those keep the getaddrinfo resolver (the
 * default: do not install this one, or go back with
 * weft_getaddrinfo_install).
 *
 * Errors: -WEFT_ENOTFOUND (no such name), -WEFT_ENOADDRESS (the name has no
 * address), -WEFT_ENOSERVICE, -ETIMEDOUT (no name server answered in the
 * configured time), -WEFT_ERESOLVER_AGAIN (a server failure: try later),
 * -WEFT_ERESOLVER_FAIL (a refusal or a malformed answer), -ENOMEM,
 * -ESHUTDOWN (the runtime is being destroyed).
 */
#ifndef WEFT_ARES_H
#define WEFT_ARES_H

#include <weft/resolver.h>
#include <weft/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup ares The c-ares resolver (weft-ares)
 * @{ */

/** Options for weft_ares_install. Zero-initialised means: as the system
 *  is configured (/etc/hosts, /etc/resolv.conf, the environment). */
typedef struct weft_ares_options {
    /** Name servers, comma-separated, each an address with an optional port:
     *  "192.0.2.53,[2001:db8::53]:5353,127.0.0.1:5300". NULL: those of
     *  resolv.conf (127.0.0.1 if it names none). */
    const char *servers;
    /** Search domains, separated by spaces or commas ("corp.example
     *  example.com"); "" for none. NULL: resolv.conf's search or domain
     *  line, or $LOCALDOMAIN. */
    const char *search;
    /** A name with fewer dots than this is tried with the search domains
     *  first (resolv.conf's ndots). 0: resolv.conf's, or 1. */
    unsigned ndots;
    /** Time to wait for an answer from one server on the first attempt, in
     *  milliseconds; c-ares doubles it on each round through the servers.
     *  0: resolv.conf's timeout, or 5000. With one server and `attempts`
     *  tries, a lookup that gets no answer fails with -ETIMEDOUT after
     *  about timeout_ms * (2^attempts - 1). */
    unsigned timeout_ms;
    /** Attempts per server (resolv.conf's attempts). 0: resolv.conf's, or 4. */
    unsigned attempts;
    /** The hosts file read before DNS. NULL: /etc/hosts; "": none. It is
     *  read again whenever it changes. */
    const char *hosts_path;
    /** The resolv.conf to read. NULL: /etc/resolv.conf. */
    const char *resolv_conf_path;
} weft_ares_options;

/**
 * Makes a c-ares resolver with `opts` (NULL: all defaults) the resolver of
 * `rt` (see weft_resolver_install: the one it replaces finishes the
 * lookups it holds). Reads resolv.conf and the environment now; the hosts
 * file at each lookup (it is cached until it changes). Lookups:
 *
 * - a numeric host with a service name, a name of the hosts file and
 *   "localhost" are answered when the lookup starts;
 * - other names go to the name servers: A and AAAA queries at once, the
 *   search domains in turn, retransmitted per `timeout_ms` and `attempts`;
 * - dropping a lookup's future discards its answer at once (the queries
 *   already sent run out on their own and free what they hold).
 *
 * Returns 0, -EINVAL (NULL `rt`, or `servers` malformed), -ENOMEM,
 * -ENOENT (`resolv_conf_path` does not exist), -ESHUTDOWN (the runtime is
 * being destroyed), or -WEFT_ERESOLVER_FAIL (c-ares refused the
 * configuration). Any thread.
 */
WEFT_API int weft_ares_install(weft_runtime *rt, const weft_ares_options *opts);

/** The version of the c-ares library in use ("1.18.1"). Any thread. */
WEFT_API const char *weft_ares_version(void);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_ARES_H */
