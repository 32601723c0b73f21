/* Unix domain sockets: stream listener, accept, connect, pairs; datagram
 * sockets (their send/recv futures are in dgram.c). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

/* ---- stream listener ------------------------------------------------------ */

int weft_unix_listener_bind(weft_unix_listener *l, weft_runtime *rt, const char *path,
                            int backlog) {
    if (!l) return -EINVAL;
    weft_sockaddr a;
    memset(l, 0, sizeof *l);
    int err = weft_sockaddr_unix(&a, path);
    if (err) return err;
    return weft__listen(&l->io, rt, &a, backlog, false);
}

int weft_unix_listener_adopt(weft_unix_listener *l, weft_runtime *rt, int fd) {
    if (!l) return -EINVAL;
    memset(l, 0, sizeof *l);
    int err = weft__sock_check(fd, AF_UNIX, AF_UNIX, SOCK_STREAM, 1);
    if (err) return err;
    return weft__sock_adopt(&l->io, rt, fd, WEFT_IO_READABLE);
}

int weft_unix_listener_fd(const weft_unix_listener *l) { return l ? weft__handle_fd(&l->io) : -EINVAL; }

int weft_unix_listener_local_addr(const weft_unix_listener *l, weft_sockaddr *out) {
    return l ? weft__local_addr(weft__handle_fd(&l->io), out) : -EINVAL;
}

void weft_unix_listener_close(weft_unix_listener *l) {
    if (l) weft__handle_close(&l->io);
}

int weft_unix_listener_into_fd(weft_unix_listener *l) {
    return l ? weft__handle_into_fd(&l->io) : -EINVAL;
}

weft_future *weft_unix_accept_init(weft_unix_accept *f, weft_unix_listener *l) {
    return weft__accept_init((weft__accept *)f, l, weft__unix_vtables);
}

/* ---- connect -------------------------------------------------------------- */

enum { U_START = 0, U_CONNECTING, U_DONE };

static weft_poll uconnect_finish(weft_unix_connect *c, int result) {
    weft__io_waiter_cancel(&c->wait);
    if (result != 0 && c->pending.reg) {
        weft__io_deregister(c->pending.reg);
    } else if (result == 0) {
        c->stream.stream.vt = &weft__unix_vtables[0];
        c->stream.io = c->pending;
    }
    c->pending.reg = NULL;
    c->result = result;
    c->state = U_DONE;
    return WEFT_READY;
}

