/* TCP: listener, accept, connect (numeric or resolved), stream options. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

/* ---- listener ------------------------------------------------------------ */

int weft_tcp_listener_bind_addr(weft_tcp_listener *l, weft_runtime *rt, const weft_sockaddr *addr,
                                int backlog) {
    memset(l, 0, sizeof *l);
    if (!addr || (addr->u.sa.sa_family != AF_INET && addr->u.sa.sa_family != AF_INET6))
        return -EINVAL;
    return weft__listen(&l->io, rt, addr, backlog, true);
}

int weft_tcp_listener_bind(weft_tcp_listener *l, weft_runtime *rt, const char *addr, int backlog) {
    weft_sockaddr a;
    memset(l, 0, sizeof *l);
    int err = weft_sockaddr_parse(&a, addr);
    if (err) return err;
    return weft_tcp_listener_bind_addr(l, rt, &a, backlog);
}

int weft_tcp_listener_local_addr(const weft_tcp_listener *l, weft_sockaddr *out) {
    if (!l->io.reg) return -EBADF;
    return weft__local_addr(l->io.reg->fd, out);
}

uint16_t weft_tcp_listener_port(const weft_tcp_listener *l) {
    weft_sockaddr a;
    return weft_tcp_listener_local_addr(l, &a) == 0 ? weft_sockaddr_port(&a) : 0;
}

void weft_tcp_listener_close(weft_tcp_listener *l) {
    if (!l->io.reg) return;
    weft__io_deregister(l->io.reg);
    l->io.reg = NULL;
}

weft_future *weft_tcp_accept_init(weft_tcp_accept *f, weft_tcp_listener *l) {
    return weft__accept_init((weft__accept *)f, l, weft__tcp_vtables);
}

/* ---- connect ------------------------------------------------------------- */

enum { C_START = 0, C_RESOLVING, C_NEXT, C_CONNECTING, C_DONE };

static void drop_pending(weft_tcp_connect *c) {
    if (c->pending.reg) {
        weft__io_deregister(c->pending.reg);
        c->pending.reg = NULL;
    }
}

static weft_poll connect_finish(weft_tcp_connect *c, int result) {
    drop_pending(c);
    weft__resolve_release(c->req);
    c->req = NULL;
    c->addrs = NULL;
    c->result = result;
    c->state = C_DONE;
    return WEFT_READY;
}

/* Starts a non-blocking connect to `a`. Returns 0 (c->pending registered;
 * *done says the connection is already complete) or -errno. The socket is
 * registered only after connect() started: before that a TCP socket reports
 * a hang-up. */
