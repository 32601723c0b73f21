/* Sockets configured as services need them: the TCP socket builder
 * (options before bind or connect: SO_REUSEPORT, IPV6_V6ONLY, buffer
 * sizes, nodelay, keepalive, linger, any setsockopt), fd accessors on every
 * handle, adopting a descriptor into every handle type (checked, made
 * non-blocking and close-on-exec, left untouched on refusal), _into_fd and
 * adopting again, and listeners inherited for real: this test execs itself
 * with two listening sockets as fds 3 and 4 and LISTEN_FDS/LISTEN_PID set,
 * as systemd socket activation does, and the child adopts and serves them.
 * weft-test: io  weft-test: timeout=180 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>

#include "net_support.h"

static bool nonblocking_cloexec(int fd) {
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static int sock_type(int fd) {
    int v = -1;
    socklen_t l = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 ? v : -1;
}

/* A plain blocking socket, as a parent process or another library hands it over. */
static int raw_listener(int family, weft_sockaddr *bound) {
    int fd = socket(family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    weft_sockaddr a;
    if (family == AF_INET) assert_int_equal(weft_sockaddr_parse(&a, "127.0.0.1:0"), 0);
    else {
        char name[64];
        snprintf(name, sizeof name, "@weft-adopt-raw-%d-%d", (int)getpid(), fd);
        assert_int_equal(weft_sockaddr_unix(&a, name), 0);
    }
    assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
    assert_int_equal(listen(fd, 8), 0);
    if (bound) {
        bound->len = sizeof bound->u;
        assert_int_equal(getsockname(fd, &bound->u.sa, &bound->len), 0);
    }
    return fd;
}

/* ---- the socket builder --------------------------------------------------------- */

typedef struct builder_case {
    WEFT_CORO_FIELDS;
    weft_tcp_socket s, s2, cs;
    weft_tcp_listener l, l2;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_write_all w;
    weft_read_exact rx;
    weft_sockaddr addr;
    unsigned char buf[8];
    bool v6;
} builder_case;

WEFT_ASYNC(builder_case, NULL) {
    WEFT_BEGIN();
    /* Options before bind, read back where the kernel lets us. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->s), 0);
    assert_true(nonblocking_cloexec(weft_tcp_socket_fd(&self->s)));
    assert_int_equal(weft_tcp_socket_set_reuseaddr(&self->s, true), 0);
    assert_int_equal(weft_tcp_socket_set_reuseport(&self->s, true), 0);
    assert_int_equal(weft_tcp_socket_set_recv_buffer_size(&self->s, 65536), 0);
    assert_int_equal(weft_tcp_socket_set_send_buffer_size(&self->s, 32768), 0);
    {
        size_t rcv = 0, snd = 0;
        assert_int_equal(weft_tcp_socket_recv_buffer_size(&self->s, &rcv), 0);
        assert_int_equal(weft_tcp_socket_send_buffer_size(&self->s, &snd), 0);
        assert_true(rcv >= 65536); /* Linux doubles the value asked for */
        assert_true(snd >= 32768);
        int v = 0;
        socklen_t vl = sizeof v;
        assert_int_equal(weft_tcp_socket_getsockopt(&self->s, SOL_SOCKET, SO_REUSEPORT, &v, &vl), 0);
        assert_int_equal(v, 1);
        v = 17; /* the escape hatch: any option */
        assert_int_equal(weft_tcp_socket_setsockopt(&self->s, IPPROTO_IP, IP_TTL, &v, sizeof v), 0);
        v = 0;
        vl = sizeof v;
        assert_int_equal(weft_tcp_socket_getsockopt(&self->s, IPPROTO_IP, IP_TTL, &v, &vl), 0);
        assert_int_equal(v, 17);
        assert_int_equal(weft_tcp_socket_set_v6only(&self->s, true), -ENOPROTOOPT); /* IPv4 socket */
        assert_int_equal(weft_tcp_socket_set_recv_buffer_size(&self->s, (size_t)1 << 40), -EINVAL);
    }
    assert_int_equal(weft_tcp_socket_bind(&self->s, "127.0.0.1:0"), 0);
    assert_int_equal(weft_tcp_socket_local_addr(&self->s, &self->addr), 0);
    assert_int_equal(weft_tcp_socket_listen(&self->s, cx->runtime, 16, &self->l), 0);
    assert_int_equal(weft_tcp_socket_fd(&self->s), -EBADF); /* the listener owns it now */

    /* SO_REUSEPORT: a second listener on the same port. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->s2), 0);
    assert_int_equal(weft_tcp_socket_set_reuseport(&self->s2, true), 0);
    assert_int_equal(weft_tcp_socket_bind_addr(&self->s2, &self->addr), 0);
    assert_int_equal(weft_tcp_socket_listen(&self->s2, cx->runtime, 16, &self->l2), 0);
    assert_int_equal(weft_tcp_listener_port(&self->l2), weft_sockaddr_port(&self->addr));
    weft_tcp_listener_close(&self->l2);
    /* Without it the port is taken. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->s2), 0);
    assert_int_equal(weft_tcp_socket_bind_addr(&self->s2, &self->addr), -EADDRINUSE);
    weft_tcp_socket_close(&self->s2);

    /* Connect from a builder: its options carry over to the stream. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->cs), 0);
    assert_int_equal(weft_tcp_socket_set_nodelay(&self->cs, true), 0);
    assert_int_equal(weft_tcp_socket_set_keepalive(&self->cs, true), 0);
    assert_int_equal(weft_tcp_socket_set_linger(&self->cs, true, 0), 0);
    WEFT_AWAIT(weft_tcp_socket_connect_init(&self->c, &self->cs, &self->addr));
    assert_int_equal(self->c.result, 0);
    assert_int_equal(weft_tcp_socket_fd(&self->cs), -EBADF); /* moved into the future */
    {
        bool on = false;
        assert_int_equal(weft_tcp_stream_nodelay(&self->c.stream, &on), 0);
        assert_true(on);
        int v = 0;
        socklen_t vl = sizeof v;
        assert_int_equal(getsockopt(weft_tcp_stream_fd(&self->c.stream), SOL_SOCKET, SO_KEEPALIVE, &v, &vl), 0);
        assert_int_equal(v, 1);
    }
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->c.stream.stream, "builder", 7));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->a.stream.stream, self->buf, 7));
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->buf, "builder", 7);
    weft_tcp_stream_close(&self->a.stream);
    weft_tcp_stream_close(&self->c.stream);
    /* A connect that fails closes the socket it took. */
    weft_tcp_listener_close(&self->l);
    assert_int_equal(weft_tcp_socket_open_v4(&self->cs), 0);
    WEFT_AWAIT(weft_tcp_socket_connect_init(&self->c, &self->cs, &self->addr));
    assert_int_equal(self->c.result, -ECONNREFUSED);

    /* IPv6 with and without IPV6_V6ONLY (skipped without IPv6). */
    if (weft_tcp_socket_open_v6(&self->s) == 0) {
        assert_int_equal(weft_tcp_socket_set_v6only(&self->s, false), 0);
        if (weft_tcp_socket_bind(&self->s, "[::]:0") == 0) {
            self->v6 = true;
            assert_int_equal(weft_tcp_socket_local_addr(&self->s, &self->addr), 0);
            assert_int_equal(weft_tcp_socket_listen(&self->s, cx->runtime, 4, &self->l), 0);
            /* Dual stack: an IPv4 client reaches it. */
            assert_int_equal(weft_sockaddr_ip(&self->addr, "127.0.0.1", weft_sockaddr_port(&self->addr)), 0);
            WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->addr));
            assert_int_equal(self->c.result, 0);
            WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
            assert_int_equal(self->a.result, 0);
            assert_int_equal(self->a.peer.u.sa.sa_family, AF_INET6); /* IPv4-mapped */
            weft_tcp_stream_close(&self->a.stream);
            weft_tcp_stream_close(&self->c.stream);
            weft_tcp_listener_close(&self->l);
        } else {
            weft_tcp_socket_close(&self->s);
        }
        assert_int_equal(weft_tcp_socket_open_v6(&self->s), 0);
        assert_int_equal(weft_tcp_socket_set_v6only(&self->s, true), 0);
        if (self->v6 && weft_tcp_socket_bind(&self->s, "[::]:0") == 0) {
            assert_int_equal(weft_tcp_socket_local_addr(&self->s, &self->addr), 0);
            assert_int_equal(weft_tcp_socket_listen(&self->s, cx->runtime, 4, &self->l), 0);
            /* IPv6 only: the IPv4 client is refused. */
            assert_int_equal(weft_sockaddr_ip(&self->addr, "127.0.0.1", weft_sockaddr_port(&self->addr)), 0);
            WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->addr));
            assert_int_equal(self->c.result, -ECONNREFUSED);
            weft_tcp_listener_close(&self->l);
        } else {
            weft_tcp_socket_close(&self->s);
        }
    }
    WEFT_END();
}

