/*
 * Futures over any weft_stream: read, readv, read_exact, write, writev,
 * write_all, flush, shutdown, copy. Each is a thin loop over the stream's
 * poll functions; none allocates (copy allocates its buffer once if asked).
 */
#include <errno.h>
#include <stdlib.h>

#include "weft/io.h"

/* A stream a future may use: -EINVAL for NULL, -EBADF for one with no
 * vtable (never opened); a closed stream answers -EBADF itself. */
static inline int stream_check(const weft_stream *s) {
    if (WEFT_UNLIKELY(!s)) return -EINVAL;
    if (WEFT_UNLIKELY(!s->vt)) return -EBADF;
    return 0;
}

#define CHECK_STREAM(s, out)                   \
    do {                                       \
        int bad_ = stream_check(s);            \
        if (WEFT_UNLIKELY(bad_)) {             \
            (out) = bad_;                      \
            return WEFT_READY;                 \
        }                                      \
    } while (0)

weft_poll weft_stream_poll_readv(weft_stream *s, weft_context *cx, const struct iovec *iov,
                                 int iovcnt, ssize_t *res) {
    CHECK_STREAM(s, *res);
    if (s->vt->poll_readv) return s->vt->poll_readv(s, cx, iov, iovcnt, res);
    for (int i = 0; i < iovcnt; i++)
        if (iov[i].iov_len) return s->vt->poll_read(s, cx, iov[i].iov_base, iov[i].iov_len, res);
    *res = 0;
    return WEFT_READY;
}

weft_poll weft_stream_poll_writev(weft_stream *s, weft_context *cx, const struct iovec *iov,
                                  int iovcnt, ssize_t *res) {
    CHECK_STREAM(s, *res);
    if (s->vt->poll_writev) return s->vt->poll_writev(s, cx, iov, iovcnt, res);
    for (int i = 0; i < iovcnt; i++)
        if (iov[i].iov_len) return s->vt->poll_write(s, cx, iov[i].iov_base, iov[i].iov_len, res);
    *res = 0;
    return WEFT_READY;
}

/* ---- read / readv -------------------------------------------------------- */

static weft_poll read_poll(weft_future *f, weft_context *cx) {
    weft_read *r = (weft_read *)f;
    r->polls++;
    CHECK_STREAM(r->s, r->result);
    return r->s->vt->poll_read(r->s, cx, r->buf, r->len, &r->result);
}
static const weft_future_vtable read_vtable = {read_poll, NULL, "weft_read"};

weft_future *weft_read_init(weft_read *f, weft_stream *s, void *buf, size_t len) {
    weft_future_init(&f->base, &read_vtable);
    f->s = s;
    f->buf = buf;
    f->len = len;
    f->result = 0;
    f->polls = 0;
    return &f->base;
}

static weft_poll readv_poll(weft_future *f, weft_context *cx) {
    weft_readv *r = (weft_readv *)f;
    return weft_stream_poll_readv(r->s, cx, r->iov, r->iovcnt, &r->result);
}
static const weft_future_vtable readv_vtable = {readv_poll, NULL, "weft_readv"};

weft_future *weft_readv_init(weft_readv *f, weft_stream *s, const struct iovec *iov, int iovcnt) {
    weft_future_init(&f->base, &readv_vtable);
    f->s = s;
    f->iov = iov;
    f->iovcnt = iovcnt;
    f->result = 0;
    return &f->base;
}

/* ---- read_exact ---------------------------------------------------------- */