static int start_one(weft_tcp_connect *c, weft_runtime *rt, const weft_sockaddr *a, bool *done) {
    int fd = weft__socket(a->u.sa.sa_family, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    uint32_t initial;
    if (connect(fd, &a->u.sa, a->len) == 0) {
        *done = true;
        initial = WEFT_IO_READABLE | WEFT_IO_WRITABLE;
    } else if (errno == EINPROGRESS || errno == EINTR) {
        *done = false;
        initial = 0;
    } else {
        int err = -errno;
        close(fd);
        return err;
    }
    int err = weft__io_register(rt, fd, initial, &c->pending.reg);
    if (err) close(fd);
    return err;
}

static weft_poll connect_poll(weft_future *f, weft_context *cx) {
    weft_tcp_connect *c = (weft_tcp_connect *)f;
    if (!cx->runtime) weft__misuse(f, "polled outside a runtime (it needs the reactor)");
    for (;;) {
        switch (c->state) {
        case C_START: {
            if (c->addrs) { /* connect_addr */
                c->state = C_NEXT;
                break;
            }
            char host[256];
            uint16_t port;
            bool br;
            int err = weft__split_host_port(c->text, host, sizeof host, &port, &br);
            if (err) return connect_finish(c, err);
            if (br || weft__is_ipv4_literal(host)) {
                err = weft__parse_numeric_host(&c->target, host, port, br);
                if (err) return connect_finish(c, err);
                c->addrs = &c->target;
                c->naddrs = 1;
                c->state = C_NEXT;
                break;
            }
            if (!weft__is_hostname(host)) return connect_finish(c, -EINVAL);
            err = weft__resolve_start(cx->runtime, host, port, &c->req);
            if (err) return connect_finish(c, err);
            c->state = C_RESOLVING;
            break;
        }
        case C_RESOLVING: {
            int n;
            weft_sockaddr *addrs;
            if (weft__resolve_poll(c->req, cx, &n, &addrs) == WEFT_PENDING) return WEFT_PENDING;
            if (n < 0) return connect_finish(c, n);
            c->addrs = addrs;
            c->naddrs = (size_t)n;
            c->state = C_NEXT;
            break;
        }
        case C_NEXT: {
            if (c->next >= c->naddrs) return connect_finish(c, c->last_error ? c->last_error : -EINVAL);
            bool done = false;
            int err = start_one(c, cx->runtime, &c->addrs[c->next++], &done);
            if (err) {
                c->last_error = err;
                if (err == -ESHUTDOWN || err == -EMFILE || err == -ENFILE || err == -ENOMEM)
                    return connect_finish(c, err);
                break;
            }
            c->state = done ? C_DONE : C_CONNECTING;
            if (done) goto connected;
            break;
        }
        case C_CONNECTING: {
            if (!weft_coop_spend(cx)) return WEFT_PENDING;
            weft_io_ready ev;
            bool sd;
            if (weft__io_poll_ready(c->pending.reg, cx, WEFT_INTEREST_WRITE, &ev, &sd) ==
                WEFT_PENDING) {
                cx->budget++;
                return WEFT_PENDING;
            }
            if (sd) return connect_finish(c, -ESHUTDOWN);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(c->pending.reg->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
            if (soerr == 0) {
                weft_sockaddr peer;
                int pe = weft__peer_addr(c->pending.reg->fd, &peer);
                if (pe == -ENOTCONN) { /* not yet: the event was not the connect's */
                    weft__io_clear_ready(c->pending.reg, &ev);
                    break;
                }
                goto connected;
            }
            c->last_error = -soerr;
            drop_pending(c);
            c->state = C_NEXT;
            break;
        }
        default: weft__misuse(f, "polled after it completed");
        }
        continue;
    connected:
        /* Try the first read before waiting for an event. */
        atomic_fetch_or_explicit(&c->pending.reg->state, WEFT_IO_READABLE | WEFT_IO_WRITABLE,
                                 memory_order_acq_rel);
        c->stream.stream.vt = &weft__tcp_vtables[0];
        c->stream.io = c->pending;
        c->pending.reg = NULL;
        return connect_finish(c, 0);
    }
}

static void connect_drop(weft_future *f) {
    weft_tcp_connect *c = (weft_tcp_connect *)f;
    drop_pending(c);
    weft__resolve_release(c->req);
    c->req = NULL;
}

static const weft_future_vtable connect_vtable = {connect_poll, connect_drop, "weft_tcp_connect"};

static void connect_setup(weft_tcp_connect *f) {
    weft_future_init(&f->base, &connect_vtable);
    f->addrs = NULL;
    f->naddrs = f->next = 0;
    f->req = NULL;
    f->pending.reg = NULL;
    f->state = C_START;
    f->last_error = 0;
    f->result = 0;
    f->stream.stream.vt = &weft__tcp_vtables[0];
    f->stream.io.reg = NULL;
}

weft_future *weft_tcp_connect_init(weft_tcp_connect *f, const char *addr) {
    connect_setup(f);
    size_t n = addr ? strlen(addr) : 0;
    if (!addr || n >= sizeof f->text) f->text[0] = 0; /* -EINVAL at the first poll */
    else memcpy(f->text, addr, n + 1);
    return &f->base;
}

weft_future *weft_tcp_connect_addr_init(weft_tcp_connect *f, const weft_sockaddr *addr) {
    connect_setup(f);
    f->text[0] = 0;
    if (addr && (addr->u.sa.sa_family == AF_INET || addr->u.sa.sa_family == AF_INET6)) {
        f->target = *addr;
        f->addrs = &f->target;
        f->naddrs = 1;
    } else {
        f->last_error = -EINVAL; /* C_NEXT with no address: -EINVAL */
        f->addrs = &f->target;
        f->naddrs = 0;
    }
    return &f->base;
}

/* ---- stream -------------------------------------------------------------- */

int weft_tcp_stream_from_fd(weft_tcp_stream *s, weft_runtime *rt, int fd) {
    return weft__sock_stream_open((weft__sock_stream *)s, weft__tcp_vtables, rt, fd,
                                  WEFT_IO_READABLE | WEFT_IO_WRITABLE);
}

int weft_tcp_stream_fd(const weft_tcp_stream *s) { return weft__io_fd(&s->io); }

int weft_tcp_stream_set_nodelay(weft_tcp_stream *s, bool on) {
    int v = on;
    if (setsockopt(weft__io_fd(&s->io), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0) return -errno;
    return 0;
}

int weft_tcp_stream_nodelay(const weft_tcp_stream *s, bool *on) {
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(weft__io_fd(&s->io), IPPROTO_TCP, TCP_NODELAY, &v, &l) < 0) return -errno;
    *on = v != 0;
    return 0;
}

int weft_tcp_stream_local_addr(const weft_tcp_stream *s, weft_sockaddr *out) {
    return weft__local_addr(weft__io_fd(&s->io), out);
}

int weft_tcp_stream_peer_addr(const weft_tcp_stream *s, weft_sockaddr *out) {
    return weft__peer_addr(weft__io_fd(&s->io), out);
}

int weft_tcp_stream_shutdown(weft_tcp_stream *s, int how) {
    return shutdown(weft__io_fd(&s->io), how) < 0 ? -errno : 0;
}

void weft_tcp_stream_into_split(weft_tcp_stream *s, weft_tcp_stream *rd, weft_tcp_stream *wr) {
    weft__sock_stream_split((weft__sock_stream *)s, (weft__sock_stream *)rd,
                            (weft__sock_stream *)wr);
}

void weft_tcp_stream_close(weft_tcp_stream *s) { weft__sock_stream_close((weft__sock_stream *)s); }
