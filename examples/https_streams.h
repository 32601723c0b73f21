/*
 * https_streams.h — HTTPS for libweft-http's server: a stream factory
 * (weft_http_stream_factory) that serves each accepted connection over a
 * weft-tls stream.
 *
 *     weft_tls_context *tls;                       // a WEFT_TLS_SERVER context
 *     weft_http_stream_factory f = https_streams(tls);
 *     weft_http_server_options opts = {.handler = ..., .streams = &f};
 *
 * The server sees an ordinary weft_stream. The TLS handshake runs inside
 * that stream's first read or write (the server's first read of the
 * request), so it is bounded by the server's header timeout like a slow
 * first request line, and a client that never finishes it is dropped
 * like one. The context must outlive the server (every connection holds
 * a reference to it, so destroying it after the server is enough).
 */
#ifndef WEFT_EXAMPLES_HTTPS_STREAMS_H
#define WEFT_EXAMPLES_HTTPS_STREAMS_H

#include <errno.h>
#include <stdlib.h>

#include "weft.h"
#include "weft/http.h"
#include "weft/tls.h"

/* One connection: the TCP stream, the TLS stream over it, and the stream
 * the server uses, which runs the handshake before anything else. It is
 * allocated once per connection and never moves (the TLS stream points at
 * the TCP stream). */
typedef struct https_conn {
    weft_stream stream;    /* what the server reads and writes */
    weft_tcp_stream tcp;
    weft_tls_stream tls;
    weft_tls_handshake hs;
    int state;             /* 0: handshake not started, 1: under way, 2: done, < 0: failed */
} https_conn;

/* Runs the handshake on the first operation: WEFT_READY with 0 once it
 * succeeded, or with its error (the same one for every later call). */
static inline weft_poll https_conn_ready(https_conn *c, weft_context *cx, int *err) {
    if (c->state == 0) {
        weft_tls_handshake_init(&c->hs, &c->tls);
        c->state = 1;
    }
    if (c->state == 1) {
        if (weft_future_poll(&c->hs.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        c->state = c->hs.result < 0 ? c->hs.result : 2;
    }
    *err = c->state < 0 ? c->state : 0;
    return WEFT_READY;
}

static inline weft_poll https_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                                   ssize_t *res) {
    https_conn *c = (https_conn *)s;
    int err;
    if (https_conn_ready(c, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) return *res = err, WEFT_READY;
    return weft_stream_poll_read(&c->tls.stream, cx, buf, len, res);
}

static inline weft_poll https_readv(weft_stream *s, weft_context *cx, const struct iovec *iov,
                                    int iovcnt, ssize_t *res) {
    https_conn *c = (https_conn *)s;
    int err;
    if (https_conn_ready(c, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) return *res = err, WEFT_READY;
    return weft_stream_poll_readv(&c->tls.stream, cx, iov, iovcnt, res);
}

static inline weft_poll https_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                    ssize_t *res) {
    https_conn *c = (https_conn *)s;
    int err;
    if (https_conn_ready(c, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) return *res = err, WEFT_READY;
    return weft_stream_poll_write(&c->tls.stream, cx, buf, len, res);
}

static inline weft_poll https_writev(weft_stream *s, weft_context *cx, const struct iovec *iov,
                                     int iovcnt, ssize_t *res) {
    https_conn *c = (https_conn *)s;
    int err;
    if (https_conn_ready(c, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) return *res = err, WEFT_READY;
    return weft_stream_poll_writev(&c->tls.stream, cx, iov, iovcnt, res);
}

/* Before the handshake there is nothing to flush; after a failed one the
 * stream only reports its error. */
static inline weft_poll https_flush(weft_stream *s, weft_context *cx, int *res) {
    https_conn *c = (https_conn *)s;
    if (c->state != 2) return *res = c->state < 0 ? c->state : 0, WEFT_READY;
    return c->tls.stream.vt->poll_flush(&c->tls.stream, cx, res);
}

/* Shutdown sends close_notify after a handshake; before one (or after a
 * failed one) it only ends the TCP stream's write side. */
static inline weft_poll https_shutdown(weft_stream *s, weft_context *cx, int *res) {
    https_conn *c = (https_conn *)s;
    weft_stream *inner = c->state == 2 ? &c->tls.stream : &c->tcp.stream;
    return inner->vt->poll_shutdown(inner, cx, res);
}

static const weft_stream_vtable https_conn_vtable = {
    "https_conn", 0, https_read, https_readv, https_write, https_writev, https_flush, https_shutdown};

/* The factory's open: takes the accepted TCP stream, puts a TLS stream
 * over it. HTTP delimits its messages itself, so a client that closes
 * without close_notify is a client that closed (not an error). */
static inline int https_open(void *arg, weft_tcp_stream *tcp, weft_stream **out) {
    https_conn *c = calloc(1, sizeof *c);
    if (!c) {
        weft_tcp_stream_close(tcp);
        return -ENOMEM;
    }
    c->stream.vt = &https_conn_vtable;
    c->tcp = *tcp; /* moved: the TCP stream is the connection's now */
    weft_tcp_stream_set_nodelay(&c->tcp, true);
    int r = weft_tls_stream_server(&c->tls, (weft_tls_context *)arg, &c->tcp.stream);
    if (r < 0) {
        weft_tcp_stream_close(&c->tcp);
        free(c);
        return r;
    }
    weft_tls_stream_set_allow_truncation(&c->tls, true);
    *out = &c->stream;
    return 0;
}

/* The factory's close: a handshake still under way is dropped (the TLS
 * stream can then only be destroyed, which is what happens next). */
static inline void https_close(void *arg, weft_stream *s) {
    (void)arg;
    https_conn *c = (https_conn *)s;
    if (c->state == 1) weft_future_drop(&c->hs.base);
    weft_tls_stream_destroy(&c->tls);
    weft_tcp_stream_close(&c->tcp);
    free(c);
}

/* The factory for a server context `tls`. */
static inline weft_http_stream_factory https_streams(weft_tls_context *tls) {
    return (weft_http_stream_factory){.open = https_open, .close = https_close, .arg = tls};
}

#endif