static weft_poll read_exact_poll(weft_future *f, weft_context *cx) {
    weft_read_exact *r = (weft_read_exact *)f;
    CHECK_STREAM(r->s, r->result);
    while (r->done < r->len) {
        ssize_t n;
        if (r->s->vt->poll_read(r->s, cx, r->buf + r->done, r->len - r->done, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) {
            r->result = (int)n;
            return WEFT_READY;
        }
        if (n == 0) {
            r->result = -ENODATA;
            return WEFT_READY;
        }
        r->done += (size_t)n;
    }
    r->result = 0;
    return WEFT_READY;
}
static const weft_future_vtable read_exact_vtable = {read_exact_poll, NULL, "weft_read_exact"};

weft_future *weft_read_exact_init(weft_read_exact *f, weft_stream *s, void *buf, size_t len) {
    weft_future_init(&f->base, &read_exact_vtable);
    f->s = s;
    f->buf = buf;
    f->len = len;
    f->done = 0;
    f->result = 0;
    return &f->base;
}

/* ---- write / writev / write_all ------------------------------------------ */

static weft_poll write_poll(weft_future *f, weft_context *cx) {
    weft_write *w = (weft_write *)f;
    CHECK_STREAM(w->s, w->result);
    return w->s->vt->poll_write(w->s, cx, w->buf, w->len, &w->result);
}
static const weft_future_vtable write_vtable = {write_poll, NULL, "weft_write"};

weft_future *weft_write_init(weft_write *f, weft_stream *s, const void *buf, size_t len) {
    weft_future_init(&f->base, &write_vtable);
    f->s = s;
    f->buf = buf;
    f->len = len;
    f->result = 0;
    return &f->base;
}

static weft_poll writev_poll(weft_future *f, weft_context *cx) {
    weft_writev *w = (weft_writev *)f;
    return weft_stream_poll_writev(w->s, cx, w->iov, w->iovcnt, &w->result);
}
static const weft_future_vtable writev_vtable = {writev_poll, NULL, "weft_writev"};

weft_future *weft_writev_init(weft_writev *f, weft_stream *s, const struct iovec *iov, int iovcnt) {
    weft_future_init(&f->base, &writev_vtable);
    f->s = s;
    f->iov = iov;
    f->iovcnt = iovcnt;
    f->result = 0;
    return &f->base;
}

static weft_poll write_all_poll(weft_future *f, weft_context *cx) {
    weft_write_all *w = (weft_write_all *)f;
    CHECK_STREAM(w->s, w->result);
    while (w->done < w->len) {
        ssize_t n;
        if (w->s->vt->poll_write(w->s, cx, w->buf + w->done, w->len - w->done, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) {
            w->result = (int)n;
            return WEFT_READY;
        }
        if (n == 0) {
            w->result = -EPIPE; /* a stream that accepts nothing: treat as closed */
            return WEFT_READY;
        }
        w->done += (size_t)n;
    }
    w->result = 0;
    return WEFT_READY;
}
static const weft_future_vtable write_all_vtable = {write_all_poll, NULL, "weft_write_all"};

weft_future *weft_write_all_init(weft_write_all *f, weft_stream *s, const void *buf, size_t len) {
    weft_future_init(&f->base, &write_all_vtable);
    f->s = s;
    f->buf = buf;
    f->len = len;
    f->done = 0;
    f->result = 0;
    return &f->base;
}

/* ---- flush / shutdown ---------------------------------------------------- */

static weft_poll flush_poll(weft_future *f, weft_context *cx) {
    weft_flush *fl = (weft_flush *)f;
    CHECK_STREAM(fl->s, fl->result);
    if (fl->shutdown) return fl->s->vt->poll_shutdown(fl->s, cx, &fl->result);
    return fl->s->vt->poll_flush(fl->s, cx, &fl->result);
}
static const weft_future_vtable flush_vtable = {flush_poll, NULL, "weft_flush"};

weft_future *weft_flush_init(weft_flush *f, weft_stream *s) {
    weft_future_init(&f->base, &flush_vtable);
    f->s = s;
    f->shutdown = false;
    f->result = 0;
    return &f->base;
}

weft_future *weft_shutdown_init(weft_flush *f, weft_stream *s) {
    weft_flush_init(f, s);
    f->shutdown = true;
    return &f->base;
}

/* ---- copy ---------------------------------------------------------------- */

#define COPY_BUF 8192

static void copy_release(weft_copy *c) {
    if (c->owned) free(c->buf);
    c->buf = NULL;
    c->owned = false;
}

static weft_poll copy_finish(weft_copy *c, int result) {
    c->result = result;
    copy_release(c);
    return WEFT_READY;
}

static weft_poll copy_poll(weft_future *f, weft_context *cx) {
    weft_copy *c = (weft_copy *)f;
    {
        int bad = stream_check(c->r);
        if (!bad) bad = stream_check(c->w);
        if (WEFT_UNLIKELY(bad)) return copy_finish(c, bad);
    }
    if (!c->buf) {
        c->buf = malloc(COPY_BUF);
        if (!c->buf) return copy_finish(c, -ENOMEM);
        c->cap = COPY_BUF;
        c->owned = true;
    }
    for (;;) {
        /* Fill the buffer when it is empty. */
        if (c->pos == c->end && !c->read_done) {
            ssize_t n;
            if (c->r->vt->poll_read(c->r, cx, c->buf, c->cap, &n) == WEFT_PENDING) {
                /* Nothing to read now: push out what a buffered writer holds
                 * before waiting (Tokio's copy does the same). */
                if (c->need_flush) {
                    int fr;
                    if (c->w->vt->poll_flush(c->w, cx, &fr) == WEFT_PENDING) return WEFT_PENDING;
                    if (fr < 0) return copy_finish(c, fr);
                    c->need_flush = false;
                }
                return WEFT_PENDING;
            }
            if (n < 0) return copy_finish(c, (int)n);
            if (n == 0) c->read_done = true;
            c->pos = 0;
            c->end = (size_t)(n > 0 ? n : 0);
        }
        /* Drain it. */
        while (c->pos < c->end) {
            ssize_t n;
            if (c->w->vt->poll_write(c->w, cx, c->buf + c->pos, c->end - c->pos, &n) == WEFT_PENDING)
                return WEFT_PENDING;
            if (n < 0) return copy_finish(c, (int)n);
            if (n == 0) return copy_finish(c, -EPIPE);
            c->pos += (size_t)n;
            c->total += (uint64_t)n;
            c->need_flush = true;
        }
        if (c->read_done) {
            int fr;
            if (c->w->vt->poll_flush(c->w, cx, &fr) == WEFT_PENDING) return WEFT_PENDING;
            return copy_finish(c, fr < 0 ? fr : 0);
        }
    }
}

static void copy_drop(weft_future *f) { copy_release((weft_copy *)f); }
static const weft_future_vtable copy_vtable = {copy_poll, copy_drop, "weft_copy"};

weft_future *weft_copy_init(weft_copy *f, weft_stream *r, weft_stream *w, void *buf, size_t cap) {
    weft_future_init(&f->base, &copy_vtable);
    f->r = r;
    f->w = w;
    f->buf = cap ? buf : NULL;
    f->cap = f->buf ? cap : 0;
    f->pos = f->end = 0;
    f->total = 0;
    f->result = 0;
    f->owned = false;
    f->read_done = false;
    f->need_flush = false;
    return &f->base;
}
