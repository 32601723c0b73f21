/*
 * fiber_proxy: a TCP proxy written with fibers. Every connection to LISTEN
 * is relayed to UPSTREAM, both ways, until both sides are done or nothing
 * moves for IDLE seconds (default 30).
 *
 *     fiber_proxy LISTEN UPSTREAM [IDLE_SECS]
 *     fiber_proxy 127.0.0.1:8080 127.0.0.1:80
 *
 * Prints "listening on PORT". On Ctrl-C (SIGINT) it stops accepting,
 * gives the open connections GRACE_MS to finish, closes the rest and exits
 * with status 0. bench/peers/tokio_examples/src/bin/proxy.rs is the same
 * program for Tokio.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

#define GRACE_MS 5000

static const char *upstream;
static uint64_t idle_ms;

/* One connection: relays it to the upstream server until both directions
 * have ended or nothing moved for idle_ms. */
static void *relay(void *arg) {
    weft_tcp_stream *client = arg, server;
    int err = weft_fiber_connect(&server, upstream);
    if (err == 0) {
        weft_copy_bidirectional copy;
        weft_copy_bidirectional_options opts = {.buf_size = 16384, .idle_timeout_ms = idle_ms};
        err = weft_await(weft_copy_bidirectional_init(&copy, &client->stream, &server.stream, &opts));
        if (err == 0) err = copy.result;
        weft_tcp_stream_close(&server);
    }
    /* An idle pair is closed without a word, and so is one cut at shutdown. */
    if (err < 0 && err != -ETIMEDOUT && err != -ECANCELED)
        fprintf(stderr, "fiber_proxy: %s: %s\n", upstream, weft_strerror(err));
    weft_tcp_stream_close(client);
    free(client);
    return NULL;
}

/* ---- the server: accept until Ctrl-C, then a grace period ------------------------- */

static weft_task_tracker *tracker; /* counts the connections' fibers */

static void close_unserved(void *arg) { /* a connection whose fiber never ran */
    weft_tcp_stream_close(arg);
    free(arg);
}

/* Starts a fiber for each connection. Returns only if accepting fails. */
static void *accept_loop(void *arg) {
    weft_tcp_listener *listener = arg;
    weft_fiber_options opts = {.arg_drop = close_unserved};
    for (;;) {
        weft_tcp_stream *client = malloc(sizeof *client);
        int err = client ? weft_fiber_accept(listener, client) : -ENOMEM;
        if (err < 0) {
            free(client);
            return (void *)weft_strerror(err);
        }
        weft_fiber conn;
        weft_fiber_init(&conn, relay, client, &opts);
        WEFT_TRACKER_SPAWN_DETACHED(tracker, weft_runtime_current(), &conn);
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: fiber_proxy LISTEN UPSTREAM [IDLE_SECS]\n");
        return 2;
    }
    upstream = argv[2];
    idle_ms = (argc > 3 ? strtoull(argv[3], NULL, 10) : 30) * 1000;
    weft_runtime *rt;
    weft_tcp_listener listener;
    int err = weft_runtime_create(&rt, NULL);
    if (!err) err = weft_task_tracker_create(&tracker);
    if (!err) err = weft_tcp_listener_bind(&listener, rt, argv[1], 0);
    if (err) {
        fprintf(stderr, "fiber_proxy: %s: %s\n", argv[1], weft_strerror(err));
        return 1;
    }
    printf("listening on %u\n", weft_tcp_listener_port(&listener));
    fflush(stdout);

    /* Accept until Ctrl-C, or until accepting fails ... */
    weft_fiber acceptor;
    weft_ctrl_c ctrl_c;
    weft_select sel;
    weft_future *kids[2];
    weft_block_on(rt, WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS,
                                  weft_fiber_init(&acceptor, accept_loop, &listener, NULL), weft_ctrl_c_init(&ctrl_c)));
    if (sel.winner == 0) fprintf(stderr, "fiber_proxy: accept: %s\n", (char *)acceptor.output.value);
    /* ... then refuse new connections and give the open ones GRACE_MS. */
    weft_tcp_listener_close(&listener);
    weft_task_tracker_close(tracker);
    weft_task_tracker_wait all_done;
    weft_timeout grace;
    weft_block_on(rt, weft_timeout_init(&grace, weft_task_tracker_wait_init(&all_done, tracker), GRACE_MS));
    weft_runtime_destroy(rt); /* cancels the connections still open: each closes its sockets */
    weft_task_tracker_destroy(tracker);
    return sel.winner == 0 ? 1 : 0;
}
