/*
 * Responses: the builder a handler fills in, the head's serialisation, the
 * connection's output buffer, and the response writer stream.
 *
 * Every byte a connection sends goes through one output buffer, in order:
 * pipelined responses gather there and leave in one write; a streaming
 * handler's chunks are appended and written through. So responses can
 * never overtake each other, whatever mix of handlers produced them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

#define OUT_MIN 4096

int weft__http_out_reserve(weft__http_conn *c, size_t n) {
    if (c->ooff == c->olen) c->ooff = c->olen = 0;
    if (c->ocap - c->olen >= n) return 0;
    if (c->ooff > 0) {
        memmove(c->obuf, c->obuf + c->ooff, c->olen - c->ooff);
        c->olen -= c->ooff;
        c->ooff = 0;
        if (c->ocap - c->olen >= n) return 0;
    }
    size_t cap = c->ocap ? c->ocap : OUT_MIN;
    while (cap - c->olen < n) cap *= 2;
    char *p = realloc(c->obuf, cap);
    if (!p) return -ENOMEM;
    c->obuf = p;
    c->ocap = cap;
    return 0;
}

int weft__http_out_append(weft__http_conn *c, const void *p, size_t n) {
    int r = weft__http_out_reserve(c, n);
    if (r) return r;
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    return 0;
}

weft_poll weft__http_out_poll_flush(weft__http_conn *c, weft_context *cx, int *res) {
    if (c->write_error) {
        *res = c->write_error;
        return WEFT_READY;
    }
    while (c->ooff < c->olen) {
        ssize_t n;
        if (weft_stream_poll_write(c->s, cx, c->obuf + c->ooff, c->olen - c->ooff, &n) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (n <= 0) {
            c->write_error = n < 0 ? (int)n : -EPIPE;
            *res = c->write_error;
            return WEFT_READY;
        }
        c->ooff += (size_t)n;
        c->unflushed = c->wrapped;
    }
    c->ooff = c->olen = 0;
    /* A wrapped stream may keep what it took (a TLS stream keeps records
     * the socket did not take): flush it, or the answer could wait for
     * the connection's next write while the server waits for the client. */
    if (c->unflushed) {
        int fr;
        if (c->s->vt->poll_flush(c->s, cx, &fr) == WEFT_PENDING) return WEFT_PENDING;
        c->unflushed = false;
        if (fr) {
            c->write_error = fr;
            *res = fr;
            return WEFT_READY;
        }
    }
    *res = 0;
    return WEFT_READY;
}

/* ---- the builder ---------------------------------------------------------- */

static weft_poll writer_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                   ssize_t *res);
static weft_poll writer_poll_flush(weft_stream *s, weft_context *cx, int *res);
static weft_poll writer_poll_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                                  ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static const weft_stream_vtable writer_vtable = {
    "weft_http_response_writer", 0, writer_poll_read, NULL, writer_poll_write, NULL,
    writer_poll_flush, writer_poll_flush};

static void release_body(weft_http_response *res);

void weft__http_response_reset(weft_http_response *res, weft__http_conn *c) {
    release_body(res);
    char *hdrs = res->hdrs, *mem = res->mem;
    size_t hcap = res->hdrs_cap, mcap = res->mem_cap;
    memset(res, 0, sizeof *res);
    res->hdrs = hdrs;
    res->hdrs_cap = hcap;
    res->mem = mem;
    res->mem_cap = mcap;
    res->conn = c;
    res->writer.vt = &writer_vtable;
    res->status = 200;
    res->fd = -1;
    res->content_length = -1;
    res->stream_len = -1;
}

/* Lets go of what the response holds for this request (not the buffers it reuses). */
static void release_body(weft_http_response *res) {
    if (res->src == SRC_FILE && res->fd >= 0) close(res->fd);
    if ((res->src == SRC_REF || res->src == SRC_STREAM) && res->drop) res->drop(res->drop_arg);
    res->fd = -1;
    res->drop = NULL;
    res->src = SRC_NONE;
}

void weft__http_response_done(weft_http_response *res) { release_body(res); }