static void test_socket_builder(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    builder_case *t = calloc(1, sizeof *t);
    builder_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    bool v6 = t->v6;
    free(t);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
    if (!v6) print_message("(no IPv6 here: the V6ONLY part was skipped)\n");
}

/* ---- adopting every handle type, fd accessors, into_fd --------------------------- */

/* Writes 4 bytes of `msg` on `a` and reads them back on `b`. */
typedef struct exchange {
    WEFT_CORO_FIELDS;
    weft_stream *a, *b;
    const char *msg;
    weft_write_all w;
    weft_read_exact rx;
    unsigned char buf[4];
    int result; /* 0 when the bytes came through */
} exchange;

WEFT_ASYNC(exchange, NULL) {
    WEFT_BEGIN();
    self->result = -1;
    WEFT_AWAIT(weft_write_all_init(&self->w, self->a, self->msg, 4));
    if (self->w.result) WEFT_RETURN();
    WEFT_AWAIT(weft_read_exact_init(&self->rx, self->b, self->buf, 4));
    if (self->rx.result == 0 && memcmp(self->buf, self->msg, 4) == 0) self->result = 0;
    WEFT_END();
}

static weft_future *exchange_init(exchange *e, weft_stream *a, weft_stream *b, const char *msg) {
    exchange_start(e);
    e->a = a;
    e->b = b;
    e->msg = msg;
    return &e->base;
}

