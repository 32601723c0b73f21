/*
 * The framed writer: buf[pos..len) is accepted and not yet written. A
 * write first drains the buffer to the stream while it holds more than the
 * high-water mark (so a pending write has accepted nothing: it is
 * cancel-safe), then encodes the whole frame into the buffer in one step,
 * growing the buffer only when the frame does not fit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/frame.h"

#define DEFAULT_HIGH_WATER 8192

int weft_framed_writer_init(weft_framed_writer *w, weft_stream *s, const weft_codec *codec,
                            size_t high_water) {
    if (!w) return -EINVAL;
    memset(w, 0, sizeof *w);
    if (!s || !codec || !codec->vt || !codec->vt->encode || !codec->vt->encoded_max) return -EINVAL;
    w->s = s;
    w->codec = codec;
    w->high_water = high_water ? high_water : DEFAULT_HIGH_WATER;
    return 0;
}

void weft_framed_writer_destroy(weft_framed_writer *w) {
    if (!w) return;
    free(w->buf);
    memset(w, 0, sizeof *w);
}

size_t weft_framed_writer_buffered(const weft_framed_writer *w) { return w ? w->len - w->pos : 0; }

/* A writer that can be used: 0, or -EINVAL / -EBADF. */
static int writer_check(const weft_framed_writer *w) {
    if (WEFT_UNLIKELY(!w)) return -EINVAL;
    if (WEFT_UNLIKELY(!w->codec || !w->s || !w->s->vt)) return -EBADF;
    return 0;
}

/* Writes buffered bytes until at most `keep` remain. READY with *err 0 or
 * the stream's error (the unwritten bytes stay buffered). */
static weft_poll drain(weft_framed_writer *w, weft_context *cx, size_t keep, int *err) {
    *err = 0;
    while (w->len - w->pos > keep) {
        ssize_t n;
        if (w->s->vt->poll_write(w->s, cx, w->buf + w->pos, w->len - w->pos, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n <= 0) {
            *err = n < 0 ? (int)n : -EPIPE; /* a stream that takes nothing is closed */
            return WEFT_READY;
        }
        w->pos += (size_t)n;
    }
    if (w->pos == w->len) w->pos = w->len = 0;
    return WEFT_READY;
}

/* Room for `max` more bytes behind the buffered ones. 0 or -ENOMEM. */
static int reserve(weft_framed_writer *w, size_t max) {
    size_t have = w->len - w->pos;
    if (w->cap - w->len >= max) return 0;
    if (w->cap - have >= max) { /* moving the rest to the front is enough */
        memmove(w->buf, w->buf + w->pos, have);
        w->pos = 0;
        w->len = have;
        return 0;
    }
    if (max > SIZE_MAX - have) return -ENOMEM;
    size_t cap = w->cap ? w->cap : w->high_water;
    while (cap < have + max) cap = cap > SIZE_MAX / 2 ? have + max : cap * 2;
    unsigned char *nb = malloc(cap);
    if (!nb) return -ENOMEM;
    if (have) memcpy(nb, w->buf + w->pos, have);
    free(w->buf);
    w->buf = nb;
    w->cap = cap;
    w->pos = 0;
    w->len = have;
    return 0;
}

/* Encodes the frame into the buffer: 0, or an error with nothing accepted. */
static int accept_frame(weft_framed_writer *w, const void *payload, size_t len) {
    ssize_t max = w->codec->vt->encoded_max(w->codec, payload, len);
    if (max < 0) return (int)max;
    int err = reserve(w, (size_t)max);
    if (err) return err;
    ssize_t n = w->codec->vt->encode(w->codec, payload, len, w->buf + w->len);
    if (n < 0) return (int)n;
    if ((size_t)n > (size_t)max) {
        /* The encoder wrote past the room it asked for: memory is already
         * damaged, nothing sane can follow. */
        fprintf(stderr, "weft: misuse: codec %s encoded %zd bytes after asking for %zd\n",
                w->codec->vt->name ? w->codec->vt->name : "(unnamed)", n, max);
        abort();
    }
    w->len += (size_t)n;
    return 0;
}

static weft_poll framed_flush_steps(weft_framed_writer *w, weft_context *cx, int *result) {
    int err;
    if (drain(w, cx, 0, &err) == WEFT_PENDING) return WEFT_PENDING;
    if (err) {
        *result = err;
        return WEFT_READY;
    }
    return w->s->vt->poll_flush(w->s, cx, result);
}

/* ---- write and send ------------------------------------------------------------------- */

static weft_poll framed_write_poll(weft_future *fut, weft_context *cx) {
    weft_framed_write *f = (weft_framed_write *)fut;
    weft_framed_writer *w = f->w;
    int err = writer_check(w);
    if (err) {
        f->result = err;
        return WEFT_READY;
    }
    if (!f->accepted) {
        if (!weft_coop_spend(cx)) return WEFT_PENDING;
        /* Fail as the stream would, even when the frame would only be buffered. */
        ssize_t probe = 0;
        if (w->s->vt->poll_write(w->s, cx, NULL, 0, &probe) == WEFT_READY && probe < 0) {
            f->result = (int)probe;
            return WEFT_READY;
        }
        /* Over the high-water mark: write older frames out first, until
         * this one fits under the mark (or the buffer is empty). */
        ssize_t max = w->codec->vt->encoded_max(w->codec, f->payload, f->len);
        if (max < 0) {
            f->result = (int)max;
            return WEFT_READY;
        }
        size_t keep = (size_t)max >= w->high_water ? 0 : w->high_water - (size_t)max;
        if (w->len - w->pos > keep) {
            if (drain(w, cx, keep, &err) == WEFT_PENDING) return WEFT_PENDING;
            if (err) {
                f->result = err;
                return WEFT_READY;
            }
        }
        err = accept_frame(w, f->payload, f->len);
        if (err) {
            f->result = err;
            return WEFT_READY;
        }
        f->accepted = true;
        if (!f->flush) {
            f->result = 0;
            return WEFT_READY;
        }
    }
    return framed_flush_steps(w, cx, &f->result);
}

static const weft_future_vtable framed_write_vtable = {framed_write_poll, NULL, "weft_framed_write"};

weft_future *weft_framed_write_init(weft_framed_write *f, weft_framed_writer *w, const void *payload,
                                    size_t len) {
    weft_future_init(&f->base, &framed_write_vtable);
    f->w = w;
    f->payload = payload;
    f->len = len;
    f->flush = false;
    f->accepted = false;
    f->result = 0;
    return &f->base;
}

weft_future *weft_framed_send_init(weft_framed_write *f, weft_framed_writer *w, const void *payload,
                                   size_t len) {
    weft_framed_write_init(f, w, payload, len);
    f->flush = true;
    return &f->base;
}

/* ---- flush ------------------------------------------------------------------------------ */

static weft_poll framed_flush_poll(weft_future *fut, weft_context *cx) {
    weft_framed_flush *f = (weft_framed_flush *)fut;
    int err = writer_check(f->w);
    if (err) {
        f->result = err;
        return WEFT_READY;
    }
    return framed_flush_steps(f->w, cx, &f->result);
}

static const weft_future_vtable framed_flush_vtable = {framed_flush_poll, NULL, "weft_framed_flush"};

weft_future *weft_framed_flush_init(weft_framed_flush *f, weft_framed_writer *w) {
    weft_future_init(&f->base, &framed_flush_vtable);
    f->w = w;
    f->result = 0;
    return &f->base;
}
