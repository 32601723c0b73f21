/*
 * What TCP and Unix sockets share: socket creation, the byte-stream vtables
 * over a connected socket, owned split halves, listening and accepting
 * (with the descriptor-exhaustion back-off).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

int weft__socket(int domain, int type, int proto) {
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    return fd < 0 ? -errno : fd;
}

int weft__local_addr(int fd, weft_sockaddr *out) {
    if (!out) return -EINVAL;
    memset(out, 0, sizeof *out);
    if (fd < 0) return -EBADF;
    out->len = sizeof out->u;
    if (getsockname(fd, &out->u.sa, &out->len) < 0) return -errno;
    return 0;
}

int weft__peer_addr(int fd, weft_sockaddr *out) {
    if (!out) return -EINVAL;
    memset(out, 0, sizeof *out);
    if (fd < 0) return -EBADF;
    out->len = sizeof out->u;
    if (getpeername(fd, &out->u.sa, &out->len) < 0) return -errno;
    return 0;
}

int weft__setsockopt_int(int fd, int level, int name, int value) {
    if (fd < 0) return -EBADF;
    return setsockopt(fd, level, name, &value, sizeof value) < 0 ? -errno : 0;
}

int weft__getsockopt_int(int fd, int level, int name, int *value) {
    if (fd < 0) return -EBADF;
    socklen_t l = sizeof *value;
    return getsockopt(fd, level, name, value, &l) < 0 ? -errno : 0;
}

int weft__sock_check(int fd, int fam, int fam2, int type, int listening) {
    if (fd < 0) return -EBADF;
    int v;
    int err = weft__getsockopt_int(fd, SOL_SOCKET, SO_TYPE, &v);
    if (err) return err; /* -EBADF, -ENOTSOCK */
    if (v != type) return -EPROTOTYPE;
    if ((err = weft__getsockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &v))) return err;
    if (v != fam && v != fam2) return -EAFNOSUPPORT;
    if (type == SOCK_STREAM && listening >= 0) {
        if ((err = weft__getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v))) return err;
        if ((v != 0) != (listening != 0)) return -EINVAL;
    }
    return 0;
}

int weft__sock_adopt(weft_io_handle *io, weft_runtime *rt, int fd, uint32_t initial) {
    io->reg = NULL;
    weft__fd_flags saved;
    int err = weft__fd_prepare(fd, &saved);
    if (err) return err;
    err = weft__io_register(rt, fd, initial, &io->reg);
    if (err) weft__fd_restore(fd, &saved);
    return err;
}

int weft__sock_shutdown(const weft_io_handle *io, int how) {
    if (!io->reg) return -EBADF;
    return shutdown(io->reg->fd, how) < 0 ? -errno : 0;
}

/* ---- byte streams over a connected socket --------------------------------- */

#define SS(s) ((weft__sock_stream *)(s))

