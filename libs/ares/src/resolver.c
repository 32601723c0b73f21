/*
 * weft_ares_install and the resolver's functions (weft/resolver.h): start,
 * cancel, shutdown, free. See ares_internal.h for where the channel lives
 * and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ares_internal.h"

int weft__ares_error(int status) {
    switch (status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND: return -WEFT_ENOTFOUND;
    case ARES_ENODATA: return -WEFT_ENOADDRESS;
    case ARES_ETIMEOUT: return -ETIMEDOUT;
    /* A server failure, or no server reachable: the system resolver says
     * EAI_AGAIN for both. */
    case ARES_ESERVFAIL:
    case ARES_ECONNREFUSED: return -WEFT_ERESOLVER_AGAIN;
    case ARES_ENOMEM: return -ENOMEM;
    case ARES_ESERVICE: return -WEFT_ENOSERVICE;
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
    case ARES_EBADHINTS:
    case ARES_EBADSTR: return -EINVAL;
    case ARES_ECANCELLED: return -ECANCELED;
    case ARES_EDESTRUCTION: return -ESHUTDOWN;
    default: return -WEFT_ERESOLVER_FAIL; /* refused, malformed, not implemented, ... */
    }
}

/* ---- a lookup ------------------------------------------------------------------ */

/* The port of a service name for the lookup's socket type (/etc/services). */
static int service_port(const char *service, int socktype, uint16_t *port) {
    struct servent se, *r = NULL;
    char buf[1024];
    getservbyname_r(service, socktype == SOCK_DGRAM ? "udp" : "tcp", &se, buf, sizeof buf, &r);
    if (!r) return -WEFT_ENOSERVICE;
    *port = ntohs((uint16_t)r->s_port);
    return 0;
}

/* A numeric host (the lookup exists for its service name): no lookup. */
static bool numeric_host(const char *host, uint16_t port, weft_lookup *l) {
    struct in_addr v4;
    if (!strchr(host, ':') && inet_pton(AF_INET, host, &v4) != 1) return false; /* a name */
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    char p[8];
    snprintf(p, sizeof p, "%u", port);
    if (getaddrinfo(host, p, &hints, &ai) != 0) return false;
    weft_lookup_add(l, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return true;
}

/* RFC 6761: "localhost" is the loopback, and never a question for DNS. */
static void add_localhost(weft_lookup *l, uint16_t port) {
    weft_sockaddr a;
    weft_sockaddr_ip(&a, "127.0.0.1", port);
    weft_lookup_add(l, &a.u.sa, a.len);
    weft_sockaddr_ip(&a, "::1", port);
    weft_lookup_add(l, &a.u.sa, a.len);
}

/* ares_getaddrinfo's answer. Under res->lock (c-ares calls it from
 * ares_getaddrinfo, ares_process_fd or ares_destroy). */
static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai) {
    (void)timeouts;
    weft__ares_query *q = arg;
    weft_lookup *l = q->l;
    if (l) {
        weft_lookup_set_data(l, NULL);
        if (status == ARES_SUCCESS && ai)
            for (struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next)
                weft_lookup_add(l, n->ai_addr, (socklen_t)n->ai_addrlen);
        weft_lookup_complete(l, weft__ares_error(status));
    }
    if (ai) ares_freeaddrinfo(ai);
    free(q);
}

static int res_start(void *self, weft_lookup *l) {
    weft__ares *res = self;
    const char *host = weft_lookup_host(l);
    uint16_t port;
    if (weft_lookup_port(l) >= 0) {
        port = (uint16_t)weft_lookup_port(l);
    } else {
        int err = service_port(weft_lookup_service(l), weft_lookup_socktype(l), &port);
        if (err) return err;
    }
    if (numeric_host(host, port, l)) {
        weft_lookup_complete(l, 0);
        return 0;
    }
    /* The hosts file, outside the channel's lock (it may be read again). */
    int found = weft__ares_hosts_lookup(&res->hosts, host, port, l);
    if (found < 0) return found;
    if (found == 0 && strcasecmp(host, "localhost") == 0) {
        add_localhost(l, port);
        found = 1;
    }
    if (found) {
        weft_lookup_complete(l, 0);
        return 0;
    }
    weft__ares_query *q = malloc(sizeof *q);
    if (!q) return -ENOMEM;
    q->res = res;
    q->l = l;
    pthread_mutex_lock(&res->lock);
    int err = res->channel ? weft__ares_driver_ensure(res) : -ESHUTDOWN;
    if (err) {
        pthread_mutex_unlock(&res->lock);
        free(q);
        return err;
    }
    weft_lookup_set_data(l, q);
    struct ares_addrinfo_hints hints = {0};
    hints.ai_family = weft_lookup_family(l);
    hints.ai_socktype = weft_lookup_socktype(l);
    hints.ai_flags = ARES_AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    /* c-ares refuses a numeric service "0": leave the port to us then. */
    ares_getaddrinfo(res->channel, host, port ? service : NULL, &hints, on_answer, q);
    weft__ares_driver_wake(res); /* it arms its timer for the new queries */
    pthread_mutex_unlock(&res->lock);
    return 0;
}