static weft_poll uconnect_poll(weft_future *f, weft_context *cx) {
    weft_unix_connect *c = (weft_unix_connect *)f;
    if (!cx->runtime) weft__misuse(f, "polled outside a runtime (it needs the reactor)");
    if (c->state == U_START) {
        if (c->parse_error) return uconnect_finish(c, c->parse_error);
        int fd = weft__socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) return uconnect_finish(c, fd);
        uint32_t initial = WEFT_IO_READABLE | WEFT_IO_WRITABLE;
        bool done = true;
        if (connect(fd, &c->target.u.sa, c->target.len) < 0) {
            /* EINTR: the connection goes on asynchronously, as EINPROGRESS. */
            if (errno != EINPROGRESS && errno != EINTR) {
                /* EAGAIN: the listener's backlog is full (Linux). */
                int err = -errno;
                close(fd);
                return uconnect_finish(c, err);
            }
            done = false;
            initial = 0;
        }
        int err = weft__io_register(cx->runtime, fd, initial, &c->pending.reg);
        if (err) {
            close(fd);
            return uconnect_finish(c, err);
        }
        if (done) return uconnect_finish(c, 0);
        c->state = U_CONNECTING;
    }
    for (;;) {
        weft_io_ready ev;
        int err;
        if (weft__io_poll_ready(c->pending.reg, cx, WEFT_INTEREST_WRITE, &c->wait, &ev, &err) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (err) return uconnect_finish(c, err);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(c->pending.reg->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
        if (soerr) return uconnect_finish(c, -soerr);
        atomic_fetch_or_explicit(&c->pending.reg->state, WEFT_IO_READABLE | WEFT_IO_WRITABLE,
                                 memory_order_acq_rel);
        return uconnect_finish(c, 0);
    }
}

static void uconnect_drop(weft_future *f) {
    weft_unix_connect *c = (weft_unix_connect *)f;
    weft__io_waiter_cancel(&c->wait);
    if (c->pending.reg) weft__io_deregister(c->pending.reg);
    c->pending.reg = NULL;
}

static const weft_future_vtable uconnect_vtable = {uconnect_poll, uconnect_drop,
                                                   "weft_unix_connect"};

weft_future *weft_unix_connect_init(weft_unix_connect *f, const char *path) {
    weft_future_init(&f->base, &uconnect_vtable);
    f->parse_error = weft_sockaddr_unix(&f->target, path);
    f->pending.reg = NULL;
    weft__io_waiter_init(&f->wait);
    f->state = U_START;
    f->result = 0;
    f->stream.stream.vt = &weft__unix_vtables[0];
    f->stream.io.reg = NULL;
    return &f->base;
}

/* ---- streams -------------------------------------------------------------- */

static int pair(int type, weft_io_handle *a, weft_io_handle *b, weft_runtime *rt) {
    int sv[2];
    a->reg = b->reg = NULL;
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    int err = weft__io_register(rt, sv[0], WEFT_IO_READABLE | WEFT_IO_WRITABLE, &a->reg);
    if (err) {
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    err = weft__io_register(rt, sv[1], WEFT_IO_READABLE | WEFT_IO_WRITABLE, &b->reg);
    if (err) {
        weft__io_deregister(a->reg);
        a->reg = NULL;
        close(sv[1]);
    }
    return err;
}

int weft_unix_stream_pair(weft_unix_stream *a, weft_unix_stream *b, weft_runtime *rt) {
    if (!a || !b) return -EINVAL;
    a->stream.vt = b->stream.vt = &weft__unix_vtables[0];
    return pair(SOCK_STREAM, &a->io, &b->io, rt);
}

int weft_unix_stream_adopt(weft_unix_stream *s, weft_runtime *rt, int fd) {
    if (!s) return -EINVAL;
    s->stream.vt = &weft__unix_vtables[0];
    s->io.reg = NULL;
    int err = weft__sock_check(fd, AF_UNIX, AF_UNIX, SOCK_STREAM, 0);
    if (err) return err;
    return weft__sock_adopt(&s->io, rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE);
}

int weft_unix_stream_fd(const weft_unix_stream *s) { return s ? weft__handle_fd(&s->io) : -EINVAL; }
int weft_unix_stream_local_addr(const weft_unix_stream *s, weft_sockaddr *out) {
    return s ? weft__local_addr(weft__handle_fd(&s->io), out) : -EINVAL;
}
int weft_unix_stream_peer_addr(const weft_unix_stream *s, weft_sockaddr *out) {
    return s ? weft__peer_addr(weft__handle_fd(&s->io), out) : -EINVAL;
}
int weft_unix_stream_shutdown(weft_unix_stream *s, int how) {
    return s ? weft__sock_shutdown(&s->io, how) : -EINVAL;
}
int weft_unix_stream_into_split(weft_unix_stream *s, weft_unix_stream *rd, weft_unix_stream *wr) {
    if (!s || !rd || !wr || rd == wr) return -EINVAL;
    return weft__sock_stream_split((weft__sock_stream *)s, (weft__sock_stream *)rd,
                                   (weft__sock_stream *)wr);
}
void weft_unix_stream_close(weft_unix_stream *s) {
    if (s) weft__sock_stream_close((weft__sock_stream *)s);
}
int weft_unix_stream_into_fd(weft_unix_stream *s) {
    return s ? weft__handle_into_fd(&s->io) : -EINVAL;
}

/* ---- datagrams ------------------------------------------------------------ */

int weft_unix_datagram_bind(weft_unix_datagram *d, weft_runtime *rt, const char *path) {
    if (!d) return -EINVAL;
    weft_sockaddr a;
    d->io.reg = NULL;
    int err = weft_sockaddr_unix(&a, path);
    if (err) return err;
    return weft__dgram_open(&d->io, rt, AF_UNIX, &a);
}

int weft_unix_datagram_unbound(weft_unix_datagram *d, weft_runtime *rt) {
    if (!d) return -EINVAL;
    return weft__dgram_open(&d->io, rt, AF_UNIX, NULL);
}

int weft_unix_datagram_pair(weft_unix_datagram *a, weft_unix_datagram *b, weft_runtime *rt) {
    if (!a || !b) return -EINVAL;
    return pair(SOCK_DGRAM, &a->io, &b->io, rt);
}

int weft_unix_datagram_adopt(weft_unix_datagram *d, weft_runtime *rt, int fd) {
    if (!d) return -EINVAL;
    d->io.reg = NULL;
    int err = weft__sock_check(fd, AF_UNIX, AF_UNIX, SOCK_DGRAM, -1);
    if (err) return err;
    return weft__sock_adopt(&d->io, rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE);
}

int weft_unix_datagram_connect(weft_unix_datagram *d, const char *path) {
    if (!d) return -EINVAL;
    weft_sockaddr a;
    int err = weft_sockaddr_unix(&a, path);
    if (err) return err;
    if (!d->io.reg) return -EBADF;
    if (connect(d->io.reg->fd, &a.u.sa, a.len) < 0) return -errno;
    return 0;
}

int weft_unix_datagram_local_addr(const weft_unix_datagram *d, weft_sockaddr *out) {
    return d ? weft__local_addr(weft__handle_fd(&d->io), out) : -EINVAL;
}

int weft_unix_datagram_fd(const weft_unix_datagram *d) { return d ? weft__handle_fd(&d->io) : -EINVAL; }

void weft_unix_datagram_close(weft_unix_datagram *d) {
    if (d) weft__handle_close(&d->io);
}

int weft_unix_datagram_into_fd(weft_unix_datagram *d) {
    return d ? weft__handle_into_fd(&d->io) : -EINVAL;
}
