/* TCP: listener, accept, connect (numeric, resolved, or from a socket
 * builder), stream options. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

static bool is_ip(const weft_sockaddr *a) {
    return a && (a->u.sa.sa_family == AF_INET || a->u.sa.sa_family == AF_INET6);
}

/* ---- listener ------------------------------------------------------------ */

int weft_tcp_listener_bind_addr(weft_tcp_listener *l, weft_runtime *rt, const weft_sockaddr *addr,
                                int backlog) {
    if (!l) return -EINVAL;
    memset(l, 0, sizeof *l);
    if (!is_ip(addr)) return -EINVAL;
    return weft__listen(&l->io, rt, addr, backlog, true);
}

int weft_tcp_listener_bind(weft_tcp_listener *l, weft_runtime *rt, const char *addr, int backlog) {
    if (!l) return -EINVAL;
    memset(l, 0, sizeof *l);
    weft_sockaddr addrs[WEFT__RESOLVE_MAX];
    int n = weft__resolve_text(addr, AF_UNSPEC, SOCK_STREAM, true, addrs, WEFT__RESOLVE_MAX);
    if (n < 0) return n;
    /* Each address in turn, as the resolver ordered them; the first that
     * binds wins. */
    int err = -EINVAL;
    for (int i = 0; i < n; i++) {
        err = weft_tcp_listener_bind_addr(l, rt, &addrs[i], backlog);
        if (!err || err == -ESHUTDOWN) break;
    }
    return err;
}

int weft_tcp_listener_adopt(weft_tcp_listener *l, weft_runtime *rt, int fd) {
    if (!l) return -EINVAL;
    memset(l, 0, sizeof *l);
    int err = weft__sock_check(fd, AF_INET, AF_INET6, SOCK_STREAM, 1);
    if (err) return err;
    return weft__sock_adopt(&l->io, rt, fd, WEFT_IO_READABLE);
}

int weft_tcp_listener_fd(const weft_tcp_listener *l) { return l ? weft__handle_fd(&l->io) : -EINVAL; }

int weft_tcp_listener_local_addr(const weft_tcp_listener *l, weft_sockaddr *out) {
    if (!l) return -EINVAL;
    return weft__local_addr(weft__handle_fd(&l->io), out);
}

uint16_t weft_tcp_listener_port(const weft_tcp_listener *l) {
    weft_sockaddr a;
    return weft_tcp_listener_local_addr(l, &a) == 0 ? weft_sockaddr_port(&a) : 0;
}

void weft_tcp_listener_close(weft_tcp_listener *l) {
    if (l) weft__handle_close(&l->io);
}

int weft_tcp_listener_into_fd(weft_tcp_listener *l) {
    return l ? weft__handle_into_fd(&l->io) : -EINVAL;
}

weft_future *weft_tcp_accept_init(weft_tcp_accept *f, weft_tcp_listener *l) {
    return weft__accept_init((weft__accept *)f, l, weft__tcp_vtables);
}

/* ---- connect ------------------------------------------------------------- */

enum { C_START = 0, C_RESOLVING, C_NEXT, C_CONNECTING, C_DONE };

static void drop_pending(weft_tcp_connect *c) {
    /* Leave the waiter list before the registration goes. */
    weft__io_waiter_cancel(&c->wait);
    if (c->pending.reg) {
        weft__io_deregister(c->pending.reg);
        c->pending.reg = NULL;
    }
}

static void drop_own_fd(weft_tcp_connect *c) {
    if (c->own_fd >= 0) close(c->own_fd);
    c->own_fd = -1;
}

static weft_poll connect_finish(weft_tcp_connect *c, int result) {
    drop_pending(c);
    drop_own_fd(c);
    weft__resolve_release(c->req);
    c->req = NULL;
    c->addrs = NULL;
    c->result = result;
    c->state = C_DONE;
    return WEFT_READY;
}

/* Starts a non-blocking connect to `a` on `fd` (a new socket when fd < 0).
 * Returns 0 (c->pending registered; *done says the connection is already
 * complete) or -errno. The socket is registered only after connect()
 * started: before that a TCP socket reports a hang-up. */
static int start_one(weft_tcp_connect *c, weft_runtime *rt, int fd, const weft_sockaddr *a,
                     bool *done) {
    if (fd < 0) fd = weft__socket(a->u.sa.sa_family, SOCK_STREAM, 0);
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
            if (c->addrs) { /* connect_addr, or a socket builder */
                c->state = C_NEXT;
                break;
            }
            weft__hostport hp;
            int err = weft__hostport_parse(&hp, c->text);
            if (err) return connect_finish(c, err);
            if (hp.numeric) {
                c->target = hp.addr;
                c->addrs = &c->target;
                c->naddrs = 1;
                c->state = C_NEXT;
                break;
            }
            err = weft__resolve_start(cx->runtime, &hp, SOCK_STREAM, &c->req);
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
            int fd = c->own_fd;
            c->own_fd = -1; /* start_one owns it now (closes it on failure) */
            int err = start_one(c, cx->runtime, fd, &c->addrs[c->next++], &done);
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
            int err;
            if (weft__io_poll_ready(c->pending.reg, cx, WEFT_INTEREST_WRITE, &c->wait, &ev, &err) ==
                WEFT_PENDING) {
                cx->budget++;
                return WEFT_PENDING;
            }
            if (err) return connect_finish(c, err);
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
    drop_own_fd(c);
    weft__resolve_release(c->req);
    c->req = NULL;
}