void weft__http_response_release(weft_http_response *res) {
    release_body(res);
    free(res->hdrs);
    free(res->mem);
    res->hdrs = res->mem = NULL;
    res->hdrs_cap = res->mem_cap = 0;
}

WEFT_API void weft_http_response_set_status(weft_http_response *res, int status) {
    if (res && !res->started && status >= 100 && status <= 999) res->status = status;
}

/* Fields the server writes itself. */
static bool reserved_field(const char *name, size_t n) {
    return weft__http_name_eq(name, n, "content-length", 14) ||
           weft__http_name_eq(name, n, "transfer-encoding", 17) ||
           weft__http_name_eq(name, n, "connection", 10) || weft__http_name_eq(name, n, "date", 4);
}

WEFT_API int weft_http_response_add_header(weft_http_response *res, const char *name,
                                           const char *value) {
    if (!res || !name || !value) return -EINVAL;
    if (res->started) return -EBUSY;
    size_t nl = strlen(name), vl = strlen(value);
    if (nl == 0) return -EINVAL;
    for (size_t i = 0; i < nl; i++)
        if (!weft__http_is_tchar((unsigned char)name[i])) return -EINVAL;
    for (size_t i = 0; i < vl; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return -EINVAL;
    }
    if (reserved_field(name, nl)) return -EINVAL;
    size_t need = res->hdrs_len + nl + vl + 4;
    if (need > res->hdrs_cap) {
        size_t cap = res->hdrs_cap ? res->hdrs_cap : 256;
        while (cap < need) cap *= 2;
        char *p = realloc(res->hdrs, cap);
        if (!p) return -ENOMEM;
        res->hdrs = p;
        res->hdrs_cap = cap;
    }
    char *p = res->hdrs + res->hdrs_len;
    memcpy(p, name, nl);
    p += nl;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vl);
    p += vl;
    *p++ = '\r';
    *p++ = '\n';
    res->hdrs_len = need;
    return 0;
}

WEFT_API int weft_http_response_set_body(weft_http_response *res, const void *data, size_t len) {
    if (!res || (!data && len)) return -EINVAL;
    if (res->started) return -EBUSY;
    if (len > res->mem_cap) {
        char *p = realloc(res->mem, len);
        if (!p) return -ENOMEM;
        res->mem = p;
        res->mem_cap = len;
    }
    release_body(res);
    if (len) memcpy(res->mem, data, len);
    res->mem_len = len;
    res->src = SRC_MEM;
    return 0;
}

WEFT_API int weft_http_response_set_body_ref(weft_http_response *res, const void *data,
                                             size_t len, weft_drop_fn drop, void *arg) {
    if (!res || (!data && len)) return -EINVAL;
    if (res->started) return -EBUSY;
    release_body(res);
    res->ref = data;
    res->ref_len = len;
    res->drop = drop;
    res->drop_arg = arg;
    res->src = SRC_REF;
    return 0;
}

WEFT_API int weft_http_response_set_body_stream(weft_http_response *res, weft_stream *s,
                                                int64_t len, weft_drop_fn drop, void *arg) {
    if (!res || !s || len < -1) return -EINVAL;
    if (res->started) return -EBUSY;
    release_body(res);
    res->stream = s;
    res->stream_len = len;
    res->drop = drop;
    res->drop_arg = arg;
    res->src = SRC_STREAM;
    return 0;
}

WEFT_API int weft_http_response_set_body_file(weft_http_response *res, int fd, uint64_t offset,
                                              uint64_t len) {
    if (!res) return -EINVAL;
    if (fd < 0) return -EBADF;
    if (res->started) return -EBUSY;
    release_body(res);
    res->fd = fd;
    res->file_off = offset;
    res->file_len = len;
    res->src = SRC_FILE;
    return 0;
}

WEFT_API int weft_http_response_send(weft_http_response *res, int status,
                                     const char *content_type, const void *body, size_t len) {
    if (!res) return -EINVAL;
    if (res->started) return -EBUSY;
    int r = 0;
    if (content_type) r = weft_http_response_add_header(res, "Content-Type", content_type);
    if (r == 0) r = weft_http_response_set_body(res, body, len);
    if (r == 0) weft_http_response_set_status(res, status);
    return r;
}