static weft_poll ss_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    return weft__io_read(SS(s)->io.reg, cx, buf, len, res);
}
static weft_poll ss_readv(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                          ssize_t *res) {
    return weft__io_readv(SS(s)->io.reg, cx, iov, n, res);
}
static weft_poll ss_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                          ssize_t *res) {
    return weft__io_write(SS(s)->io.reg, cx, buf, len, true, res);
}
static weft_poll ss_writev(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                           ssize_t *res) {
    return weft__io_writev(SS(s)->io.reg, cx, iov, n, true, res);
}
static weft_poll ss_flush(weft_stream *s, weft_context *cx, int *res) {
    (void)cx;
    *res = SS(s)->io.reg ? 0 : -EBADF; /* nothing is buffered above the kernel */
    return WEFT_READY;
}
static weft_poll ss_shutdown(weft_stream *s, weft_context *cx, int *res) {
    (void)cx;
    *res = weft__sock_shutdown(&SS(s)->io, SHUT_WR);
    return WEFT_READY;
}
static weft_poll bad_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    (void)s, (void)cx, (void)buf, (void)len;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll bad_readv(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                           ssize_t *res) {
    (void)s, (void)cx, (void)iov, (void)n;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll bad_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                           ssize_t *res) {
    (void)s, (void)cx, (void)buf, (void)len;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll bad_writev(weft_stream *s, weft_context *cx, const struct iovec *iov, int n,
                            ssize_t *res) {
    (void)s, (void)cx, (void)iov, (void)n;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll bad_shutdown(weft_stream *s, weft_context *cx, int *res) {
    (void)s, (void)cx;
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll half_flush(weft_stream *s, weft_context *cx, int *res) { return ss_flush(s, cx, res); }

#define VTABLES(NAME)                                                                          \
    {                                                                                          \
        {NAME, WEFT_STREAM_SPLIT_SAFE, ss_read, ss_readv, ss_write, ss_writev, ss_flush,       \
         ss_shutdown},                                                                         \
        {NAME " read half", WEFT_STREAM_SPLIT_SAFE, ss_read, ss_readv, bad_write, bad_writev,  \
         half_flush, bad_shutdown},                                                            \
        {NAME " write half", WEFT_STREAM_SPLIT_SAFE, bad_read, bad_readv, ss_write, ss_writev, \
         half_flush, ss_shutdown},                                                             \
    }

const weft_stream_vtable weft__tcp_vtables[3] = VTABLES("weft_tcp_stream");
const weft_stream_vtable weft__unix_vtables[3] = VTABLES("weft_unix_stream");

int weft__sock_stream_open(weft__sock_stream *s, const weft_stream_vtable *vts, weft_runtime *rt,
                           int fd, uint32_t initial) {
    s->stream.vt = &vts[0];
    return weft__io_register(rt, fd, initial, &s->io.reg);
}

static bool is_write_half(const weft__sock_stream *s) {
    return s->stream.vt == &weft__tcp_vtables[2] || s->stream.vt == &weft__unix_vtables[2];
}
static bool is_read_half(const weft__sock_stream *s) {
    return s->stream.vt == &weft__tcp_vtables[1] || s->stream.vt == &weft__unix_vtables[1];
}

void weft__sock_stream_close(weft__sock_stream *s) {
    weft_io_reg *r = s->io.reg;
    if (!r) return;
    s->io.reg = NULL;
    if (atomic_load_explicit(&r->users, memory_order_acquire) > 1) {
        /* One half of a split stream while the other lives: closing the
         * write half ends the write direction, as dropping Tokio's
         * OwnedWriteHalf does; an operation left waiting on this half is
         * woken and finds it empty. */
        if (is_write_half(s)) {
            shutdown(r->fd, SHUT_WR);
            weft__io_wake_slot(r, WEFT_INTEREST_WRITE);
        } else if (is_read_half(s)) {
            weft__io_wake_slot(r, WEFT_INTEREST_READ);
        }
    }
    weft__io_unshare(r);
}

int weft__sock_stream_split(weft__sock_stream *s, weft__sock_stream *rd, weft__sock_stream *wr) {
    const weft_stream_vtable *base = s->stream.vt;
    const weft_stream_vtable *vts =
        (base >= weft__unix_vtables && base < weft__unix_vtables + 3) ? weft__unix_vtables
                                                                       : weft__tcp_vtables;
    weft_io_reg *r = s->io.reg;
    rd->stream.vt = &vts[1];
    wr->stream.vt = &vts[2];
    if (!r) {
        rd->io.reg = wr->io.reg = NULL;
        return -EBADF;
    }
    weft__io_share(r);
    rd->io.reg = r;
    wr->io.reg = r;
    if (s != rd && s != wr) s->io.reg = NULL;
    return 0;
}

/* ---- listening ------------------------------------------------------------- */

int weft__listen_fd(weft_io_handle *io, weft_runtime *rt, int fd, int backlog) {
    io->reg = NULL;
    if (backlog <= 0) backlog = SOMAXCONN;
    if (listen(fd, backlog) < 0) return -errno;
    /* Connections may already be queued: try the first accept at once. */
    return weft__io_register(rt, fd, WEFT_IO_READABLE, &io->reg);
}

int weft__listen(weft_io_handle *io, weft_runtime *rt, const weft_sockaddr *addr, int backlog,
                 bool reuseaddr) {
    io->reg = NULL;
    int fd = weft__socket(addr->u.sa.sa_family, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    if (reuseaddr) weft__setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    int err = bind(fd, &addr->u.sa, addr->len) < 0 ? -errno : 0;
    if (!err) err = weft__listen_fd(io, rt, fd, backlog);
    if (err) close(fd);
    return err;
}

/* ---- accepting ------------------------------------------------------------- */

#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 200

typedef struct accept_arg {
    weft_sockaddr *peer;
} accept_arg;

static ssize_t do_accept(int fd, void *p) {
    accept_arg *a = p;
    for (;;) {
        a->peer->len = sizeof a->peer->u;
        int c = accept4(fd, &a->peer->u.sa, &a->peer->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) return c;
        switch (errno) {
        case EINTR:
        /* The connection died in the queue, or a firewall said no: next. */
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
            continue;
        default: return -errno;
        }
    }
}

static bool fd_exhaustion(int err) {
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

static const weft_future_vtable accept_vtable;

static weft_poll accept_poll(weft_future *f, weft_context *cx) {
    weft__accept *a = (weft__accept *)f;
    weft_tcp_listener *l = a->listener;
    if (!l) {
        a->result = -EINVAL;
        return WEFT_READY;
    }
    for (;;) {
        if (a->backing_off) {
            if (weft_future_poll(&a->backoff.base, cx) == WEFT_PENDING) return WEFT_PENDING;
            a->backing_off = false;
        }
        ssize_t res;
        accept_arg arg = {&a->peer};
        /* Read the handle at every poll: a closed listener is -EBADF. */
        weft_io_reg *reg = l->io.reg;
        if (weft__io_op(reg, cx, WEFT_INTEREST_READ, &a->wait, do_accept, &arg, &res) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (res >= 0) {
            int fd = (int)res;
            /* A fresh connection may already hold data: try reads first. */
            int err = weft__sock_stream_open(&a->stream, a->stream.stream.vt, reg->rt, fd,
                                             WEFT_IO_READABLE | WEFT_IO_WRITABLE);
            if (err) {
                close(fd);
                a->result = err;
                return WEFT_READY;
            }
            __atomic_store_n(&l->fd_error_reported, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&l->backoff_ms, 0, __ATOMIC_RELAXED);
            a->result = 0;
            return WEFT_READY;
        }
        int err = (int)res;
        if (!fd_exhaustion(err)) {
            a->result = err;
            return WEFT_READY;
        }
        /* Out of descriptors (or memory). The connection stays queued and,
         * with edge-triggered readiness, no new event will come for it: so
         * report once, then retry on a timer with a growing back-off. */
        if (!__atomic_exchange_n(&l->fd_error_reported, 1, __ATOMIC_RELAXED)) {
            a->result = err;
            return WEFT_READY;
        }
        uint32_t ms = __atomic_load_n(&l->backoff_ms, __ATOMIC_RELAXED);
        ms = ms ? (ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2) : BACKOFF_MIN_MS;
        __atomic_store_n(&l->backoff_ms, ms, __ATOMIC_RELAXED);
        weft_sleep_init(&a->backoff, ms);
        a->backing_off = true;
    }
}

static void accept_drop(weft_future *f) {
    weft__accept *a = (weft__accept *)f;
    if (a->backing_off) {
        weft_future_drop(&a->backoff.base);
        a->backing_off = false;
    }
    weft__io_waiter_cancel(&a->wait);
}

static const weft_future_vtable accept_vtable = {accept_poll, accept_drop, "weft_accept"};

weft_future *weft__accept_init(weft__accept *f, void *listener, const weft_stream_vtable *vts) {
    weft_future_init(&f->base, &accept_vtable);
    f->listener = listener;
    f->backing_off = false;
    weft__io_waiter_init(&f->wait);
    f->result = 0;
    f->stream.stream.vt = &vts[0];
    f->stream.io.reg = NULL;
    memset(&f->peer, 0, sizeof f->peer);
    return &f->base;
}