static const weft_future_vtable connect_vtable = {connect_poll, connect_drop, "weft_tcp_connect"};

static void connect_setup(weft_tcp_connect *f) {
    weft_future_init(&f->base, &connect_vtable);
    f->text[0] = 0;
    f->addrs = NULL;
    f->naddrs = f->next = 0;
    f->req = NULL;
    f->pending.reg = NULL;
    weft__io_waiter_init(&f->wait);
    f->own_fd = -1;
    f->state = C_START;
    f->last_error = 0;
    f->result = 0;
    f->stream.stream.vt = &weft__tcp_vtables[0];
    f->stream.io.reg = NULL;
}

weft_future *weft_tcp_connect_init(weft_tcp_connect *f, const char *addr) {
    connect_setup(f);
    size_t n = addr ? strlen(addr) : 0;
    if (addr && n < sizeof f->text) memcpy(f->text, addr, n + 1);
    /* else text stays "": -EINVAL at the first poll */
    return &f->base;
}

/* No address to try: C_NEXT ends with last_error. */
static void connect_fail_at_first_poll(weft_tcp_connect *f, int err) {
    f->last_error = err;
    f->addrs = &f->target;
    f->naddrs = 0;
}

weft_future *weft_tcp_connect_addr_init(weft_tcp_connect *f, const weft_sockaddr *addr) {
    connect_setup(f);
    if (is_ip(addr)) {
        f->target = *addr;
        f->addrs = &f->target;
        f->naddrs = 1;
    } else {
        connect_fail_at_first_poll(f, -EINVAL);
    }
    return &f->base;
}

weft_future *weft_tcp_socket_connect_init(weft_tcp_connect *f, weft_tcp_socket *s,
                                          const weft_sockaddr *addr) {
    connect_setup(f);
    if (!s || !s->open) {
        connect_fail_at_first_poll(f, -EBADF);
    } else {
        f->own_fd = s->fd; /* the future owns the socket from here on */
        s->fd = -1;
        s->open = false;
        if (is_ip(addr)) {
            f->target = *addr;
            f->addrs = &f->target;
            f->naddrs = 1;
        } else {
            connect_fail_at_first_poll(f, -EINVAL);
        }
    }
    return &f->base;
}

/* ---- stream -------------------------------------------------------------- */

int weft_tcp_stream_adopt(weft_tcp_stream *s, weft_runtime *rt, int fd) {
    if (!s) return -EINVAL;
    s->stream.vt = &weft__tcp_vtables[0];
    s->io.reg = NULL;
    int err = weft__sock_check(fd, AF_INET, AF_INET6, SOCK_STREAM, 0);
    if (err) return err;
    return weft__sock_adopt(&s->io, rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE);
}

int weft_tcp_stream_fd(const weft_tcp_stream *s) { return s ? weft__handle_fd(&s->io) : -EINVAL; }

weft_poll weft_tcp_stream_poll_io(weft_tcp_stream *s, weft_context *cx, weft_interest interest,
                                  ssize_t (*op)(int fd, void *arg), void *arg, ssize_t *res) {
    if (!s || !op || (interest != WEFT_INTEREST_READ && interest != WEFT_INTEREST_WRITE)) {
        *res = -EINVAL;
        return WEFT_READY;
    }
    return weft__io_op(s->io.reg, cx, (int)interest, NULL, op, arg, res);
}

int weft_tcp_stream_set_nodelay(weft_tcp_stream *s, bool on) {
    if (!s) return -EINVAL;
    return weft__setsockopt_int(weft__handle_fd(&s->io), IPPROTO_TCP, TCP_NODELAY, on);
}

int weft_tcp_stream_nodelay(const weft_tcp_stream *s, bool *on) {
    if (!s || !on) return -EINVAL;
    int v = 0;
    int err = weft__getsockopt_int(weft__handle_fd(&s->io), IPPROTO_TCP, TCP_NODELAY, &v);
    if (!err) *on = v != 0;
    return err;
}

int weft_tcp_stream_local_addr(const weft_tcp_stream *s, weft_sockaddr *out) {
    return s ? weft__local_addr(weft__handle_fd(&s->io), out) : -EINVAL;
}

int weft_tcp_stream_peer_addr(const weft_tcp_stream *s, weft_sockaddr *out) {
    return s ? weft__peer_addr(weft__handle_fd(&s->io), out) : -EINVAL;
}

int weft_tcp_stream_shutdown(weft_tcp_stream *s, int how) {
    return s ? weft__sock_shutdown(&s->io, how) : -EINVAL;
}

int weft_tcp_stream_into_split(weft_tcp_stream *s, weft_tcp_stream *rd, weft_tcp_stream *wr) {
    if (!s || !rd || !wr || rd == wr) return -EINVAL;
    return weft__sock_stream_split((weft__sock_stream *)s, (weft__sock_stream *)rd,
                                   (weft__sock_stream *)wr);
}

void weft_tcp_stream_close(weft_tcp_stream *s) {
    if (s) weft__sock_stream_close((weft__sock_stream *)s);
}

int weft_tcp_stream_into_fd(weft_tcp_stream *s) { return s ? weft__handle_into_fd(&s->io) : -EINVAL; }