WEFT_API int weft_http_response_set_content_length(weft_http_response *res, uint64_t len) {
    if (!res || len > INT64_MAX) return -EINVAL;
    if (res->started) return -EBUSY;
    res->content_length = (int64_t)len;
    return 0;
}

WEFT_API weft_stream *weft_http_response_writer(weft_http_response *res) {
    return res ? &res->writer : NULL;
}

WEFT_API bool weft_http_response_is_started(const weft_http_response *res) {
    return res && res->started;
}

/* ---- the head ------------------------------------------------------------- */

static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* The body's length if it is known before it is sent, else -1. */
static int64_t known_length(const weft_http_response *res) {
    switch (res->src) {
    case SRC_NONE: return res->content_length >= 0 ? res->content_length : -1;
    case SRC_MEM: return (int64_t)res->mem_len;
    case SRC_REF: return (int64_t)res->ref_len;
    case SRC_STREAM: return res->stream_len;
    case SRC_FILE: return (int64_t)res->file_len;
    }
    return -1;
}

int weft__http_response_start(weft_http_response *res) {
    weft__http_conn *c = res->conn;
    weft_http_server *srv = c->srv;
    int status = res->status;
    bool bodyless = status < 200 || status == 204 || status == 304;
    int64_t len = known_length(res);
    /* A handler that wrote nothing through the writer and set no body:
     * an empty body of known length. */
    if (res->src == SRC_NONE && len < 0 && !c->res_streaming) len = 0;
    res->close = !c->keep_alive || atomic_load_explicit(&srv->closing, memory_order_relaxed) ||
                 (srv->opts.max_requests && c->served + 1 >= srv->opts.max_requests) ||
                 c->must_close;
    if (!bodyless && len < 0) {
        if (c->req.version >= 1) {
            res->chunked = true;
        } else {
            res->until_close = true;
            res->close = true;
        }
    }
    const char *reason = weft_http_status_reason(status);
    size_t rl = strlen(reason);
    const char *date = weft__http_date();
    size_t need = 64 + rl + srv->server_field_len + 29 + 64 + res->hdrs_len + 32;
    int r = weft__http_out_reserve(c, need);
    if (r) return r;
    char *p = c->obuf + c->olen;
    memcpy(p, c->req.version >= 1 ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    p += 9;
    p[0] = (char)('0' + status / 100);
    p[1] = (char)('0' + status / 10 % 10);
    p[2] = (char)('0' + status % 10);
    p[3] = ' ';
    p += 4;
    memcpy(p, reason, rl);
    p += rl;
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, srv->server_field, srv->server_field_len);
    p += srv->server_field_len;
    memcpy(p, "Date: ", 6);
    memcpy(p + 6, date, 29);
    p += 35;
    *p++ = '\r';
    *p++ = '\n';
    if (!bodyless) {
        if (res->chunked) {
            memcpy(p, "Transfer-Encoding: chunked\r\n", 28);
            p += 28;
        } else if (len >= 0) {
            memcpy(p, "Content-Length: ", 16);
            p = put_u64(p + 16, (uint64_t)len);
            *p++ = '\r';
            *p++ = '\n';
        }
    }
    if (res->close && c->req.version >= 1) {
        memcpy(p, "Connection: close\r\n", 19);
        p += 19;
    } else if (!res->close && c->req.version == 0) {
        memcpy(p, "Connection: keep-alive\r\n", 24);
        p += 24;
    }
    if (res->hdrs_len) {
        memcpy(p, res->hdrs, res->hdrs_len);
        p += res->hdrs_len;
    }
    *p++ = '\r';
    *p++ = '\n';
    c->olen = (size_t)(p - c->obuf);
    res->started = true;
    if (bodyless || res->head_only) res->head_only = true;
    if (res->content_length < 0 && len >= 0) res->content_length = len;
    return 0;
}