#define EXCHANGE(a, b, msg)                                                             \
    WEFT_AWAIT(exchange_init(&self->ex, (a), (b), (msg)));                              \
    if (self->ex.result) fail_msg("exchange of \"%s\" failed", (msg))

typedef struct adopt_case {
    WEFT_CORO_FIELDS;
    weft_tcp_listener tl;
    weft_unix_listener ul;
    weft_tcp_stream ts;
    weft_unix_stream us1, us2;
    weft_udp_socket u1, u2;
    weft_unix_datagram d1, d2;
    weft_async_fd afd;
    weft_tcp_socket sock;
    weft_tcp_connect c;
    weft_unix_connect uc;
    weft_tcp_accept ta;
    weft_unix_accept ua;
    weft_write_all w;
    weft_read_exact rx;
    weft_dgram_send s;
    weft_dgram_recv r;
    weft_async_fd_ready ready;
    weft_sockaddr addr;
    char path[108];
    unsigned char buf[8];
    exchange ex;
    int fd, fd2, p[2], sv[2];
} adopt_case;

/* A refused adopt leaves the descriptor open and its flags as they were. */
#define REFUSED(call, fd, want)                                                         \
    do {                                                                                \
        int fl_ = fcntl((fd), F_GETFL), fdf_ = fcntl((fd), F_GETFD);                    \
        int e_ = (call);                                                                \
        if (e_ != (want)) fail_msg("%s = %d, want %d", #call, e_, (want));              \
        assert_int_equal(fcntl((fd), F_GETFL), fl_);                                    \
        assert_int_equal(fcntl((fd), F_GETFD), fdf_);                                   \
    } while (0)

WEFT_ASYNC(adopt_case, NULL) {
    WEFT_BEGIN();
    /* Not sockets, or not descriptors at all. */
    assert_int_equal(pipe(self->p), 0);
    REFUSED(weft_tcp_listener_adopt(&self->tl, cx->runtime, self->p[0]), self->p[0], -ENOTSOCK);
    REFUSED(weft_udp_adopt(&self->u1, cx->runtime, self->p[0]), self->p[0], -ENOTSOCK);
    REFUSED(weft_unix_stream_adopt(&self->us1, cx->runtime, self->p[0]), self->p[0], -ENOTSOCK);
    assert_int_equal(weft_tcp_stream_adopt(&self->ts, cx->runtime, -1), -EBADF);
    assert_int_equal(weft_tcp_stream_fd(&self->ts), -EBADF);
    close(self->p[1]);
    assert_int_equal(weft_unix_datagram_adopt(&self->d1, cx->runtime, self->p[1]), -EBADF); /* closed number */
    assert_int_equal(weft_async_fd_adopt(&self->afd, cx->runtime, self->p[1]), -EBADF);
    close(self->p[0]);

    /* A TCP listener from a plain blocking socket; the wrong adopters refuse it. */
    self->fd = raw_listener(AF_INET, &self->addr);
    REFUSED(weft_tcp_stream_adopt(&self->ts, cx->runtime, self->fd), self->fd, -EINVAL);
    REFUSED(weft_unix_listener_adopt(&self->ul, cx->runtime, self->fd), self->fd, -EAFNOSUPPORT);
    REFUSED(weft_udp_adopt(&self->u1, cx->runtime, self->fd), self->fd, -EPROTOTYPE);
    REFUSED(weft_tcp_socket_adopt(&self->sock, self->fd), self->fd, -EINVAL);
    assert_int_equal(weft_tcp_listener_adopt(&self->tl, cx->runtime, self->fd), 0);
    assert_int_equal(weft_tcp_listener_fd(&self->tl), self->fd);
    assert_true(nonblocking_cloexec(self->fd));
    /* The client: a plain socket, refused as a listener, adopted by the
     * builder and connected. */
    self->fd2 = socket(AF_INET, SOCK_STREAM, 0);
    {
        weft_tcp_listener other;
        REFUSED(weft_tcp_listener_adopt(&other, cx->runtime, self->fd2), self->fd2, -EINVAL);
        assert_int_equal(weft_tcp_listener_fd(&other), -EBADF);
    }
    assert_int_equal(weft_tcp_socket_adopt(&self->sock, self->fd2), 0);
    assert_int_equal(weft_tcp_socket_fd(&self->sock), self->fd2);
    assert_true(nonblocking_cloexec(self->fd2));
    WEFT_AWAIT(weft_tcp_socket_connect_init(&self->c, &self->sock, &self->addr));
    assert_int_equal(self->c.result, 0);
    assert_int_equal(weft_tcp_stream_fd(&self->c.stream), self->fd2);
    WEFT_AWAIT(weft_tcp_accept_init(&self->ta, &self->tl));
    assert_int_equal(self->ta.result, 0);
    assert_int_equal(sock_type(weft_tcp_stream_fd(&self->ta.stream)), SOCK_STREAM);
    EXCHANGE(&self->c.stream.stream, &self->ta.stream.stream, "tcp1");
    /* A stream given back and adopted again works on. */
    self->fd = weft_tcp_stream_into_fd(&self->c.stream);
    assert_int_equal(self->fd, self->fd2);
    assert_int_equal(weft_tcp_stream_fd(&self->c.stream), -EBADF);
    {
        weft_tcp_listener other; /* an opening call fills the object it is given */
        REFUSED(weft_tcp_listener_adopt(&other, cx->runtime, self->fd), self->fd, -EINVAL); /* not listening */
    }
    REFUSED(weft_unix_stream_adopt(&self->us1, cx->runtime, self->fd), self->fd, -EAFNOSUPPORT);
    assert_int_equal(weft_tcp_stream_adopt(&self->ts, cx->runtime, self->fd), 0);
    EXCHANGE(&self->ta.stream.stream, &self->ts.stream, "tcp2");
    EXCHANGE(&self->ts.stream, &self->ta.stream.stream, "tcp3");
    weft_tcp_stream_close(&self->ts);
    weft_tcp_stream_close(&self->ta.stream);
    self->fd = weft_tcp_listener_into_fd(&self->tl);
    assert_true(self->fd >= 0);
    assert_int_equal(close(self->fd), 0);

    /* A Unix listener. */
    self->fd = raw_listener(AF_UNIX, &self->addr);
    REFUSED(weft_tcp_listener_adopt(&self->tl, cx->runtime, self->fd), self->fd, -EAFNOSUPPORT);
    REFUSED(weft_unix_stream_adopt(&self->us1, cx->runtime, self->fd), self->fd, -EINVAL);
    assert_int_equal(weft_unix_listener_adopt(&self->ul, cx->runtime, self->fd), 0);
    assert_int_equal(weft_unix_listener_fd(&self->ul), self->fd);
    assert_true(nonblocking_cloexec(self->fd));
    assert_true(weft_sockaddr_format(&self->addr, self->path, sizeof self->path) > 0);
    WEFT_AWAIT(weft_unix_connect_init(&self->uc, self->path));
    assert_int_equal(self->uc.result, 0);
    WEFT_AWAIT(weft_unix_accept_init(&self->ua, &self->ul));
    assert_int_equal(self->ua.result, 0);
    EXCHANGE(&self->uc.stream.stream, &self->ua.stream.stream, "unx1");
    weft_unix_stream_close(&self->uc.stream);
    weft_unix_stream_close(&self->ua.stream);
    weft_unix_listener_close(&self->ul);

    /* Unix streams from a socketpair. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv), 0);
    REFUSED(weft_unix_datagram_adopt(&self->d1, cx->runtime, self->sv[0]), self->sv[0], -EPROTOTYPE);
    REFUSED(weft_tcp_stream_adopt(&self->ts, cx->runtime, self->sv[0]), self->sv[0], -EAFNOSUPPORT);
    assert_int_equal(weft_unix_stream_adopt(&self->us1, cx->runtime, self->sv[0]), 0);
    assert_int_equal(weft_unix_stream_adopt(&self->us2, cx->runtime, self->sv[1]), 0);
    assert_int_equal(weft_unix_stream_fd(&self->us1), self->sv[0]);
    assert_true(nonblocking_cloexec(self->sv[1]));
    EXCHANGE(&self->us1.stream, &self->us2.stream, "pair");
    self->fd = weft_unix_stream_into_fd(&self->us1);
    assert_int_equal(self->fd, self->sv[0]);
    assert_int_equal(weft_unix_stream_adopt(&self->us1, cx->runtime, self->fd), 0);
    EXCHANGE(&self->us2.stream, &self->us1.stream, "back");
    weft_unix_stream_close(&self->us1);
    weft_unix_stream_close(&self->us2);

    /* UDP. */
    self->fd = socket(AF_INET, SOCK_DGRAM, 0);
    self->fd2 = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(weft_sockaddr_parse(&self->addr, "127.0.0.1:0"), 0);
    assert_int_equal(bind(self->fd2, &self->addr.u.sa, self->addr.len), 0);
    REFUSED(weft_tcp_stream_adopt(&self->ts, cx->runtime, self->fd), self->fd, -EPROTOTYPE);
    REFUSED(weft_unix_datagram_adopt(&self->d1, cx->runtime, self->fd), self->fd, -EAFNOSUPPORT);
    assert_int_equal(weft_udp_adopt(&self->u1, cx->runtime, self->fd), 0); /* unbound is fine */
    assert_int_equal(weft_udp_adopt(&self->u2, cx->runtime, self->fd2), 0);
    assert_int_equal(weft_udp_fd(&self->u2), self->fd2);
    assert_true(nonblocking_cloexec(self->fd));
    assert_int_equal(weft_udp_local_addr(&self->u2, &self->addr), 0);
    WEFT_AWAIT(weft_udp_send_to_init(&self->s, &self->u1, "udp!", 4, &self->addr));
    assert_int_equal(self->s.result, 4);
    WEFT_AWAIT(weft_udp_recv_init(&self->r, &self->u2, self->buf, sizeof self->buf));
    assert_int_equal(self->r.result, 4);
    assert_memory_equal(self->buf, "udp!", 4);
    weft_udp_close(&self->u1);
    self->fd = weft_udp_into_fd(&self->u2);
    assert_int_equal(self->fd, self->fd2);
    assert_int_equal(close(self->fd), 0);

    /* Unix datagrams. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, self->sv), 0);
    REFUSED(weft_unix_stream_adopt(&self->us1, cx->runtime, self->sv[0]), self->sv[0], -EPROTOTYPE);
    REFUSED(weft_udp_adopt(&self->u1, cx->runtime, self->sv[0]), self->sv[0], -EAFNOSUPPORT);
    assert_int_equal(weft_unix_datagram_adopt(&self->d1, cx->runtime, self->sv[0]), 0);
    assert_int_equal(weft_unix_datagram_adopt(&self->d2, cx->runtime, self->sv[1]), 0);
    assert_int_equal(weft_unix_datagram_fd(&self->d1), self->sv[0]);
    WEFT_AWAIT(weft_unix_datagram_send_init(&self->s, &self->d1, "dgrm", 4));
    assert_int_equal(self->s.result, 4);
    WEFT_AWAIT(weft_unix_datagram_recv_init(&self->r, &self->d2, self->buf, sizeof self->buf));
    assert_int_equal(self->r.result, 4);
    weft_unix_datagram_close(&self->d1);
    weft_unix_datagram_close(&self->d2);

    /* async_fd: a blocking eventfd becomes non-blocking. */
    self->fd = eventfd(0, 0);
    assert_int_equal(weft_async_fd_adopt(&self->afd, cx->runtime, self->fd), 0);
    assert_int_equal(weft_async_fd_fd(&self->afd), self->fd);
    assert_true(nonblocking_cloexec(self->fd));
    {
        uint64_t one = 1;
        assert_int_equal(write(self->fd, &one, sizeof one), sizeof one);
    }
    WEFT_AWAIT(weft_async_fd_ready_init(&self->ready, &self->afd, WEFT_INTEREST_READ));
    assert_int_equal(self->ready.result, 0);
    {
        uint64_t v = 0;
        assert_int_equal(read(self->fd, &v, sizeof v), sizeof v);
        assert_int_equal(v, 1);
    }
    assert_int_equal(weft_async_fd_into_fd(&self->afd), self->fd);
    assert_int_equal(close(self->fd), 0);
    WEFT_END();
}

static void test_adopt_every_handle(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    adopt_case *t = calloc(1, sizeof *t);
    adopt_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    free(t);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

/* ---- listeners inherited through exec (socket activation) ------------------------ */

#define SD_LISTEN_FDS_START 3

/* The child: adopts fds 3 (TCP) and 4 (Unix) as systemd would pass them,
 * serves one connection on each: reads a line, answers "adopted <line>". */
typedef struct child_serve {
    WEFT_CORO_FIELDS;
    weft_tcp_listener tl;
    weft_unix_listener ul;
    weft_tcp_accept ta;
    weft_unix_accept ua;
    weft_stream *s;
    weft_bufreader br;
    weft_read_until ru;
    weft_write_all w;
    char line[64], reply[96];
    unsigned char store[64];
    int k;
    int result; /* 0, or the step that failed */
} child_serve;

WEFT_ASYNC(child_serve, NULL) {
    WEFT_BEGIN();
    if (weft_tcp_listener_adopt(&self->tl, cx->runtime, SD_LISTEN_FDS_START) != 0) self->result = 20;
    else if (weft_unix_listener_adopt(&self->ul, cx->runtime, SD_LISTEN_FDS_START + 1) != 0) self->result = 21;
    else if (weft_tcp_listener_fd(&self->tl) != 3 || !nonblocking_cloexec(3)) self->result = 22;
    if (self->result) WEFT_RETURN();
    for (self->k = 0; self->k < 2; self->k++) {
        if (self->k == 0) {
            WEFT_AWAIT(weft_tcp_accept_init(&self->ta, &self->tl));
            if (self->ta.result) {
                self->result = 23;
                WEFT_RETURN();
            }
            self->s = &self->ta.stream.stream;
        } else {
            WEFT_AWAIT(weft_unix_accept_init(&self->ua, &self->ul));
            if (self->ua.result) {
                self->result = 24;
                WEFT_RETURN();
            }
            self->s = &self->ua.stream.stream;
        }
        weft_bufreader_init(&self->br, self->s, self->store, sizeof self->store);
        WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
        weft_bufreader_destroy(&self->br);
        if (self->ru.result <= 0) {
            self->result = 25;
            WEFT_RETURN();
        }
        snprintf(self->reply, sizeof self->reply, "adopted %s", self->line);
        WEFT_AWAIT(weft_write_all_init(&self->w, self->s, self->reply, strlen(self->reply)));
        if (self->w.result) self->result = 26;
        if (self->k == 0) weft_tcp_stream_close(&self->ta.stream);
        else weft_unix_stream_close(&self->ua.stream);
    }
    weft_tcp_listener_close(&self->tl);
    weft_unix_listener_close(&self->ul);
    WEFT_END();
}

static int adopt_child(void) {
    const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
    if (!pid || !n || atoi(pid) != (int)getpid() || atoi(n) != 2) return 10;
    /* Inherited for real: open in this process, not close-on-exec. */
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + 2; fd++)
        if (fcntl(fd, F_GETFD) != 0) return 11;
    weft_runtime_options o = test_runtime_options();
    weft_runtime *rt = NULL;
    if (weft_runtime_create(&rt, &o) != 0) return 12;
    child_serve t;
    memset(&t, 0, sizeof t);
    child_serve_start(&t);
    int err = weft_block_on(rt, &t.base);
    weft_runtime_destroy(rt);
    return err ? 13 : t.result;
}

/* Sends `line`, returns the answer (static buffer). Blocking, with a time limit. */
static const char *ask(int fd, const char *line) {
    static char got[128];
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    size_t n = 0;
    ssize_t r;
    while (n < sizeof got - 1 && (r = read(fd, got + n, sizeof got - 1 - n)) > 0) n += (size_t)r;
    got[n] = 0;
    return got;
}

static void test_inherited_listeners(void **state) {
    (void)state;
    weft_sockaddr taddr, uaddr;
    int tl = raw_listener(AF_INET, &taddr), ul = raw_listener(AF_UNIX, &uaddr);
    /* Out of the way of 3 and 4, close-on-exec: only the dup2'd copies pass. */
    int tl_hi = fcntl(tl, F_DUPFD_CLOEXEC, 20), ul_hi = fcntl(ul, F_DUPFD_CLOEXEC, 20);
    close(tl);
    close(ul);
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(el > 0);
    exe[el] = 0;
    /* The child's environment: ours, plus LISTEN_FDS and LISTEN_PID (its
     * pid, written after fork without calling anything unsafe). */
    extern char **environ;
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **envp = calloc(ne + 3, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "LISTEN_", 7) != 0) envp[k++] = environ[i];
    static char fds_var[] = "LISTEN_FDS=2";
    static char pid_var[32] = "LISTEN_PID=";
    envp[k++] = fds_var;
    envp[k++] = pid_var;
    envp[k] = NULL;
    char *argv[] = {exe, "--adopt-child", NULL};
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(tl_hi, 3) != 3 || dup2(ul_hi, 4) != 4) _exit(126);
        char digits[16];
        int nd = 0;
        for (unsigned v = (unsigned)getpid(); v; v /= 10) digits[nd++] = (char)('0' + v % 10);
        char *p = pid_var + 11;
        while (nd) *p++ = digits[--nd];
        *p = 0;
        execve(exe, argv, envp);
        _exit(127);
    }
    free(envp);
    close(tl_hi);
    close(ul_hi); /* the child holds the only copies now */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c, &taddr.u.sa, taddr.len), 0);
    assert_string_equal(ask(c, "over tcp\n"), "adopted over tcp\n");
    close(c);
    c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c, &uaddr.u.sa, uaddr.len), 0);
    assert_string_equal(ask(c, "over unix\n"), "adopted over unix\n");
    close(c);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("child exited with %d", WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--adopt-child") == 0) return adopt_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_builder),
        cmocka_unit_test(test_adopt_every_handle),
        cmocka_unit_test(test_inherited_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
