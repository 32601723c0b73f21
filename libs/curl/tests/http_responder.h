/*
 * A small HTTP/1.1 responder for the libcurl adapter's tests, written with
 * weft's TCP API and fibers (real sockets, real responses, keep-alive).
 * It stands in for weft's own HTTP server until that is available.
 *
 *   GET /fixed/N       200, N bytes of body with Content-Length
 *   GET /chunked/N     200, N bytes in chunks (Transfer-Encoding: chunked)
 *   GET /slow/MS       waits MS milliseconds, then 200 with "ok"
 *   GET /status/CODE   CODE with an empty body
 *   GET /stall         headers and part of the body, then nothing
 *
 * Body bytes are 'a' + (offset % 26), so a client can check them.
 * responder_kill() shuts every connection down at once and stops
 * accepting, as a server that dies would.
 */
#ifndef WEFT_TEST_HTTP_RESPONDER_H
#define WEFT_TEST_HTTP_RESPONDER_H

#include <pthread.h>
#include <sys/socket.h>

#include "adapter_support.h"

enum { RESPONDER_MAX_CONNS = 1024 };

typedef struct responder {
    weft_tcp_listener listener;
    int port;
    weft_join_handle acceptor;
    pthread_mutex_t lock;
    int fds[RESPONDER_MAX_CONNS]; /* live connections' descriptors (-1: free) */
    bool killed;
    atomic_int accepted, requests;
} responder;

typedef struct responder_conn {
    responder *r;
    weft_tcp_stream s;
    int slot;
} responder_conn;

static int responder_send(responder_conn *c, const void *p, size_t n) {
    return weft_fiber_write_all(&c->s.stream, p, n, NULL);
}

static int responder_body(responder_conn *c, size_t n, bool chunked) {
    char buf[4096];
    size_t off = 0;
    while (off < n) {
        size_t k = n - off < sizeof buf ? n - off : sizeof buf;
        for (size_t i = 0; i < k; i++) buf[i] = (char)('a' + (off + i) % 26);
        if (chunked) {
            char head[32];
            int h = snprintf(head, sizeof head, "%zx\r\n", k);
            if (responder_send(c, head, (size_t)h) < 0) return -1;
        }
        if (responder_send(c, buf, k) < 0) return -1;
        if (chunked && responder_send(c, "\r\n", 2) < 0) return -1;
        off += k;
    }
    return chunked ? responder_send(c, "0\r\n\r\n", 5) : 0;
}

static int responder_answer(responder_conn *c, const char *path) {
    char head[256];
    long v;
    if (sscanf(path, "/fixed/%ld", &v) == 1) {
        int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n", v);
        if (responder_send(c, head, (size_t)h) < 0) return -1;
        return responder_body(c, (size_t)v, false);
    }
    if (sscanf(path, "/chunked/%ld", &v) == 1) {
        int h = snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        if (responder_send(c, head, (size_t)h) < 0) return -1;
        return responder_body(c, (size_t)v, true);
    }
    if (sscanf(path, "/slow/%ld", &v) == 1) {
        if (weft_fiber_sleep((uint64_t)v) < 0) return -1;
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        return responder_send(c, resp, strlen(resp));
    }
    if (sscanf(path, "/status/%ld", &v) == 1) {
        int h = snprintf(head, sizeof head, "HTTP/1.1 %ld Whatever\r\nContent-Length: 0\r\n\r\n", v);
        return responder_send(c, head, (size_t)h);
    }
    if (strcmp(path, "/stall") == 0) {
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabcdefghij";
        if (responder_send(c, resp, strlen(resp)) < 0) return -1;
        weft_fiber_sleep(600000); /* until cancelled or killed */
        return -1;
    }
    const char *resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    return responder_send(c, resp, strlen(resp));
}

static void *responder_conn_fiber(void *arg) {
    responder_conn *c = arg;
    char buf[8192];
    size_t len = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            if (len == sizeof buf) goto out;
            ssize_t n = weft_fiber_read(&c->s.stream, buf + len, sizeof buf - len);
            if (n <= 0) goto out;
            len += (size_t)n;
        }
        char path[256] = "";
        if (sscanf(buf, "GET %255s HTTP/1.1", path) != 1) goto out;
        atomic_fetch_add(&c->r->requests, 1);
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, len - used);
        len -= used;
        if (responder_answer(c, path) < 0) goto out;
    }
out:
    pthread_mutex_lock(&c->r->lock);
    c->r->fds[c->slot] = -1;
    pthread_mutex_unlock(&c->r->lock);
    weft_tcp_stream_close(&c->s);
    free(c);
    return NULL;
}

static void *responder_accept_fiber(void *arg) {
    responder *r = arg;
    for (;;) {
        responder_conn *c = calloc(1, sizeof *c);
        if (weft_fiber_accept(&r->listener, &c->s) < 0) {
            free(c);
            return NULL;
        }
        atomic_fetch_add(&r->accepted, 1);
        weft_tcp_stream_set_nodelay(&c->s, true); /* headers and body go in separate writes */
        c->r = r;
        pthread_mutex_lock(&r->lock);
        c->slot = -1;
        for (int i = 0; i < RESPONDER_MAX_CONNS && !r->killed; i++)
            if (r->fds[i] < 0) {
                r->fds[i] = weft_tcp_stream_fd(&c->s);
                c->slot = i;
                break;
            }
        pthread_mutex_unlock(&r->lock);
        if (c->slot < 0) { /* killed, or too many */
            weft_tcp_stream_close(&c->s);
            free(c);
            continue;
        }
        weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), responder_conn_fiber, c, NULL);
        weft_join_handle_detach(&h);
    }
}

/* Starts the responder on 127.0.0.1, a free port (fiber or task). */
static inline __attribute__((unused)) int responder_start(responder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < RESPONDER_MAX_CONNS; i++) r->fds[i] = -1;
    int err = weft_tcp_listener_bind(&r->listener, weft_runtime_current(), "127.0.0.1:0", 1024);
    if (err < 0) return err;
    r->port = weft_tcp_listener_port(&r->listener);
    r->acceptor = weft_fiber_spawn(weft_runtime_current(), responder_accept_fiber, r, NULL);
    return 0;
}

/* The server dies: every connection is shut down at once, and new ones
 * are refused (the listener is closed by responder_stop). */
static inline __attribute__((unused)) void responder_kill(responder *r) {
    pthread_mutex_lock(&r->lock);
    r->killed = true;
    for (int i = 0; i < RESPONDER_MAX_CONNS; i++)
        if (r->fds[i] >= 0) shutdown(r->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&r->lock);
}

/* Stops accepting and waits for the acceptor (fiber only). */
static inline __attribute__((unused)) void responder_stop(responder *r) {
    weft_join_handle_abort(&r->acceptor);
    weft_fiber_join(&r->acceptor, NULL);
    weft_tcp_listener_close(&r->listener);
}

#endif
