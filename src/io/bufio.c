/*
 * Buffered reader (with read_until / read_line) and buffered writer. Both
 * are weft_streams themselves, so they stack: a bufwriter over a bufreader
 * over a TCP stream reads through one buffer and writes through the other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "weft/io.h"

#define DEFAULT_BUF 8192

static int buf_setup(unsigned char **out, bool *owned, void *buf, size_t *cap) {
    if (buf) {
        if (*cap == 0) return -EINVAL;
        *out = buf;
        *owned = false;
        return 0;
    }
    if (*cap == 0) *cap = DEFAULT_BUF;
    *out = malloc(*cap);
    if (!*out) return -ENOMEM;
    *owned = true;
    return 0;
}

/* Pass-through operations (the other direction of a buffered stream). */
#define INNER(s) (((weft_bufreader *)(s))->inner) /* same offset in both types */
_Static_assert(offsetof(weft_bufreader, inner) == offsetof(weft_bufwriter, inner), "layout");

/* A destroyed buffered stream has no inner stream: every operation is
 * -EBADF (so is one over an inner stream with no vtable). */
#define EMPTY(s, out)                                       \
    do {                                                    \
        if (WEFT_UNLIKELY(!INNER(s) || !INNER(s)->vt)) {    \
            *(out) = -EBADF;                                \
            return WEFT_READY;                              \
        }                                                   \
    } while (0)

static weft_poll pass_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    EMPTY(s, res);
    return INNER(s)->vt->poll_read(INNER(s), cx, buf, len, res);
}
static weft_poll pass_readv(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                            ssize_t *res) {
    EMPTY(s, res);
    return weft_stream_poll_readv(INNER(s), cx, iov, n, res);
}
static weft_poll pass_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                            ssize_t *res) {
    EMPTY(s, res);
    return INNER(s)->vt->poll_write(INNER(s), cx, buf, len, res);
}
static weft_poll pass_writev(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                             ssize_t *res) {
    EMPTY(s, res);
    return weft_stream_poll_writev(INNER(s), cx, iov, n, res);
}
static weft_poll pass_flush(weft_stream *s, weft_context *cx, int *res) {
    EMPTY(s, res);
    return INNER(s)->vt->poll_flush(INNER(s), cx, res);
}
static weft_poll pass_shutdown(weft_stream *s, weft_context *cx, int *res) {
    EMPTY(s, res);
    return INNER(s)->vt->poll_shutdown(INNER(s), cx, res);
}

/*
 * Zero-length probes: a read or write of 0 bytes reports whether the inner
 * stream is usable (0) or not (-EBADF for a closed one) without moving
 * data. A buffered stream asks before it serves bytes from (or into) its
 * own buffer, so that an operation on it fails as soon as the stream under
 * it is closed, as if it had reached the stream.
 */
static inline int probe_read(weft_stream *inner, weft_context *cx) {
    ssize_t r = 0;
    if (inner->vt->poll_read(inner, cx, NULL, 0, &r) == WEFT_PENDING) return 0;
    return r < 0 ? (int)r : 0;
}
static inline int probe_write(weft_stream *inner, weft_context *cx) {
    ssize_t r = 0;
    if (inner->vt->poll_write(inner, cx, NULL, 0, &r) == WEFT_PENDING) return 0;
    return r < 0 ? (int)r : 0;
}

/* ---- buffered reader ----------------------------------------------------- */

