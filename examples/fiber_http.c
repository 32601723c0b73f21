/*
 * fiber_http: a small HTTP/1.1 server with keep-alive, written with fibers
 * directly over sockets. GET / answers "hello", POST /echo answers the body
 * it was sent (Content-Length bodies), anything else is 404; a malformed
 * request gets 400 and the connection is closed.
 *
 *     fiber_http [ADDR]          (default 127.0.0.1:0: any free port)
 *     curl -d 'some text' 127.0.0.1:PORT/echo
 *
 * Prints "listening on PORT". On Ctrl-C (SIGINT) it stops accepting, closes
 * idle connections, lets requests in progress finish (their answers say
 * "connection: close") for up to GRACE_MS, closes the rest and exits with
 * status 0. bench/peers/tokio_examples/src/bin/tinyhttp.rs is the same
 * program for Tokio.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weft.h"

#define MAX_LINE 8192     /* the longest request line or header line */
#define MAX_BODY (1 << 20)
#define GRACE_MS 5000

static weft_cancel_token stop;     /* cancelled at shutdown */
static weft_task_tracker *tracker; /* counts the connections */

typedef struct request {
    char head[MAX_LINE]; /* the request line: method and path point into it */
    char *method, *path;
    bool keep_alive;
    char *body;
    size_t len;
} request;

/* Reads a request line, headers and body from `in`. Returns 1 (a request:
 * free its body), 0 (the client closed, or we are stopping and it was
 * idle) or -1 (malformed: answer 400). */
static int read_request(weft_bufreader *in, request *req) {
    weft_read_until first;
    weft_until_cancelled idle; /* the wait for a request ends at shutdown */
    if (weft_await(weft_until_cancelled_init(&idle, &stop, weft_read_line_init(&first, in, req->head, MAX_LINE))) ||
        idle.result || first.result <= 0)
        return 0;
    if (req->head[first.result - 1] != '\n') return -1; /* over MAX_LINE */
    char *rest, *version;
    req->method = strtok_r(req->head, " \t\r\n", &rest);
    req->path = strtok_r(NULL, " \t\r\n", &rest);
    if (!(version = strtok_r(NULL, " \t\r\n", &rest))) return -1;
    req->keep_alive = strcmp(version, "HTTP/1.1") == 0;
    size_t length = 0;
    for (;;) {
        char line[MAX_LINE];
        ssize_t n = weft_fiber_read_line(in, line, sizeof line);
        if (n <= 0) return 0;
        if (line[n - 1] != '\n') return -1;
        while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = 0;
        if (n == 0) break; /* the end of the headers */
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char *value = colon + 1 + strspn(colon + 1, " \t"), *end;
        if (strcasecmp(line, "content-length") == 0) {
            length = strtoul(value, &end, 10);
            if (!isdigit((unsigned char)*value) || *end || length > MAX_BODY) return -1;
        } else if (strcasecmp(line, "connection") == 0) {
            req->keep_alive = strcasecmp(value, "close") != 0;
        }
    }
    req->len = length;
    req->body = malloc(length + 1);
    if (req->body && weft_fiber_read_exact(&in->stream, req->body, length, NULL) == 0) return 1;
    free(req->body);
    return -1;
}

/* Writes an answer. Returns 0 or -errno. */
static int respond(weft_stream *out, const char *status, const char *body, size_t len, bool keep_alive) {
    char head[128];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\ncontent-length: %zu\r\nconnection: %s\r\n\r\n", status,
                     len, keep_alive ? "keep-alive" : "close");
    int err = weft_fiber_write_all(out, head, (size_t)n, NULL);
    return err ? err : weft_fiber_write_all(out, body, len, NULL);
}

/* One connection: answers its requests until it closes or asks to. */
static void *serve(void *arg) {
    weft_tcp_stream *conn = arg;
    weft_stream *out = &conn->stream;
    weft_bufreader in;
    request req;
    int got = 0;
    if (weft_bufreader_init(&in, &conn->stream, NULL, MAX_LINE) == 0) {
        while ((got = read_request(&in, &req)) > 0) {
            bool keep_alive = req.keep_alive && !weft_cancel_token_is_cancelled(&stop);
            int err;
            if (strcmp(req.method, "GET") == 0 && strcmp(req.path, "/") == 0)
                err = respond(out, "200 OK", "hello\n", 6, keep_alive);
            else if (strcmp(req.method, "POST") == 0 && strcmp(req.path, "/echo") == 0)
                err = respond(out, "200 OK", req.body, req.len, keep_alive);
            else
                err = respond(out, "404 Not Found", "not found\n", 10, keep_alive);
            free(req.body);
            if (err || !keep_alive) break;
        }
        weft_bufreader_destroy(&in);
    }
    if (got < 0) respond(out, "400 Bad Request", "", 0, false);
    weft_tcp_stream_close(conn);
    free(conn);
    return NULL;
}

/* ---- the server: accept until Ctrl-C, then a grace period ------------------------- */

static void close_unserved(void *arg) { /* a connection whose fiber never ran */
    weft_tcp_stream_close(arg);
    free(arg);
}

/* Starts a fiber for each connection. Returns only if accepting fails. */
static void *accept_loop(void *arg) {
    weft_tcp_listener *listener = arg;
    weft_fiber_options opts = {.arg_drop = close_unserved};
    for (;;) {
        weft_tcp_stream *conn = malloc(sizeof *conn);
        int err = conn ? weft_fiber_accept(listener, conn) : -ENOMEM;
        if (err < 0) {
            free(conn);
            return (void *)weft_strerror(err);
        }
        weft_fiber fiber;
        weft_fiber_init(&fiber, serve, conn, &opts);
        WEFT_TRACKER_SPAWN_DETACHED(tracker, weft_runtime_current(), &fiber);
    }
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    weft_runtime *rt;
    weft_tcp_listener listener;
    int err = weft_runtime_create(&rt, NULL);
    if (!err) err = weft_cancel_token_init(&stop);
    if (!err) err = weft_task_tracker_create(&tracker);
    if (!err) err = weft_tcp_listener_bind(&listener, rt, addr, 0);
    if (err) {
        fprintf(stderr, "fiber_http: %s: %s\n", addr, weft_strerror(err));
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
    if (sel.winner == 0) fprintf(stderr, "fiber_http: accept: %s\n", (char *)acceptor.output.value);
    /* ... then refuse new connections, close idle ones, give the others GRACE_MS. */
    weft_tcp_listener_close(&listener);
    weft_cancel_token_cancel(&stop);
    weft_task_tracker_close(tracker);
    weft_task_tracker_wait all_done;
    weft_timeout grace;
    weft_block_on(rt, weft_timeout_init(&grace, weft_task_tracker_wait_init(&all_done, tracker), GRACE_MS));
    weft_runtime_destroy(rt); /* cancels the connections still open: each closes its socket */
    weft_task_tracker_destroy(tracker);
    weft_cancel_token_destroy(&stop);
    return sel.winner == 0 ? 1 : 0;
}
