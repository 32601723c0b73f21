/*
 * split: a read half and a write half of one stream, usable by two tasks at
 * once. A stream flagged WEFT_STREAM_SPLIT_SAFE (separate waker slots per
 * direction, thread-safe system calls: TCP, Unix) needs nothing more; any
 * other stream gets a mutex held for the duration of each poll call (polls
 * never block, so the lock is only ever held briefly).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "weft/io.h"

struct weft__split_core {
    pthread_mutex_t lock;
    _Atomic int refs;
};

/* A closed half (or one over a stream with no vtable) answers -EBADF. */
#define EMPTY(h, out)                                   \
    do {                                                \
        if (WEFT_UNLIKELY(!(h)->inner || !(h)->inner->vt)) { \
            *(out) = -EBADF;                            \
            return WEFT_READY;                          \
        }                                               \
    } while (0)

static inline void core_lock(weft_split_half *h) {
    if (h->core) pthread_mutex_lock(&h->core->lock);
}
static inline void core_unlock(weft_split_half *h) {
    if (h->core) pthread_mutex_unlock(&h->core->lock);
}

static weft_poll h_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = h->inner->vt->poll_read(h->inner, cx, buf, len, res);
    core_unlock(h);
    return p;
}
static weft_poll h_readv(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                         ssize_t *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = weft_stream_poll_readv(h->inner, cx, iov, n, res);
    core_unlock(h);
    return p;
}
static weft_poll h_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                         ssize_t *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = h->inner->vt->poll_write(h->inner, cx, buf, len, res);
    core_unlock(h);
    return p;
}
static weft_poll h_writev(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                          ssize_t *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = weft_stream_poll_writev(h->inner, cx, iov, n, res);
    core_unlock(h);
    return p;
}
static weft_poll h_flush(weft_stream *s, weft_context *cx, int *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = h->inner->vt->poll_flush(h->inner, cx, res);
    core_unlock(h);
    return p;
}
static weft_poll h_shutdown(weft_stream *s, weft_context *cx, int *res) {
    weft_split_half *h = (weft_split_half *)s;
    EMPTY(h, res);
    core_lock(h);
    weft_poll p = h->inner->vt->poll_shutdown(h->inner, cx, res);
    core_unlock(h);
    return p;
}

static weft_poll no_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    (void)s, (void)cx, (void)buf, (void)len;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll no_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                          ssize_t *res) {
    (void)s, (void)cx, (void)buf, (void)len;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll no_flush(weft_stream *s, weft_context *cx, int *res) {
    (void)cx;
    *res = ((weft_split_half *)s)->inner ? 0 : -EBADF;
    return WEFT_READY;
}
static weft_poll no_shutdown(weft_stream *s, weft_context *cx, int *res) {
    (void)s, (void)cx;
    *res = -EBADF;
    return WEFT_READY;
}

static const weft_stream_vtable read_half_vtable = {
    "weft_split_read_half", WEFT_STREAM_SPLIT_SAFE, h_read, h_readv, no_write, NULL, no_flush,
    no_shutdown,
};
static const weft_stream_vtable write_half_vtable = {
    "weft_split_write_half", WEFT_STREAM_SPLIT_SAFE, no_read, NULL, h_write, h_writev, h_flush,
    h_shutdown,
};

int weft_stream_split(weft_stream *s, weft_split_half *rd, weft_split_half *wr) {
    if (!rd || !wr) return -EINVAL;
    rd->stream.vt = &read_half_vtable;
    wr->stream.vt = &write_half_vtable;
    rd->inner = wr->inner = NULL;
    rd->core = wr->core = NULL;
    if (!s) return -EINVAL;
    if (!s->vt) return -EBADF; /* never opened: the halves stay empty */
    struct weft__split_core *core = NULL;
    if (!(s->vt->flags & WEFT_STREAM_SPLIT_SAFE)) {
        core = malloc(sizeof *core);
        if (!core) return -ENOMEM;
        pthread_mutex_init(&core->lock, NULL);
        atomic_init(&core->refs, 2);
    }
    *rd = (weft_split_half){{&read_half_vtable}, s, core};
    *wr = (weft_split_half){{&write_half_vtable}, s, core};
    return 0;
}

void weft_split_half_destroy(weft_split_half *h) {
    if (!h) return;
    struct weft__split_core *core = h->core;
    h->core = NULL;
    h->inner = NULL;
    if (core && atomic_fetch_sub_explicit(&core->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&core->lock);
        free(core);
    }
}
