/*
 * The request body as a read-only weft_stream (weft_http_request.body):
 * Content-Length or chunked, decoded from the connection's read buffer
 * (the bytes that came with the head first), read from the connection
 * when the buffer is empty — straight into the caller's buffer for a
 * Content-Length body. It answers Expect: 100-continue at the first read,
 * enforces max_body_bytes (-EFBIG) and body_timeout_ms (-ETIMEDOUT), and
 * reports a malformed chunked body (-EBADMSG) or a client that went away
 * mid-body (-ECONNRESET). An error sticks: every later read returns it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static weft__http_conn *body_conn(weft_stream *s) {
    return (weft__http_conn *)((char *)s - offsetof(weft__http_conn, body));
}

void weft__http_body_start(weft__http_conn *c) {
    c->body_kind = c->head.body;
    c->body_left = c->head.body == WEFT_HTTP_BODY_LENGTH ? (uint64_t)c->head.content_length : 0;
    c->body_total = 0;
    c->body_done = c->head.body == WEFT_HTTP_BODY_NONE;
    c->body_touched = false;
    c->body_error = 0;
    c->continue_queued = false;
    c->ck_pending = 0;
    if (c->head.body == WEFT_HTTP_BODY_CHUNKED) weft_http_chunked_init(&c->ck, c->srv->opts.max_head_bytes);
}

void weft__http_body_end(weft__http_conn *c) {
    if (c->body_sleep_armed) {
        weft_future_drop(&c->body_sleep.base);
        c->body_sleep_armed = false;
    }
}

static weft_poll fail(weft__http_conn *c, int err, ssize_t *res) {
    c->body_error = err;
    weft__http_body_end(c);
    *res = err;
    return WEFT_READY;
}

/* Serves body bytes from the read buffer. Returns bytes copied (> 0), 0
 * when the buffer holds no body bytes (read more), or -1 at the end. */
static ssize_t from_buffer(weft__http_conn *c, unsigned char *out, size_t len, int *err) {
    uint64_t max = c->srv->opts.max_body_bytes;
    while (c->rpos < c->rend) {
        size_t avail = c->rend - c->rpos;
        if (c->body_kind == WEFT_HTTP_BODY_LENGTH) {
            size_t n = len < avail ? len : avail;
            if ((uint64_t)n > c->body_left) n = (size_t)c->body_left;
            memcpy(out, c->rbuf + c->rpos, n);
            c->rpos += n;
            c->body_left -= n;
            c->body_total += n;
            if (c->body_left == 0) c->body_done = true;
            return (ssize_t)n;
        }
        if (c->ck_pending) {
            size_t n = len < c->ck_pending ? len : c->ck_pending;
            memcpy(out, c->rbuf + c->rpos, n);
            c->rpos += n;
            c->ck_pending -= n;
            c->body_total += n;
            if (c->body_total > max) {
                *err = -EFBIG;
                return -1;
            }
            return (ssize_t)n;
        }
        size_t used, off, dlen;
        int r = weft_http_chunked_decode(&c->ck, c->rbuf + c->rpos, avail, &used, &off, &dlen);
        if (r < 0) {
            *err = r == -EMSGSIZE ? -EMSGSIZE : -EBADMSG;
            return -1;
        }
        if (r == WEFT_HTTP_CHUNKED_DATA) {
            c->rpos += off; /* the framing; the data stays until copied */
            c->ck_pending = dlen;
            continue;
        }
        c->rpos += used;
        if (r == WEFT_HTTP_CHUNKED_DONE) {
            c->body_done = true;
            return -1;
        }
    }
    return 0;
}

