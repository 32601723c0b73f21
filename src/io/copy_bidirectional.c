/*
 * copy_bidirectional: two one-way copies driven by one future, each
 * ending with a shutdown of its destination (the half-close travels on),
 * and an idle timer that is moved only when it fires: every read or write
 * stamps `last_ms`; when the timer goes off it either ends the copy (no
 * activity for idle_timeout_ms) or is set again for last_ms + timeout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "weft/io.h"

#define DEFAULT_BUF 8192

enum { DIR_PENDING, DIR_DONE, DIR_FAILED };

static void note_activity(weft_copy_bidirectional *c) {
    if (c->opts.idle_timeout_ms) c->last_ms = weft_clock_ms();
}

/* Advances one direction as far as it goes. DIR_FAILED sets *err. */
static int poll_half(weft_copy_bidirectional *c, weft_copy_half *h, weft_stream *from,
                     weft_stream *to, weft_copy_direction dir, uint64_t *count, weft_context *cx,
                     int *err) {
    for (;;) {
        if (h->shut_done) return DIR_DONE;
        if (h->pos == h->end && !h->read_done) {
            ssize_t n;
            if (from->vt->poll_read(from, cx, h->buf, c->cap, &n) == WEFT_PENDING) {
                /* Nothing to read now: push out what a buffered destination
                 * holds before waiting. */
                if (h->need_flush) {
                    int fr;
                    if (to->vt->poll_flush(to, cx, &fr) == WEFT_PENDING) return DIR_PENDING;
                    if (fr < 0) {
                        *err = fr;
                        return DIR_FAILED;
                    }
                    h->need_flush = false;
                }
                return DIR_PENDING;
            }
            if (n < 0) {
                *err = (int)n;
                return DIR_FAILED;
            }
            if (n == 0) {
                h->read_done = true;
            } else {
                h->pos = 0;
                h->end = (size_t)n;
                note_activity(c);
            }
        }
        while (h->pos < h->end) {
            ssize_t n;
            if (to->vt->poll_write(to, cx, h->buf + h->pos, h->end - h->pos, &n) == WEFT_PENDING)
                return DIR_PENDING;
            if (n <= 0) {
                *err = n < 0 ? (int)n : -EPIPE; /* a stream that takes nothing is closed */
                return DIR_FAILED;
            }
            h->pos += (size_t)n;
            *count += (uint64_t)n;
            h->need_flush = true;
            note_activity(c);
            if (c->opts.on_activity) c->opts.on_activity(c->opts.activity_arg, dir, (size_t)n);
        }
        if (h->read_done) {
            /* The source ended: flush and shut the destination's write side
             * (poll_shutdown flushes first). */
            int sr;
            if (to->vt->poll_shutdown(to, cx, &sr) == WEFT_PENDING) return DIR_PENDING;
            if (sr < 0) {
                *err = sr;
                return DIR_FAILED;
            }
            h->shut_done = true;
            return DIR_DONE;
        }
    }
}

static void release(weft_copy_bidirectional *c) {
    free(c->ab.buf); /* ba.buf is in the same block */
    c->ab.buf = c->ba.buf = NULL;
    if (c->timer_armed) {
        weft_future_drop(&c->idle.base);
        c->timer_armed = false;
    }
}

static weft_poll finish(weft_copy_bidirectional *c, int result) {
    c->result = result;
    release(c);
    return WEFT_READY;
}

/* Arms (or re-arms) the idle timer and polls it: READY when the copy has
 * been idle for the whole timeout. */
static weft_poll poll_idle(weft_copy_bidirectional *c, weft_context *cx) {
    for (;;) {
        if (!c->timer_armed) {
            weft_sleep_until_init(&c->idle, c->last_ms + c->opts.idle_timeout_ms);
            c->timer_armed = true;
        }
        if (weft_future_poll(&c->idle.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        c->timer_armed = false; /* it fired: a completed future holds nothing */
        if (weft_clock_ms() - c->last_ms >= c->opts.idle_timeout_ms) return WEFT_READY;
    }
}

static weft_poll copy_bidi_poll(weft_future *f, weft_context *cx) {
    weft_copy_bidirectional *c = (weft_copy_bidirectional *)f;
    if (WEFT_UNLIKELY(!c->a || !c->b)) return finish(c, -EINVAL);
    if (WEFT_UNLIKELY(!c->a->vt || !c->b->vt)) return finish(c, -EBADF);
    if (!c->ab.buf) {
        unsigned char *mem = c->cap <= SIZE_MAX / 2 ? malloc(2 * c->cap) : NULL;
        if (!mem) return finish(c, -ENOMEM);
        c->ab.buf = mem;
        c->ba.buf = mem + c->cap;
        c->last_ms = weft_clock_ms();
    }
    int err = 0;
    int ab = poll_half(c, &c->ab, c->a, c->b, WEFT_COPY_A_TO_B, &c->a_to_b, cx, &err);
    if (ab == DIR_FAILED) return finish(c, err);
    int ba = poll_half(c, &c->ba, c->b, c->a, WEFT_COPY_B_TO_A, &c->b_to_a, cx, &err);
    if (ba == DIR_FAILED) return finish(c, err);
    if (ab == DIR_DONE && ba == DIR_DONE) return finish(c, 0);
    if (c->opts.idle_timeout_ms && poll_idle(c, cx) == WEFT_READY) return finish(c, -ETIMEDOUT);
    return WEFT_PENDING;
}

static void copy_bidi_drop(weft_future *f) { release((weft_copy_bidirectional *)f); }

static const weft_future_vtable copy_bidi_vtable = {copy_bidi_poll, copy_bidi_drop,
                                                    "weft_copy_bidirectional"};

weft_future *weft_copy_bidirectional_init(weft_copy_bidirectional *f, weft_stream *a,
                                          weft_stream *b,
                                          const weft_copy_bidirectional_options *opts) {
    weft_future_init(&f->base, &copy_bidi_vtable);
    f->a = a;
    f->b = b;
    f->ab = (weft_copy_half){0};
    f->ba = (weft_copy_half){0};
    f->opts = opts ? *opts : (weft_copy_bidirectional_options){0};
    f->cap = f->opts.buf_size ? f->opts.buf_size : DEFAULT_BUF;
    f->last_ms = 0;
    f->timer_armed = false;
    f->a_to_b = f->b_to_a = 0;
    f->result = 0;
    return &f->base;
}
