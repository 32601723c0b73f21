/*
 * fiber_chat: a line-based chat server written with fibers. Every line a
 * client sends goes to every other client, through a broadcast channel.
 *
 *     fiber_chat [ADDR]          (default 127.0.0.1:0: any free port)
 *     nc 127.0.0.1 PORT          (in two terminals, and type)
 *
 * Prints "listening on PORT". On Ctrl-C (SIGINT) it stops accepting and
 * cancels every client's fiber, which says goodbye and closes its
 * connection, then exits with status 0. bench/peers/tokio_examples/src/bin/
 * chat.rs is the same program for Tokio.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define MAX_LINE 1000 /* a longer line ends the client's session */

typedef struct message {
    unsigned long from;
    char text[MAX_LINE + 32];
} message;

static weft_broadcast_tx *chat; /* every message goes to every client */
static weft_lines_codec lines;

/* Sends a message from client `from` to every client. */
static void post(unsigned long from, const char *fmt, ...) {
    message m = {.from = from};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    weft_broadcast_send(chat, &m);
}

typedef struct client {
    weft_tcp_stream conn;
    unsigned long id;
} client;

/* One client: its lines go to the others, theirs come to it. */
static void *serve(void *arg) {
    client *c = arg;
    weft_broadcast_rx *rx = weft_broadcast_subscribe(chat);
    weft_framed_reader reader;
    weft_framed_reader_init(&reader, &c->conn.stream, &lines.codec, 0);
    post(c->id, "* client %lu joined\n", c->id);
    for (;;) {
        weft_framed_read line;
        weft_broadcast_recv recv;
        message m;
        weft_select sel;
        weft_future *kids[2];
        if (weft_await(WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS, weft_framed_read_init(&line, &reader),
                                   weft_broadcast_recv_init(&recv, rx, &m))) < 0)
            break; /* cancelled: the server is stopping */
        if (sel.winner == 0) {
            if (line.result <= 0) break; /* gone, or a line over MAX_LINE */
            post(c->id, "%lu: %.*s\n", c->id, (int)line.len, (const char *)line.data);
        } else if (recv.result == 0 && m.from != c->id) {
            if (weft_fiber_write_all(&c->conn.stream, m.text, strlen(m.text), NULL) < 0) break;
        } else if (recv.result < 0 && recv.result != -WEFT_ELAGGED) {
            break; /* no receiver (out of memory) */
        } /* else our own line, or we fell behind: go on */
    }
    post(c->id, "* client %lu left\n", c->id);
    weft_framed_reader_destroy(&reader);
    weft_broadcast_rx_destroy(&rx);
    weft_tcp_stream_close(&c->conn);
    free(c);
    return NULL;
}

static void close_unserved(void *arg) { /* a client whose fiber never ran */
    weft_tcp_stream_close(arg);
    free(arg);
}

/* Starts a fiber for each client. Returns only if accepting fails. */
static void *accept_loop(void *arg) {
    weft_tcp_listener *listener = arg;
    weft_fiber_options opts = {.arg_drop = close_unserved};
    for (unsigned long next_id = 1;; next_id++) {
        client *c = malloc(sizeof *c);
        int err = c ? weft_fiber_accept(listener, &c->conn) : -ENOMEM;
        if (err < 0) {
            free(c);
            return (void *)weft_strerror(err);
        }
        c->id = next_id;
        weft_join_handle_detach_value(weft_fiber_spawn(weft_runtime_current(), serve, c, &opts));
    }
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    weft_runtime *rt;
    weft_tcp_listener listener;
    weft_lines_codec_init(&lines, MAX_LINE, 0);
    int err = weft_runtime_create(&rt, NULL);
    if (!err) err = weft_broadcast_create(sizeof(message), 64, NULL, &chat, NULL);
    if (!err) err = weft_tcp_listener_bind(&listener, rt, addr, 0);
    if (err) {
        fprintf(stderr, "fiber_chat: %s: %s\n", addr, weft_strerror(err));
        return 1;
    }
    printf("listening on %u\n", weft_tcp_listener_port(&listener));
    fflush(stdout);

    /* Accept until Ctrl-C, or until accepting fails. */
    weft_fiber acceptor;
    weft_ctrl_c ctrl_c;
    weft_select sel;
    weft_future *kids[2];
    weft_block_on(rt, WEFT_SELECT(&sel, kids, WEFT_SELECT_DROP_LOSERS,
                                  weft_fiber_init(&acceptor, accept_loop, &listener, NULL), weft_ctrl_c_init(&ctrl_c)));
    if (sel.winner == 0) fprintf(stderr, "fiber_chat: accept: %s\n", (char *)acceptor.output.value);
    weft_tcp_listener_close(&listener);
    weft_runtime_destroy(rt); /* cancels every client's fiber: each says goodbye and closes */
    weft_broadcast_tx_destroy(&chat);
    return sel.winner == 0 ? 1 : 0;
}
