/*
 * service: a small HTTPS API over Redis — JSON items you create, read,
 * replace and delete (examples/service/items.h has the routes) — with a
 * graceful shutdown on Ctrl-C or SIGTERM.
 *
 *     examples/service/run.sh            # one command: certificate, redis-server, build, run
 *
 *     service --cert cert.pem --key key.pem [--listen 127.0.0.1:8443]
 *             [--redis 127.0.0.1:6379] [--hash weft-service:items]
 *             [--threads N] [--grace-ms 5000]
 *
 * Everything waits in straight-line code on fibers: the main fiber
 * connects to Redis, starts the server and waits for a signal; each
 * request runs on a fiber of its own. The server speaks HTTPS through a
 * stream factory (examples/https_streams.h) that puts a weft-tls stream
 * over each accepted connection.
 *
 * Ctrl-C or SIGTERM: a graceful shutdown (--grace-ms for the requests in
 * flight); a second one cancels what is left at once.
 *
 * Exit status: 0 after a shutdown (also when requests had to be
 * cancelled: that is said on stderr), 1 if it could not start, 2 for bad
 * arguments.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../https_streams.h"
#include "../shutdown_signal.h"
#include "items.h"
#include "weft.h"
#include "weft/http.h"
#include "weft/redis.h"
#include "weft/tls.h"

typedef struct config {
    const char *listen, *redis, *cert, *key, *hash;
    unsigned threads;
    uint64_t grace_ms;
    weft_tls_context *tls;
    shutdown_signals sigs; /* SIGINT and SIGTERM are ours from the start of main */
    int status;            /* the exit status, set by the main fiber */
} config;

/* Waits for the next Ctrl-C (SIGINT) or SIGTERM: 0, or -errno. */
static int next_signal(config *cfg) {
    shutdown_signal sig;
    int r = weft_await(shutdown_signal_init(&sig, &cfg->sigs));
    return r < 0 ? r : sig.result;
}

/* The graceful shutdown, cut short by a second signal: 0 (every request
 * finished), 1 (the grace period ran out: the rest were cancelled), 2 (a
 * second signal: everything left is cancelled now), or -errno. */
static int shut_down(config *cfg, weft_http_server *srv) {
    weft_http_server_shutdown sd;
    shutdown_signal sig;
    weft_select sel;
    weft_future *kids[2];
    int r = weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS,
                                   weft_http_server_shutdown_init(&sd, srv, cfg->grace_ms),
                                   shutdown_signal_init(&sig, &cfg->sigs)));
    if (r < 0) return r;
    return sel.winner == 0 ? sd.result : 2;
}

/* The main fiber. */
static void *serve(void *arg) {
    config *cfg = arg;
    cfg->status = 1;
    items_store store = {.hash = cfg->hash};
    int r = weft_fiber_redis_connect(&store.redis, cfg->redis);
    if (r < 0) {
        fprintf(stderr, "service: redis at %s: %s\n", cfg->redis, weft_strerror(r));
        return NULL;
    }
    weft_http_stream_factory https = https_streams(cfg->tls);
    weft_http_server_options opts = {
        .handler = {.fiber = items_handle, .user = &store},
        .max_body_bytes = ITEMS_MAX_BODY,
        .streams = &https,
        .server_name = "weft-service",
    };
    weft_http_server *srv = NULL;
    if ((r = weft_http_server_create(&srv, NULL, &opts)) ||
        (r = weft_http_server_listen(srv, cfg->listen, 0))) {
        fprintf(stderr, "service: listen on %s: %s\n", cfg->listen, weft_strerror(r));
        if (srv) weft_http_server_destroy(srv);
        weft_redis_close(store.redis);
        return NULL;
    }
    printf("service: serving HTTPS on %s (port %u); items in redis at %s, hash %s\n", cfg->listen,
           weft_http_server_port(srv), cfg->redis, cfg->hash);
    fflush(stdout);

    r = next_signal(cfg);
    if (r < 0) fprintf(stderr, "service: waiting for signals: %s; stopping\n", weft_strerror(r));
    printf("service: stopping: no new connections; requests in flight get %llu ms "
           "(Ctrl-C again: cancel them now)\n", (unsigned long long)cfg->grace_ms);
    fflush(stdout);
    r = shut_down(cfg, srv);
    if (r == 1) fprintf(stderr, "service: the grace period ran out: requests were cancelled\n");
    else if (r == 2) fprintf(stderr, "service: a second signal: requests were cancelled\n");
    else if (r < 0) fprintf(stderr, "service: shutdown: %s\n", weft_strerror(r));
    weft_http_server_stats st;
    weft_http_server_stats_get(srv, &st);
    weft_http_server_destroy(srv); /* cancels what a second signal left */
    /* Replies already asked for are delivered, then the connection closes. */
    weft_fiber_redis_disconnect(store.redis);
    weft_redis_close(store.redis);
    printf("service: stopped after %llu requests on %llu connections\n",
           (unsigned long long)st.requests, (unsigned long long)st.accepted);
    cfg->status = 0;
    return NULL;
}