static weft_poll br_poll_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                              ssize_t *res) {
    weft_bufreader *b = (weft_bufreader *)s;
    EMPTY(s, res);
    if (len == 0) return b->inner->vt->poll_read(b->inner, cx, buf, 0, res); /* a probe */
    if (b->pos != b->end) {
        int err = probe_read(b->inner, cx);
        if (err) {
            *res = err;
            return WEFT_READY;
        }
    }
    if (b->pos == b->end) {
        /* Empty buffer and a large read: skip the copy. */
        if (len >= b->cap) return b->inner->vt->poll_read(b->inner, cx, buf, len, res);
        ssize_t n;
        if (b->inner->vt->poll_read(b->inner, cx, b->buf, b->cap, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n <= 0) {
            *res = n;
            return WEFT_READY;
        }
        b->pos = 0;
        b->end = (size_t)n;
    }
    size_t k = b->end - b->pos;
    if (k > len) k = len;
    memcpy(buf, b->buf + b->pos, k);
    b->pos += k;
    *res = (ssize_t)k;
    return WEFT_READY;
}

static const weft_stream_vtable bufreader_vtable = {
    .name = "weft_bufreader",
    .flags = 0,
    .poll_read = br_poll_read,
    .poll_readv = NULL,
    .poll_write = pass_write,
    .poll_writev = pass_writev,
    .poll_flush = pass_flush,
    .poll_shutdown = pass_shutdown,
};

int weft_bufreader_init(weft_bufreader *b, weft_stream *inner, void *buf, size_t cap) {
    if (!b) return -EINVAL;
    memset(b, 0, sizeof *b);
    b->stream.vt = &bufreader_vtable; /* an empty reader answers -EBADF */
    if (!inner) return -EINVAL;
    int err = buf_setup(&b->buf, &b->owned, buf, &cap);
    if (err) return err;
    b->stream.vt = &bufreader_vtable;
    b->inner = inner;
    b->cap = cap;
    return 0;
}

void weft_bufreader_destroy(weft_bufreader *b) {
    if (!b) return;
    if (b->owned) free(b->buf);
    b->buf = NULL;
    b->owned = false;
    b->inner = NULL;
    b->cap = b->pos = b->end = 0;
}

/* ---- read_until / read_line ---------------------------------------------- */

static weft_poll take_out(weft_read_until *f, size_t n, bool found) {
    weft_bufreader *b = f->b;
    memcpy(f->out, b->buf + b->pos, n);
    b->pos += n;
    if (b->pos == b->end) b->pos = b->end = 0;
    if (f->nul) f->out[n] = 0;
    f->found = found;
    f->result = (ssize_t)n;
    return WEFT_READY;
}

static weft_poll read_until_poll(weft_future *fut, weft_context *cx) {
    weft_read_until *f = (weft_read_until *)fut;
    weft_bufreader *b = f->b;
    if (WEFT_UNLIKELY(!b || !b->inner || !b->inner->vt || !f->out || f->cap == 0)) {
        f->found = false;
        f->result = (!b || !f->out || f->cap == 0) ? -EINVAL : -EBADF;
        return WEFT_READY;
    }
    int err = probe_read(b->inner, cx);
    if (err) {
        f->found = false;
        f->result = err; /* buffered bytes stay */
        if (f->nul) f->out[0] = 0;
        return WEFT_READY;
    }
    size_t limit = f->nul ? f->cap - 1 : f->cap;
    if (limit > b->cap) limit = b->cap;
    for (;;) {
        size_t avail = b->end - b->pos;
        size_t scan = avail < limit ? avail : limit;
        unsigned char *start = b->buf + b->pos;
        unsigned char *hit = scan ? memchr(start, f->delim, scan) : NULL;
        if (hit) return take_out(f, (size_t)(hit - start) + 1, true);
        if (avail >= limit) return take_out(f, limit, false);
        /* Need more bytes: make room at the end, then read into it. */
        if (b->end == b->cap) {
            memmove(b->buf, start, avail);
            b->pos = 0;
            b->end = avail;
        }
        ssize_t n;
        if (b->inner->vt->poll_read(b->inner, cx, b->buf + b->end, b->cap - b->end, &n) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) {
            f->found = false;
            f->result = n; /* buffered bytes stay for the next call */
            if (f->nul) f->out[0] = 0;
            return WEFT_READY;
        }
        if (n == 0) return take_out(f, avail, false); /* end of stream */
        b->end += (size_t)n;
    }
}

static const weft_future_vtable read_until_vtable = {read_until_poll, NULL, "weft_read_until"};

weft_future *weft_read_until_init(weft_read_until *f, weft_bufreader *b, int delim, void *out,
                                  size_t cap) {
    weft_future_init(&f->base, &read_until_vtable);
    f->b = b;
    f->out = out;
    f->cap = cap;
    f->delim = (unsigned char)delim;
    f->nul = false;
    f->found = false;
    f->result = 0;
    return &f->base;
}

weft_future *weft_read_line_init(weft_read_until *f, weft_bufreader *b, char *out, size_t cap) {
    weft_read_until_init(f, b, '\n', out, cap);
    f->nul = true;
    if (cap < 2) f->cap = 2; /* misuse guard: at least one byte and the NUL */
    return &f->base;
}

/* ---- buffered writer ----------------------------------------------------- */

/* Writes the buffered bytes to the inner stream. READY with *err 0 when the
 * buffer is empty, or an error. */
static weft_poll bw_drain(weft_bufwriter *b, weft_context *cx, ssize_t *err) {
    while (b->pos < b->len) {
        ssize_t n;
        if (b->inner->vt->poll_write(b->inner, cx, b->buf + b->pos, b->len - b->pos, &n) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (n <= 0) {
            *err = n < 0 ? n : -EPIPE;
            return WEFT_READY;
        }
        b->pos += (size_t)n;
    }
    b->pos = b->len = 0;
    *err = 0;
    return WEFT_READY;
}

static weft_poll bw_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                               ssize_t *res) {
    weft_bufwriter *b = (weft_bufwriter *)s;
    EMPTY(s, res);
    if (len == 0) return b->inner->vt->poll_write(b->inner, cx, buf, 0, res); /* a probe */
    if (b->len + len > b->cap) {
        ssize_t err;
        if (bw_drain(b, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
        if (err) {
            *res = err;
            return WEFT_READY;
        }
    }
    if (len >= b->cap) return b->inner->vt->poll_write(b->inner, cx, buf, len, res);
    int err = probe_write(b->inner, cx);
    if (err) {
        *res = err;
        return WEFT_READY;
    }
    memcpy(b->buf + b->len, buf, len);
    b->len += len;
    *res = (ssize_t)len;
    return WEFT_READY;
}

static weft_poll bw_poll_flush(weft_stream *s, weft_context *cx, int *res) {
    weft_bufwriter *b = (weft_bufwriter *)s;
    EMPTY(s, res);
    ssize_t err;
    if (bw_drain(b, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) {
        *res = (int)err;
        return WEFT_READY;
    }
    return b->inner->vt->poll_flush(b->inner, cx, res);
}

static weft_poll bw_poll_shutdown(weft_stream *s, weft_context *cx, int *res) {
    weft_bufwriter *b = (weft_bufwriter *)s;
    EMPTY(s, res);
    ssize_t err;
    if (bw_drain(b, cx, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) {
        *res = (int)err;
        return WEFT_READY;
    }
    return b->inner->vt->poll_shutdown(b->inner, cx, res);
}

static const weft_stream_vtable bufwriter_vtable = {
    .name = "weft_bufwriter",
    .flags = 0,
    .poll_read = pass_read,
    .poll_readv = pass_readv,
    .poll_write = bw_poll_write,
    .poll_writev = NULL,
    .poll_flush = bw_poll_flush,
    .poll_shutdown = bw_poll_shutdown,
};

int weft_bufwriter_init(weft_bufwriter *b, weft_stream *inner, void *buf, size_t cap) {
    if (!b) return -EINVAL;
    memset(b, 0, sizeof *b);
    b->stream.vt = &bufwriter_vtable; /* an empty writer answers -EBADF */
    if (!inner) return -EINVAL;
    int err = buf_setup(&b->buf, &b->owned, buf, &cap);
    if (err) return err;
    b->stream.vt = &bufwriter_vtable;
    b->inner = inner;
    b->cap = cap;
    return 0;
}

void weft_bufwriter_destroy(weft_bufwriter *b) {
    if (!b) return;
    if (b->owned) free(b->buf);
    b->buf = NULL;
    b->owned = false;
    b->inner = NULL;
    b->cap = b->pos = b->len = 0;
}
