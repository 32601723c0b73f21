/*
 * http_fiber: an HTTP server whose handler is a fiber — straight-line code
 * that waits (reads the request body, sleeps, streams the answer) without
 * a coroutine struct. Each request's handler runs on a stack taken from
 * weft's pool.
 *
 *     http_fiber [--port 8080]
 *     curl -d 'some text' localhost:8080/upper     -> SOME TEXT
 *     curl localhost:8080/count                    -> 1..5, one line each 100 ms, chunked
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft/http.h"

static void handle(weft_http_request *req, weft_http_response *res) {
    if (strcmp(req->path, "/upper") == 0) {
        char *body = NULL;
        ssize_t n = weft_http_fiber_read_body(req->body, &body, 1 << 20);
        if (n < 0) return; /* the server answers 400/408/413 for us */
        for (ssize_t i = 0; i < n; i++) body[i] = (char)toupper((unsigned char)body[i]);
        weft_http_response_send(res, 200, "text/plain", body, (size_t)(n > 0 ? n : 0));
        free(body);
    } else if (strcmp(req->path, "/count") == 0) {
        weft_http_response_add_header(res, "Content-Type", "text/plain");
        weft_stream *out = weft_http_response_writer(res);
        for (int i = 1; i <= 5; i++) {
            char line[16];
            int len = snprintf(line, sizeof line, "%d\n", i);
            if (weft_fiber_write_all(out, line, (size_t)len, NULL) < 0) return;
            weft_fiber_sleep(100);
        }
    } else {
        weft_http_response_send(res, 404, "text/plain", "not found\n", 10);
    }
}

static weft_signal sigs[2]; /* SIGINT and SIGTERM */

/* The main fiber: serves until SIGINT or SIGTERM, then shuts down gracefully. */
static void *serve(void *arg) {
    int port = *(int *)arg;
    weft_http_server_options opts = {.handler = {.fiber = handle}};
    weft_http_server *srv;
    char addr[32];
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    int r;
    if ((r = weft_http_server_create(&srv, NULL, &opts)) || (r = weft_http_server_listen(srv, addr, 0))) {
        fprintf(stderr, "http_fiber: %s\n", weft_strerror(r));
        return NULL;
    }
    printf("listening on %u\n", weft_http_server_port(srv));
    fflush(stdout);
    weft_signal_recv intr, term;
    weft_select sel;
    weft_future *kids[2];
    weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS, weft_signal_recv_init(&intr, &sigs[0]),
                           weft_signal_recv_init(&term, &sigs[1])));
    weft_http_fiber_server_shutdown(srv, 5000);
    weft_http_server_destroy(srv);
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 2 && strcmp(argv[1], "--port") == 0 ? atoi(argv[2]) : 8080;
    /* SIGINT and SIGTERM are weft's from here on: none is missed. */
    if (weft_signal_init(&sigs[0], SIGINT) || weft_signal_init(&sigs[1], SIGTERM)) return 1;
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL)) return 1;
    weft_fiber main_fiber;
    weft_block_on(rt, weft_fiber_init(&main_fiber, serve, &port, NULL));
    weft_runtime_destroy(rt);
    weft_signal_destroy(&sigs[0]);
    weft_signal_destroy(&sigs[1]);
    return 0;
}