static int usage(void) {
    fprintf(stderr, "usage: service --cert FILE --key FILE [--listen HOST:PORT] [--redis HOST:PORT]\n"
                    "               [--hash KEY] [--threads N] [--grace-ms MS]\n");
    return 2;
}

int main(int argc, char **argv) {
    config cfg = {.listen = "127.0.0.1:8443", .redis = "127.0.0.1:6379",
                  .hash = "weft-service:items", .threads = 1, .grace_ms = 5000};
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) return usage();
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--listen") == 0) cfg.listen = v;
        else if (strcmp(k, "--redis") == 0) cfg.redis = v;
        else if (strcmp(k, "--cert") == 0) cfg.cert = v;
        else if (strcmp(k, "--key") == 0) cfg.key = v;
        else if (strcmp(k, "--hash") == 0) cfg.hash = v;
        else if (strcmp(k, "--threads") == 0) cfg.threads = (unsigned)atoi(v);
        else if (strcmp(k, "--grace-ms") == 0) cfg.grace_ms = strtoull(v, NULL, 10);
        else return usage();
    }
    if (!cfg.cert || !cfg.key || cfg.threads < 1) return usage();
    /* From here on SIGINT and SIGTERM wait for the main fiber: none is
     * missed, and none kills the service half way through starting. */
    int r = shutdown_signals_listen(&cfg.sigs);
    if (r < 0) {
        fprintf(stderr, "service: signals: %s\n", weft_strerror(r));
        return 1;
    }

    weft_tls_options to = {.cert_file = cfg.cert, .key_file = cfg.key,
                           .alpn = (const char *[]){"http/1.1", NULL}};
    r = weft_tls_context_create(&cfg.tls, WEFT_TLS_SERVER, &to);
    if (r < 0) {
        fprintf(stderr, "service: certificate %s, key %s: %s (%s)\n", cfg.cert, cfg.key,
                weft_strerror(r), weft_tls_context_error_detail());
        return 1;
    }
    weft_runtime *rt;
    weft_runtime_options ro = {.flavor = cfg.threads > 1 ? WEFT_MULTI_THREAD : WEFT_CURRENT_THREAD,
                               .workers = cfg.threads};
    if ((r = weft_runtime_create(&rt, &ro))) {
        fprintf(stderr, "service: runtime: %s\n", weft_strerror(r));
        return 1;
    }
    weft_fiber main_fiber;
    weft_block_on(rt, weft_fiber_init(&main_fiber, serve, &cfg, NULL));
    if (main_fiber.output.error) {
        fprintf(stderr, "service: %s\n", weft_strerror(main_fiber.output.error));
        cfg.status = 1;
    }
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(cfg.tls);
    shutdown_signals_destroy(&cfg.sigs);
    return cfg.status;
}
