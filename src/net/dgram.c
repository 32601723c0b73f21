/* Datagram sockets: UDP and Unix datagram share the send/recv futures. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

int weft__dgram_open(weft_io_handle *io, weft_runtime *rt, int domain, const weft_sockaddr *bind_to) {
    io->reg = NULL;
    int fd = weft__socket(domain, SOCK_DGRAM, 0);
    if (fd < 0) return fd;
    int err = 0;
    if (bind_to && bind(fd, &bind_to->u.sa, bind_to->len) < 0) err = -errno;
    /* Writable at once; readable when a datagram comes. */
    if (!err) err = weft__io_register(rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE, &io->reg);
    if (err) close(fd);
    return err;
}

/* ---- send ---------------------------------------------------------------- */

static ssize_t do_send(int fd, void *p) {
    weft_dgram_send *s = p;
    ssize_t n;
    do {
        n = s->to ? sendto(fd, s->buf, s->len, MSG_NOSIGNAL, &s->to->u.sa, s->to->len)
                  : send(fd, s->buf, s->len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static weft_poll send_poll(weft_future *f, weft_context *cx) {
    weft_dgram_send *s = (weft_dgram_send *)f;
    if (!s->io) {
        s->result = -EINVAL;
        return WEFT_READY;
    }
    /* The handle is read at every poll: a closed socket is -EBADF. */
    return weft__io_op(s->io->reg, cx, WEFT_INTEREST_WRITE, &s->wait, do_send, s, &s->result);
}

static void send_drop(weft_future *f) { weft__io_waiter_cancel(&((weft_dgram_send *)f)->wait); }

static const weft_future_vtable send_vtable = {send_poll, send_drop, "weft_dgram_send"};

static weft_future *send_init(weft_dgram_send *f, weft_io_handle *io, const void *buf, size_t len,
                              const weft_sockaddr *to) {
    weft_future_init(&f->base, &send_vtable);
    f->io = io;
    f->buf = buf;
    f->len = len;
    f->to = to;
    weft__io_waiter_init(&f->wait);
    f->result = 0;
    return &f->base;
}

/* ---- recv ---------------------------------------------------------------- */

static ssize_t do_recv(int fd, void *p) {
    weft_dgram_recv *r = p;
    struct iovec iov = {r->buf, r->len};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (r->want_from) {
        memset(&r->from, 0, sizeof r->from);
        m.msg_name = &r->from.u;
        m.msg_namelen = sizeof r->from.u;
    }
    ssize_t n;
    do n = recvmsg(fd, &m, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    r->truncated = (m.msg_flags & MSG_TRUNC) != 0;
    if (r->want_from) r->from.len = m.msg_namelen;
    return n;
}

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_dgram_recv *r = (weft_dgram_recv *)f;
    if (!r->io) {
        r->result = -EINVAL;
        return WEFT_READY;
    }
    return weft__io_op(r->io->reg, cx, WEFT_INTEREST_READ, &r->wait, do_recv, r, &r->result);
}

static void recv_drop(weft_future *f) { weft__io_waiter_cancel(&((weft_dgram_recv *)f)->wait); }

static const weft_future_vtable recv_vtable = {recv_poll, recv_drop, "weft_dgram_recv"};

static weft_future *recv_init(weft_dgram_recv *f, weft_io_handle *io, void *buf, size_t len,
                              bool from) {
    weft_future_init(&f->base, &recv_vtable);
    f->io = io;
    f->buf = buf;
    f->len = len;
    f->want_from = from;
    f->truncated = false;
    weft__io_waiter_init(&f->wait);
    f->result = 0;
    memset(&f->from, 0, sizeof f->from);
    return &f->base;
}

/* ---- UDP ----------------------------------------------------------------- */

int weft_udp_bind_addr(weft_udp_socket *u, weft_runtime *rt, const weft_sockaddr *addr) {
    if (!u) return -EINVAL;
    u->io.reg = NULL;
    if (!addr || (addr->u.sa.sa_family != AF_INET && addr->u.sa.sa_family != AF_INET6))
        return -EINVAL;
    return weft__dgram_open(&u->io, rt, addr->u.sa.sa_family, addr);
}

int weft_udp_bind(weft_udp_socket *u, weft_runtime *rt, const char *addr) {
    if (!u) return -EINVAL;
    u->io.reg = NULL;
    weft_sockaddr addrs[WEFT__RESOLVE_MAX];
    int n = weft__resolve_text(addr, AF_UNSPEC, SOCK_DGRAM, true, addrs, WEFT__RESOLVE_MAX);
    if (n < 0) return n;
    int err = -EINVAL;
    for (int i = 0; i < n; i++) {
        err = weft_udp_bind_addr(u, rt, &addrs[i]);
        if (!err || err == -ESHUTDOWN) break;
    }
    return err;
}

int weft_udp_adopt(weft_udp_socket *u, weft_runtime *rt, int fd) {
    if (!u) return -EINVAL;
    u->io.reg = NULL;
    int err = weft__sock_check(fd, AF_INET, AF_INET6, SOCK_DGRAM, -1);
    if (err) return err;
    return weft__sock_adopt(&u->io, rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE);
}

int weft_udp_connect_addr(weft_udp_socket *u, const weft_sockaddr *addr) {
    if (!u || !addr) return -EINVAL;
    if (!u->io.reg) return -EBADF;
    if (connect(u->io.reg->fd, &addr->u.sa, addr->len) < 0) return -errno;
    return 0;
}

int weft_udp_connect(weft_udp_socket *u, const char *addr) {
    if (!u) return -EINVAL;
    int family = AF_UNSPEC;
    if (u->io.reg) {
        int err = weft__getsockopt_int(u->io.reg->fd, SOL_SOCKET, SO_DOMAIN, &family);
        if (err) return err;
    }
    weft_sockaddr a;
    int n = weft__resolve_text(addr, family, SOCK_DGRAM, false, &a, 1);
    if (n < 0) return n;
    return weft_udp_connect_addr(u, &a);
}

int weft_udp_local_addr(const weft_udp_socket *u, weft_sockaddr *out) {
    return u ? weft__local_addr(weft__handle_fd(&u->io), out) : -EINVAL;
}
int weft_udp_peer_addr(const weft_udp_socket *u, weft_sockaddr *out) {
    return u ? weft__peer_addr(weft__handle_fd(&u->io), out) : -EINVAL;
}
int weft_udp_fd(const weft_udp_socket *u) { return u ? weft__handle_fd(&u->io) : -EINVAL; }

void weft_udp_close(weft_udp_socket *u) {
    if (u) weft__handle_close(&u->io);
}

int weft_udp_into_fd(weft_udp_socket *u) { return u ? weft__handle_into_fd(&u->io) : -EINVAL; }

weft_future *weft_udp_send_init(weft_dgram_send *f, weft_udp_socket *u, const void *buf, size_t len) {
    return send_init(f, u ? &u->io : NULL, buf, len, NULL);
}
weft_future *weft_udp_send_to_init(weft_dgram_send *f, weft_udp_socket *u, const void *buf,
                                   size_t len, const weft_sockaddr *to) {
    return send_init(f, u ? &u->io : NULL, buf, len, to);
}
weft_future *weft_udp_recv_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf, size_t len) {
    return recv_init(f, u ? &u->io : NULL, buf, len, false);
}
weft_future *weft_udp_recv_from_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf, size_t len) {
    return recv_init(f, u ? &u->io : NULL, buf, len, true);
}

/* ---- Unix datagram ------------------------------------------------------- */

weft_future *weft_unix_datagram_send_init(weft_dgram_send *f, weft_unix_datagram *d,
                                          const void *buf, size_t len) {
    return send_init(f, d ? &d->io : NULL, buf, len, NULL);
}
weft_future *weft_unix_datagram_send_to_init(weft_dgram_send *f, weft_unix_datagram *d,
                                             const void *buf, size_t len, const weft_sockaddr *to) {
    return send_init(f, d ? &d->io : NULL, buf, len, to);
}
weft_future *weft_unix_datagram_recv_init(weft_dgram_recv *f, weft_unix_datagram *d, void *buf,
                                          size_t len) {
    return recv_init(f, d ? &d->io : NULL, buf, len, false);
}
weft_future *weft_unix_datagram_recv_from_init(weft_dgram_recv *f, weft_unix_datagram *d,
                                               void *buf, size_t len) {
    return recv_init(f, d ? &d->io : NULL, buf, len, true);
}