static weft_poll body_poll_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                                ssize_t *res) {
    weft__http_conn *c = body_conn(s);
    if (c->body_error) {
        *res = c->body_error;
        return WEFT_READY;
    }
    if (c->body_done || len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    c->body_touched = true;
    if (c->head.expect_continue && !c->continue_queued) {
        c->continue_queued = true;
        if (!c->res.started) {
            const char *msg = c->head.version >= 1 ? "HTTP/1.1 100 Continue\r\n\r\n" : NULL;
            if (msg && weft__http_out_append(c, msg, 25)) return fail(c, -ENOMEM, res);
        }
    }
    if (weft__http_out_pending(c)) {
        int fr;
        if (weft__http_out_poll_flush(c, cx, &fr) == WEFT_PENDING) return WEFT_PENDING;
        if (fr) return fail(c, fr, res);
    }
    for (;;) {
        int err = 0;
        ssize_t n = from_buffer(c, buf, len, &err);
        if (n > 0) {
            *res = n;
            return WEFT_READY;
        }
        if (n < 0) {
            if (err) return fail(c, err, res);
            weft__http_body_end(c);
            *res = 0;
            return WEFT_READY;
        }
        /* The buffer is empty: read more, after the head (which the
         * handler may still be looking at). */
        c->rpos = c->rend = c->body_base;
        void *dst = c->rbuf + c->rend;
        size_t room = c->rcap - c->rend;
        bool direct = c->body_kind == WEFT_HTTP_BODY_LENGTH && len >= 512;
        if (direct) {
            dst = buf;
            room = len < c->body_left ? len : (size_t)c->body_left;
        }
        ssize_t got;
        if (weft_stream_poll_read(c->s, cx, dst, room, &got) == WEFT_PENDING) {
            if (!c->body_sleep_armed) {
                weft_sleep_init(&c->body_sleep, c->srv->opts.body_timeout_ms);
                c->body_sleep_armed = true;
            }
            if (weft_future_poll(&c->body_sleep.base, cx) == WEFT_READY) {
                c->body_sleep_armed = false;
                c->must_close = true;
                atomic_fetch_add_explicit(&c->srv->timeouts, 1, memory_order_relaxed);
                return fail(c, -ETIMEDOUT, res);
            }
            return WEFT_PENDING;
        }
        if (c->body_sleep_armed) {
            weft_future_drop(&c->body_sleep.base);
            c->body_sleep_armed = false;
        }
        if (got == 0) return fail(c, -ECONNRESET, res);
        if (got < 0) return fail(c, (int)got, res);
        if (direct) {
            c->body_left -= (uint64_t)got;
            c->body_total += (uint64_t)got;
            if (c->body_left == 0) c->body_done = true;
            *res = got;
            return WEFT_READY;
        }
        c->rend += (size_t)got;
    }
}

static weft_poll body_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                 ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll body_poll_flush(weft_stream *s, weft_context *cx, int *res) {
    *res = -EBADF;
    return WEFT_READY;
}

const weft_stream_vtable weft__http_body_vtable = {
    "weft_http_request_body", 0, body_poll_read, NULL, body_poll_write, NULL, body_poll_flush,
    body_poll_flush};

/* ---- reading a whole body -------------------------------------------------- */

static weft_poll read_body_poll(weft_future *f, weft_context *cx) {
    weft_http_read_body *b = (weft_http_read_body *)f;
    if (!b->s) {
        b->result = -EINVAL;
        return WEFT_READY;
    }
    for (;;) {
        if (b->cap - b->len < 2) {
            size_t cap = b->cap ? b->cap * 2 : 4096;
            if (cap > b->max + 1) cap = b->max + 1 > b->len + 2 ? b->max + 1 : b->len + 2;
            char *p = realloc(b->data, cap);
            if (!p) {
                free(b->data);
                b->data = NULL;
                b->len = 0;
                b->result = -ENOMEM;
                return WEFT_READY;
            }
            b->data = p;
            b->cap = cap;
        }
        ssize_t n;
        if (weft_stream_poll_read(b->s, cx, b->data + b->len, b->cap - b->len - 1, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n > 0) {
            b->len += (size_t)n;
            if (b->len > b->max) {
                n = -EFBIG;
            } else {
                continue;
            }
        }
        if (n < 0) {
            free(b->data);
            b->data = NULL;
            b->len = 0;
            b->result = (int)n;
            return WEFT_READY;
        }
        if (b->len == 0) {
            free(b->data);
            b->data = NULL;
        } else {
            b->data[b->len] = 0;
        }
        b->result = 0;
        return WEFT_READY;
    }
}

static void read_body_drop(weft_future *f) {
    weft_http_read_body *b = (weft_http_read_body *)f;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static const weft_future_vtable read_body_vtable = {read_body_poll, read_body_drop,
                                                    "weft_http_read_body"};

WEFT_API weft_future *weft_http_read_body_init(weft_http_read_body *f, weft_stream *body, size_t max) {
    weft_future_init(&f->base, &read_body_vtable);
    f->s = body;
    f->max = max ? max : (1u << 20);
    f->cap = 0;
    f->data = NULL;
    f->len = 0;
    f->result = 0;
    return &f->base;
}