static void res_cancel(void *self, weft_lookup *l) {
    weft__ares *res = self;
    pthread_mutex_lock(&res->lock);
    weft__ares_query *q = weft_lookup_data(l);
    if (q) {
        /* c-ares 1.18 cannot cancel one lookup: its queries run out (an
         * answer or a timeout) and the callback frees the query. */
        q->l = NULL;
        weft_lookup_set_data(l, NULL);
    }
    pthread_mutex_unlock(&res->lock);
    if (q) weft_lookup_complete(l, -ECANCELED);
}

/* Every lookup in the channel completes with -ESHUTDOWN (ares_destroy
 * calls back with ARES_EDESTRUCTION), every socket is given back. */
static void res_shutdown(void *self) {
    weft__ares *res = self;
    pthread_mutex_lock(&res->lock);
    if (res->channel) {
        ares_destroy(res->channel);
        res->channel = NULL;
    }
    weft__ares_socks_clear(res);
    weft_waker w = weft_waker_take(&res->driver);
    pthread_mutex_unlock(&res->lock);
    weft_waker_wake(w); /* a driver still there ends */
}

static void res_free(void *self) {
    weft__ares *res = self;
    if (res->channel) ares_destroy(res->channel); /* never shut down: it was never used */
    weft__ares_socks_clear(res);
    weft_waker_drop(res->driver);
    weft__ares_hosts_destroy(&res->hosts);
    pthread_mutex_destroy(&res->lock);
    free(res);
}

static const weft_resolver_vtable ares_vtable = {"c-ares", res_start, res_cancel, res_shutdown,
                                                 res_free};

/* ---- install ------------------------------------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;
static void library_init(void) { library_status = ares_library_init(ARES_LIB_INIT_ALL); }

/* Splits a search list ("a.example b.example", or commas) into `o`. */
static int set_search(struct ares_options *o, const char *search, char **store) {
    size_t n = 0;
    for (const char *p = search; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t') p++;
        if (n == 6) return -EINVAL; /* resolv.conf's limit */
        store[n] = strndup(start, (size_t)(p - start));
        if (!store[n]) return -ENOMEM;
        n++;
    }
    o->domains = store;
    o->ndomains = (int)n;
    return 0;
}

static int channel_create(weft__ares *res, const weft_ares_options *opts) {
    struct ares_options o;
    memset(&o, 0, sizeof o);
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
    o.sock_state_cb = weft__ares_sock_state;
    o.sock_state_cb_data = res;
    o.lookups = (char *)"b"; /* DNS only: the hosts file is ours (hosts.c) */
    /* c-ares 1.18 sends every query to a server from one UDP socket: with
     * thousands of lookups in flight, a burst of answers (a local caching
     * server) would overflow the default buffer (a few hundred datagrams)
     * and cost a retransmission timeout each. The kernel caps it at
     * net.core.rmem_max. */
    o.socket_receive_buffer_size = 1 << 20;
    mask |= ARES_OPT_SOCK_RCVBUF;
    char *domains[6] = {0};
    int err = 0;
    if (opts->search) {
        err = set_search(&o, opts->search, domains);
        mask |= ARES_OPT_DOMAINS;
    }
    if (opts->ndots) {
        o.ndots = (int)opts->ndots;
        mask |= ARES_OPT_NDOTS;
    }
    if (opts->timeout_ms) {
        o.timeout = (int)opts->timeout_ms;
        mask |= ARES_OPT_TIMEOUTMS;
    }
    if (opts->attempts) {
        o.tries = (int)opts->attempts;
        mask |= ARES_OPT_TRIES;
    }
    if (opts->resolv_conf_path) {
        /* c-ares reads a missing file as an empty one: say so instead. */
        if (access(opts->resolv_conf_path, R_OK) != 0) err = err ? err : -errno;
        o.resolvconf_path = (char *)opts->resolv_conf_path;
        mask |= ARES_OPT_RESOLVCONF;
    }
    if (!err) {
        int st = ares_init_options(&res->channel, &o, mask);
        if (st != ARES_SUCCESS) {
            res->channel = NULL;
            err = st == ARES_ENOMEM ? -ENOMEM : -WEFT_ERESOLVER_FAIL;
        }
    }
    for (size_t i = 0; i < 6; i++) free(domains[i]);
    if (!err && opts->servers) {
        int st = opts->servers[0] ? ares_set_servers_ports_csv(res->channel, opts->servers)
                                  : ARES_EBADSTR;
        if (st != ARES_SUCCESS) err = st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
    }
    return err;
}

int weft_ares_install(weft_runtime *rt, const weft_ares_options *opts) {
    static const weft_ares_options defaults;
    if (!rt) return -EINVAL;
    if (!opts) opts = &defaults;
    pthread_once(&library_once, library_init);
    if (library_status != ARES_SUCCESS) return -WEFT_ERESOLVER_FAIL;
    weft__ares *res = calloc(1, sizeof *res);
    if (!res) return -ENOMEM;
    const char *hosts = opts->hosts_path ? (opts->hosts_path[0] ? opts->hosts_path : NULL)
                                         : "/etc/hosts";
    if (weft__ares_hosts_init(&res->hosts, hosts)) {
        free(res);
        return -ENOMEM;
    }
    pthread_mutex_init(&res->lock, NULL);
    res->rt = rt;
    res->driver = WEFT_WAKER_NONE;
    int err = channel_create(res, opts);
    if (!err) err = weft_resolver_install(rt, &ares_vtable, res);
    if (err) res_free(res);
    return err;
}

const char *weft_ares_version(void) { return ares_version(NULL); }