int weft__http_response_finish_mem(weft_http_response *res) {
    weft__http_conn *c = res->conn;
    int r = 0;
    if (!res->started && (r = weft__http_response_start(res))) return r;
    if (!res->head_only) {
        if (res->src == SRC_MEM && res->mem_len) r = weft__http_out_append(c, res->mem, res->mem_len);
        else if (res->src == SRC_REF && res->ref_len) r = weft__http_out_append(c, res->ref, res->ref_len);
        if (r) return r;
        if (res->src == SRC_NONE && res->chunked) r = weft__http_out_append(c, "0\r\n\r\n", 5);
    }
    if (res->src == SRC_REF) release_body(res);
    return r;
}

int weft__http_response_error(weft__http_conn *c, int status) {
    weft__http_response_reset(&c->res, c);
    c->must_close = true;
    c->keep_alive = false;
    c->res.status = status;
    if (c->req.version < 0) c->req.version = 1;
    char body[96];
    int n = snprintf(body, sizeof body, "%d %s\n", status, weft_http_status_reason(status));
    int r = weft_http_response_send(&c->res, status, "text/plain", body, (size_t)n);
    if (r == 0) r = weft__http_response_finish_mem(&c->res);
    atomic_fetch_add_explicit(&c->srv->rejected, 1, memory_order_relaxed);
    return r;
}

/* ---- the writer stream ---------------------------------------------------- */

static weft_http_response *writer_res(weft_stream *s) {
    return (weft_http_response *)((char *)s - offsetof(weft_http_response, writer));
}

static weft_poll writer_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                   ssize_t *res) {
    weft_http_response *r = writer_res(s);
    weft__http_conn *c = r->conn;
    if (!c) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (c->write_error) {
        *res = c->write_error;
        return WEFT_READY;
    }
    if (!r->started) {
        c->res_streaming = true;
        int e = weft__http_response_start(r);
        if (e) {
            *res = e;
            return WEFT_READY;
        }
    }
    if (len == 0 || r->head_only) {
        r->written += len;
        *res = (ssize_t)len;
        return WEFT_READY;
    }
    if (r->content_length >= 0 && !r->chunked && r->written + len > (uint64_t)r->content_length) {
        *res = -EMSGSIZE;
        return WEFT_READY;
    }
    /* Room for the chunk: flush what waits first when the buffer is full. */
    if (c->olen - c->ooff >= WEFT__HTTP_FLUSH_AT) {
        int fr;
        if (weft__http_out_poll_flush(c, cx, &fr) == WEFT_PENDING) return WEFT_PENDING;
        if (fr) {
            *res = fr;
            return WEFT_READY;
        }
    }
    size_t room = WEFT__HTTP_FLUSH_AT - (c->olen - c->ooff);
    size_t n = len < room ? len : room;
    char frame[24];
    size_t fl = 0;
    if (r->chunked) fl = (size_t)snprintf(frame, sizeof frame, "%zx\r\n", n);
    int e = weft__http_out_reserve(c, fl + n + 2);
    if (e) {
        *res = e;
        return WEFT_READY;
    }
    memcpy(c->obuf + c->olen, frame, fl);
    memcpy(c->obuf + c->olen + fl, buf, n);
    c->olen += fl + n;
    if (r->chunked) {
        c->obuf[c->olen++] = '\r';
        c->obuf[c->olen++] = '\n';
    }
    r->written += n;
    /* Write through: the bytes are ours now, so a pending flush is fine
     * (its waker is registered; the next write or flush goes on). */
    int fr;
    if (weft__http_out_poll_flush(c, cx, &fr) == WEFT_READY && fr) {
        *res = fr;
        return WEFT_READY;
    }
    *res = (ssize_t)n;
    return WEFT_READY;
}

static weft_poll writer_poll_flush(weft_stream *s, weft_context *cx, int *res) {
    weft_http_response *r = writer_res(s);
    weft__http_conn *c = r->conn;
    if (!c) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (!r->started) {
        c->res_streaming = true;
        int e = weft__http_response_start(r);
        if (e) {
            *res = e;
            return WEFT_READY;
        }
    }
    return weft__http_out_poll_flush(c, cx, res);
}
