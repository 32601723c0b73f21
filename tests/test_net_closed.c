/* Empty handles: every operation on a closed handle, on one whose
 * descriptor was given back (_into_fd), on the original after into_split,
 * and on one never opened, of every handle type (TCP stream and listener,
 * the TCP socket builder, UDP, Unix stream, listener and datagram,
 * async_fd, owned and generic split halves, buffered reader and writer
 * over a closed stream or destroyed), is ready at once with -EBADF (never
 * a crash), and ending it again does nothing. Futures left waiting on a
 * handle when it is closed are woken and complete with -EBADF. Each case
 * runs on both backends; the runtime is the suite's.
 * weft-test: io  weft-test: threaded */
#include <fcntl.h>
#include <sys/eventfd.h>

#include "net_support.h"

/* A future on an empty handle must be ready at its first poll with `want`. */
#define READY_WITH(init, fut, want)                                                       \
    do {                                                                                  \
        weft_future *f_ = (init);                                                         \
        if (weft_future_poll(f_, cx) != WEFT_READY)                                       \
            fail_msg("line %d: %s is pending on an empty handle", __LINE__, #init);      \
        if ((long)(fut).result != (long)(want))                                           \
            fail_msg("line %d: %s gave %ld, want %ld", __LINE__, #init, (long)(fut).result, \
                     (long)(want));                                                       \
    } while (0)

#define EBADF_(expr)                                                                      \
    do {                                                                                  \
        long v_ = (long)(expr);                                                           \
        if (v_ != -EBADF) fail_msg("line %d: %s = %ld, want -EBADF", __LINE__, #expr, v_); \
    } while (0)

/* Every stream operation and helper over an empty stream `s`. */
static void check_stream(weft_stream *s, weft_context *cx) {
    unsigned char buf[16];
    struct iovec iov = {buf, sizeof buf};
    {
        weft_read f;
        READY_WITH(weft_read_init(&f, s, buf, sizeof buf), f, -EBADF);
        READY_WITH(weft_read_init(&f, s, buf, 0), f, -EBADF);
    }
    {
        weft_readv f;
        READY_WITH(weft_readv_init(&f, s, &iov, 1), f, -EBADF);
    }
    {
        weft_read_exact f;
        READY_WITH(weft_read_exact_init(&f, s, buf, sizeof buf), f, -EBADF);
    }
    {
        weft_write f;
        READY_WITH(weft_write_init(&f, s, "x", 1), f, -EBADF);
    }
    {
        weft_writev f;
        READY_WITH(weft_writev_init(&f, s, &iov, 1), f, -EBADF);
    }
    {
        weft_write_all f;
        READY_WITH(weft_write_all_init(&f, s, "xyz", 3), f, -EBADF);
    }
    {
        weft_flush f;
        READY_WITH(weft_flush_init(&f, s), f, -EBADF);
        READY_WITH(weft_shutdown_init(&f, s), f, -EBADF);
    }
    {
        weft_copy f;
        READY_WITH(weft_copy_init(&f, s, s, buf, sizeof buf), f, -EBADF);
    }
    /* A buffered reader and writer over it. */
    {
        weft_bufreader br;
        weft_bufwriter bw;
        unsigned char store[64];
        char line[16];
        assert_int_equal(weft_bufreader_init(&br, s, store, sizeof store), 0);
        assert_int_equal(weft_bufwriter_init(&bw, s, NULL, 64), 0);
        weft_read f;
        READY_WITH(weft_read_init(&f, &br.stream, buf, sizeof buf), f, -EBADF);
        weft_read_until ru;
        READY_WITH(weft_read_line_init(&ru, &br, line, sizeof line), ru, -EBADF);
        READY_WITH(weft_read_until_init(&ru, &br, ';', buf, sizeof buf), ru, -EBADF);
        weft_write w;
        READY_WITH(weft_write_init(&w, &bw.stream, "x", 1), w, -EBADF); /* small: would buffer */
        weft_write_all wa;
        READY_WITH(weft_write_all_init(&wa, &bw.stream, store, sizeof store), wa, -EBADF);
        weft_flush fl;
        READY_WITH(weft_flush_init(&fl, &bw.stream), fl, -EBADF);
        READY_WITH(weft_read_init(&f, &bw.stream, buf, sizeof buf), f, -EBADF); /* pass-through */
        READY_WITH(weft_write_init(&w, &br.stream, "x", 1), w, -EBADF);
        weft_bufreader_destroy(&br);
        weft_bufwriter_destroy(&bw);
        /* Destroyed: empty themselves. */
        READY_WITH(weft_read_init(&f, &br.stream, buf, sizeof buf), f, -EBADF);
        READY_WITH(weft_read_line_init(&ru, &br, line, sizeof line), ru, -EBADF);
        READY_WITH(weft_write_init(&w, &bw.stream, "x", 1), w, -EBADF);
        READY_WITH(weft_flush_init(&fl, &bw.stream), fl, -EBADF);
        assert_int_equal(weft_bufreader_buffered(&br), 0);
        weft_bufreader_destroy(&br); /* again: nothing */
        weft_bufwriter_destroy(&bw);
    }
    /* Generic split halves over it, and closed halves. */
    {
        weft_split_half rd, wr;
        int err = weft_stream_split(s, &rd, &wr);
        assert_true(err == 0 || (err == -EBADF && !s->vt)); /* never opened: empty halves */
        weft_read f;
        weft_write w;
        READY_WITH(weft_read_init(&f, &rd.stream, buf, sizeof buf), f, -EBADF);
        READY_WITH(weft_write_init(&w, &wr.stream, "x", 1), w, -EBADF);
        weft_split_half_destroy(&rd);
        weft_split_half_destroy(&wr);
        READY_WITH(weft_read_init(&f, &rd.stream, buf, sizeof buf), f, -EBADF);
        READY_WITH(weft_write_init(&w, &wr.stream, "x", 1), w, -EBADF);
        weft_split_half_destroy(&rd);
    }
}

static void check_tcp_stream(weft_tcp_stream *s, weft_context *cx) {
    weft_sockaddr a;
    bool on;
    weft_tcp_stream rd, wr;
    check_stream(&s->stream, cx);
    EBADF_(weft_tcp_stream_fd(s));
    EBADF_(weft_tcp_stream_set_nodelay(s, true));
    EBADF_(weft_tcp_stream_nodelay(s, &on));
    EBADF_(weft_tcp_stream_local_addr(s, &a));
    EBADF_(weft_tcp_stream_peer_addr(s, &a));
    EBADF_(weft_tcp_stream_shutdown(s, SHUT_WR));
    EBADF_(weft_tcp_stream_into_fd(s));
    EBADF_(weft_tcp_stream_into_split(s, &rd, &wr));
    check_stream(&rd.stream, cx);
    check_stream(&wr.stream, cx);
    weft_tcp_stream_close(s); /* again: nothing */
}

static void check_unix_stream(weft_unix_stream *s, weft_context *cx) {
    weft_sockaddr a;
    weft_unix_stream rd, wr;
    check_stream(&s->stream, cx);
    EBADF_(weft_unix_stream_fd(s));
    EBADF_(weft_unix_stream_local_addr(s, &a));
    EBADF_(weft_unix_stream_peer_addr(s, &a));
    EBADF_(weft_unix_stream_shutdown(s, SHUT_RDWR));
    EBADF_(weft_unix_stream_into_fd(s));
    EBADF_(weft_unix_stream_into_split(s, &rd, &wr));
    check_stream(&rd.stream, cx);
    weft_unix_stream_close(s);
}

static void check_tcp_listener(weft_tcp_listener *l, weft_context *cx) {
    weft_sockaddr a;
    weft_tcp_accept f;
    READY_WITH(weft_tcp_accept_init(&f, l), f, -EBADF);
    EBADF_(weft_tcp_listener_fd(l));
    EBADF_(weft_tcp_listener_local_addr(l, &a));
    assert_int_equal(weft_tcp_listener_port(l), 0);
    EBADF_(weft_tcp_listener_into_fd(l));
    weft_tcp_listener_close(l);
}

static void check_unix_listener(weft_unix_listener *l, weft_context *cx) {
    weft_sockaddr a;
    weft_unix_accept f;
    READY_WITH(weft_unix_accept_init(&f, l), f, -EBADF);
    EBADF_(weft_unix_listener_fd(l));
    EBADF_(weft_unix_listener_local_addr(l, &a));
    EBADF_(weft_unix_listener_into_fd(l));
    weft_unix_listener_close(l);
}

static void check_udp(weft_udp_socket *u, weft_context *cx) {
    weft_sockaddr a;
    unsigned char buf[8];
    weft_dgram_send s;
    weft_dgram_recv r;
    assert_int_equal(weft_sockaddr_parse(&a, "127.0.0.1:9"), 0);
    READY_WITH(weft_udp_send_init(&s, u, "x", 1), s, -EBADF);
    READY_WITH(weft_udp_send_to_init(&s, u, "x", 1, &a), s, -EBADF);
    READY_WITH(weft_udp_recv_init(&r, u, buf, sizeof buf), r, -EBADF);
    READY_WITH(weft_udp_recv_from_init(&r, u, buf, sizeof buf), r, -EBADF);
    EBADF_(weft_udp_connect(u, "127.0.0.1:9"));
    EBADF_(weft_udp_connect_addr(u, &a));
    EBADF_(weft_udp_local_addr(u, &a));
    EBADF_(weft_udp_peer_addr(u, &a));
    EBADF_(weft_udp_fd(u));
    EBADF_(weft_udp_into_fd(u));
    weft_udp_close(u);
}

static void check_unix_datagram(weft_unix_datagram *d, weft_context *cx) {
    weft_sockaddr a;
    unsigned char buf[8];
    weft_dgram_send s;
    weft_dgram_recv r;
    assert_int_equal(weft_sockaddr_unix(&a, "@weft-closed-nobody"), 0);
    READY_WITH(weft_unix_datagram_send_init(&s, d, "x", 1), s, -EBADF);
    READY_WITH(weft_unix_datagram_send_to_init(&s, d, "x", 1, &a), s, -EBADF);
    READY_WITH(weft_unix_datagram_recv_init(&r, d, buf, sizeof buf), r, -EBADF);
    READY_WITH(weft_unix_datagram_recv_from_init(&r, d, buf, sizeof buf), r, -EBADF);
    EBADF_(weft_unix_datagram_connect(d, "@weft-closed-nobody"));
    EBADF_(weft_unix_datagram_local_addr(d, &a));
    EBADF_(weft_unix_datagram_fd(d));
    EBADF_(weft_unix_datagram_into_fd(d));
    weft_unix_datagram_close(d);
}

static void check_async_fd(weft_async_fd *a, weft_context *cx) {
    weft_async_fd_ready f;
    READY_WITH(weft_async_fd_ready_init(&f, a, WEFT_INTEREST_READ), f, -EBADF);
    READY_WITH(weft_async_fd_ready_init(&f, a, WEFT_INTEREST_WRITE), f, -EBADF);
    weft_io_ready seen = {WEFT_IO_READABLE, 0};
    weft_async_fd_clear_ready(a, &seen); /* nothing to clear, no crash */
    EBADF_(weft_async_fd_fd(a));
    EBADF_(weft_async_fd_into_fd(a));
    weft_async_fd_close(a);
}

static void check_builder(weft_tcp_socket *s, weft_context *cx) {
    weft_sockaddr a;
    size_t n;
    int v = 1;
    socklen_t vl = sizeof v;
    weft_tcp_listener l;
    weft_tcp_connect c;
    assert_int_equal(weft_sockaddr_parse(&a, "127.0.0.1:9"), 0);
    EBADF_(weft_tcp_socket_set_reuseaddr(s, true));
    EBADF_(weft_tcp_socket_set_reuseport(s, true));
    EBADF_(weft_tcp_socket_set_v6only(s, true));
    EBADF_(weft_tcp_socket_set_recv_buffer_size(s, 4096));
    EBADF_(weft_tcp_socket_set_send_buffer_size(s, 4096));
    EBADF_(weft_tcp_socket_recv_buffer_size(s, &n));
    EBADF_(weft_tcp_socket_send_buffer_size(s, &n));
    EBADF_(weft_tcp_socket_set_nodelay(s, true));
    EBADF_(weft_tcp_socket_set_keepalive(s, true));
    EBADF_(weft_tcp_socket_set_linger(s, true, 0));
    EBADF_(weft_tcp_socket_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    EBADF_(weft_tcp_socket_getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &vl));
    EBADF_(weft_tcp_socket_bind(s, "127.0.0.1:0"));
    EBADF_(weft_tcp_socket_bind_addr(s, &a));
    EBADF_(weft_tcp_socket_local_addr(s, &a));
    EBADF_(weft_tcp_socket_listen(s, cx->runtime, 8, &l));
    assert_null(l.io.reg);
    READY_WITH(weft_tcp_socket_connect_init(&c, s, &a), c, -EBADF);
    EBADF_(weft_tcp_socket_fd(s));
    EBADF_(weft_tcp_socket_into_fd(s));
    weft_tcp_socket_close(s);
}

/* ---- every handle, emptied every way ---------------------------------------- */

typedef struct empty_case {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l, l2;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_tcp_stream s1, s2, rd, wr, zero_tcp;
    weft_unix_stream u1, u2, urd, uwr, zero_unix;
    weft_unix_listener ul, zero_ul;
    weft_udp_socket udp, zero_udp;
    weft_unix_datagram ud1, ud2, zero_ud;
    weft_async_fd afd, zero_afd;
    weft_tcp_socket ts, zero_ts;
    weft_tcp_listener zero_l;
    int fd;
    char path[64];
} empty_case;

WEFT_ASYNC(empty_case, NULL) {
    WEFT_BEGIN();
    /* Never opened (zero-initialised). */
    check_tcp_listener(&self->zero_l, cx);
    check_tcp_stream(&self->zero_tcp, cx);
    check_unix_stream(&self->zero_unix, cx);
    check_unix_listener(&self->zero_ul, cx);
    check_udp(&self->zero_udp, cx);
    check_unix_datagram(&self->zero_ud, cx);
    check_async_fd(&self->zero_afd, cx);
    check_builder(&self->zero_ts, cx);

    /* TCP: a connected pair; one stream closed, one given back. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->c.target), 0);
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->c.target));
    assert_int_equal(self->c.result, 0);
    self->s1 = self->c.stream;
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    self->s2 = self->a.stream;
    weft_tcp_stream_close(&self->s1);
    check_tcp_stream(&self->s1, cx);
    self->fd = weft_tcp_stream_into_fd(&self->s2);
    assert_true(self->fd >= 0);
    check_tcp_stream(&self->s2, cx);
    assert_int_equal(close(self->fd), 0); /* it was still open, and ours */

    /* The original after into_split, then each half closed. */
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->c.target));
    assert_int_equal(self->c.result, 0);
    self->s1 = self->c.stream;
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    self->s2 = self->a.stream;
    assert_int_equal(weft_tcp_stream_into_split(&self->s1, &self->rd, &self->wr), 0);
    check_tcp_stream(&self->s1, cx);
    assert_int_equal(weft_tcp_stream_into_fd(&self->rd), -EBUSY); /* the other half is open */
    weft_tcp_stream_close(&self->rd);
    check_tcp_stream(&self->rd, cx);
    weft_tcp_stream_close(&self->wr);
    check_tcp_stream(&self->wr, cx);
    weft_tcp_stream_close(&self->s2);

    /* Listeners: closed, and given back. */
    assert_int_equal(weft_tcp_listener_bind(&self->l2, cx->runtime, "127.0.0.1:0", 8), 0);
    self->fd = weft_tcp_listener_into_fd(&self->l2);
    assert_true(self->fd >= 0);
    check_tcp_listener(&self->l2, cx);
    close(self->fd);
    weft_tcp_listener_close(&self->l);
    check_tcp_listener(&self->l, cx);

    /* Unix streams, listener, datagrams. */
    assert_int_equal(weft_unix_stream_pair(&self->u1, &self->u2, cx->runtime), 0);
    weft_unix_stream_close(&self->u1);
    check_unix_stream(&self->u1, cx);
    assert_int_equal(weft_unix_stream_into_split(&self->u2, &self->urd, &self->uwr), 0);
    check_unix_stream(&self->u2, cx);
    weft_unix_stream_close(&self->uwr);
    check_unix_stream(&self->uwr, cx);
    self->fd = weft_unix_stream_into_fd(&self->urd); /* the last half gives it back */
    assert_true(self->fd >= 0);
    check_unix_stream(&self->urd, cx);
    close(self->fd);
    snprintf(self->path, sizeof self->path, "@weft-closed-%d", (int)getpid());
    assert_int_equal(weft_unix_listener_bind(&self->ul, cx->runtime, self->path, 4), 0);
    weft_unix_listener_close(&self->ul);
    check_unix_listener(&self->ul, cx);
    assert_int_equal(weft_unix_listener_bind(&self->ul, cx->runtime, self->path, 4), 0);
    self->fd = weft_unix_listener_into_fd(&self->ul);
    assert_true(self->fd >= 0);
    check_unix_listener(&self->ul, cx);
    close(self->fd);
    assert_int_equal(weft_unix_datagram_pair(&self->ud1, &self->ud2, cx->runtime), 0);
    weft_unix_datagram_close(&self->ud1);
    check_unix_datagram(&self->ud1, cx);
    self->fd = weft_unix_datagram_into_fd(&self->ud2);
    assert_true(self->fd >= 0);
    check_unix_datagram(&self->ud2, cx);
    close(self->fd);

    /* UDP. */
    assert_int_equal(weft_udp_bind(&self->udp, cx->runtime, "127.0.0.1:0"), 0);
    weft_udp_close(&self->udp);
    check_udp(&self->udp, cx);
    assert_int_equal(weft_udp_bind(&self->udp, cx->runtime, "127.0.0.1:0"), 0);
    self->fd = weft_udp_into_fd(&self->udp);
    assert_true(self->fd >= 0);
    check_udp(&self->udp, cx);
    close(self->fd);

    /* async_fd. */
    assert_int_equal(weft_async_fd_adopt(&self->afd, cx->runtime, eventfd(0, 0)), 0);
    weft_async_fd_close(&self->afd);
    check_async_fd(&self->afd, cx);
    assert_int_equal(weft_async_fd_adopt(&self->afd, cx->runtime, eventfd(0, 0)), 0);
    self->fd = weft_async_fd_into_fd(&self->afd);
    assert_true(self->fd >= 0);
    check_async_fd(&self->afd, cx);
    close(self->fd);

    /* The socket builder: closed, given back, consumed by listen and by
     * connect. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    weft_tcp_socket_close(&self->ts);
    check_builder(&self->ts, cx);
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    self->fd = weft_tcp_socket_into_fd(&self->ts);
    assert_true(self->fd >= 0);
    check_builder(&self->ts, cx);
    close(self->fd);
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    assert_int_equal(weft_tcp_socket_bind(&self->ts, "127.0.0.1:0"), 0);
    assert_int_equal(weft_tcp_socket_listen(&self->ts, cx->runtime, 4, &self->l), 0);
    check_builder(&self->ts, cx);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->c.target), 0);
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    weft_tcp_socket_connect_init(&self->c, &self->ts, &self->c.target);
    check_builder(&self->ts, cx); /* moved into the future */
    weft_future_drop(&self->c.base); /* closes the socket it took */
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static weft_runtime *rt_on(weft_io_backend b) {
    weft_runtime_options o = test_runtime_options();
    o.io_backend = b;
    weft_runtime *rt = NULL;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    return rt;
}

static void run_empty(weft_io_backend b) {
    int fds = fd_count();
    weft_runtime *rt = rt_on(b);
    empty_case *t = calloc(1, sizeof *t);
    empty_case_start(t);
    assert_int_equal(run_as_task(rt, t, sizeof *t), 0);
    free(t);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

static void test_empty_handles_epoll(void **state) {
    (void)state;
    run_empty(WEFT_IO_EPOLL);
}

static void test_empty_handles_poll(void **state) {
    (void)state;
    run_empty(WEFT_IO_POLL);
}

/* ---- closing a handle that futures wait on ----------------------------------- */

/* One task per kind of wait, each parked on a handle the main task closes. */
typedef struct waiter_task {
    WEFT_CORO_FIELDS;
    int kind;
    void *handle;
    union {
        weft_tcp_accept acc;
        weft_unix_accept uacc;
        weft_dgram_recv recv;
        weft_async_fd_ready ready;
        weft_read rd;
    } op;
    unsigned char buf[16];
    atomic_int *parked;
    int result; /* output */
} waiter_task;

enum { W_ACCEPT, W_UNIX_ACCEPT, W_RECV, W_UNIX_RECV, W_READY, W_READ_HALF, W_KINDS };

WEFT_ASYNC(waiter_task, NULL) {
    WEFT_BEGIN();
    atomic_fetch_add(self->parked, 1);
    switch (self->kind) {
    case W_ACCEPT:
        WEFT_AWAIT(weft_tcp_accept_init(&self->op.acc, self->handle));
        self->result = self->op.acc.result;
        break;
    case W_UNIX_ACCEPT:
        WEFT_AWAIT(weft_unix_accept_init(&self->op.uacc, self->handle));
        self->result = self->op.uacc.result;
        break;
    case W_RECV:
        WEFT_AWAIT(weft_udp_recv_init(&self->op.recv, self->handle, self->buf, sizeof self->buf));
        self->result = (int)self->op.recv.result;
        break;
    case W_UNIX_RECV:
        WEFT_AWAIT(weft_unix_datagram_recv_init(&self->op.recv, self->handle, self->buf, sizeof self->buf));
        self->result = (int)self->op.recv.result;
        break;
    case W_READY:
        /* Readiness starts as "try first": try, clear, and wait for real. */
        for (;;) {
            WEFT_AWAIT(weft_async_fd_ready_init(&self->op.ready, self->handle, WEFT_INTEREST_READ));
            if (self->op.ready.result != 0) break;
            uint64_t v;
            assert_true(read(weft_async_fd_fd(self->handle), &v, sizeof v) < 0 && errno == EAGAIN);
            weft_async_fd_clear_ready(self->handle, &self->op.ready.ready);
        }
        self->result = self->op.ready.result;
        break;
    default:
        WEFT_AWAIT(weft_read_init(&self->op.rd, &((weft_tcp_stream *)self->handle)->stream, self->buf, sizeof self->buf));
        self->result = (int)self->op.rd.result;
        break;
    }
    WEFT_END();
}

#define PER_KIND 3

typedef struct close_case {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l;
    weft_unix_listener ul;
    weft_udp_socket u;
    weft_unix_datagram d1, d2;
    weft_async_fd afd;
    weft_tcp_listener pl;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_tcp_stream client, rd, wr;
    waiter_task tmpl;
    weft_join_handle h[W_KINDS * PER_KIND];
    int results[W_KINDS * PER_KIND];
    atomic_int parked;
    weft_sleep sl;
    weft_timeout t;
    int i, spins;
    char path[64];
} close_case;

WEFT_ASYNC(close_case, NULL) {
    WEFT_BEGIN();
    snprintf(self->path, sizeof self->path, "@weft-close-wait-%d", (int)getpid());
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8), 0);
    assert_int_equal(weft_unix_listener_bind(&self->ul, cx->runtime, self->path, 8), 0);
    assert_int_equal(weft_udp_bind(&self->u, cx->runtime, "127.0.0.1:0"), 0);
    assert_int_equal(weft_unix_datagram_pair(&self->d1, &self->d2, cx->runtime), 0);
    assert_int_equal(weft_async_fd_adopt(&self->afd, cx->runtime, eventfd(0, EFD_NONBLOCK)), 0);
    /* A split stream whose read half is closed while a read waits on it. */
    assert_int_equal(weft_tcp_listener_bind(&self->pl, cx->runtime, "127.0.0.1:0", 8), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->pl, &self->c.target), 0);
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->c.target));
    assert_int_equal(self->c.result, 0);
    self->client = self->c.stream;
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->pl));
    assert_int_equal(self->a.result, 0);
    assert_int_equal(weft_tcp_stream_into_split(&self->a.stream, &self->rd, &self->wr), 0);

    for (self->i = 0; self->i < W_KINDS * PER_KIND; self->i++) {
        int kind = self->i % W_KINDS;
        /* A byte stream has one reader at a time: one read on the half. */
        if (kind == W_READ_HALF && self->i >= W_KINDS) kind = W_ACCEPT;
        waiter_task_start(&self->tmpl);
        self->tmpl.kind = kind;
        self->tmpl.parked = &self->parked;
        self->tmpl.handle = kind == W_ACCEPT        ? (void *)&self->l
                            : kind == W_UNIX_ACCEPT ? (void *)&self->ul
                            : kind == W_RECV        ? (void *)&self->u
                            : kind == W_UNIX_RECV   ? (void *)&self->d2
                            : kind == W_READY       ? (void *)&self->afd
                                                    : (void *)&self->rd;
        self->results[self->i] = 1;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &self->tmpl, result, &self->results[self->i]);
    }
    /* Let them start waiting (it does not matter whether all did: a
     * future that first polls after the close finds the handle empty). */
    for (self->spins = 0; self->spins < 200 && atomic_load(&self->parked) < W_KINDS * PER_KIND; self->spins++)
        WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    WEFT_AWAIT(weft_sleep_init(&self->sl, 5));
    weft_tcp_listener_close(&self->l);
    weft_unix_listener_close(&self->ul);
    weft_udp_close(&self->u);
    weft_unix_datagram_close(&self->d2);
    weft_async_fd_close(&self->afd);
    weft_tcp_stream_close(&self->rd);
    for (self->i = 0; self->i < W_KINDS * PER_KIND; self->i++) {
        WEFT_AWAIT(weft_timeout_init(&self->t, &self->h[self->i].base, 20000));
        if (self->t.result) fail_msg("waiter %d was not woken by the close", self->i);
        assert_int_equal(self->h[self->i].result, 0);
        if (self->results[self->i] != -EBADF)
            fail_msg("waiter %d: %d, want -EBADF", self->i, self->results[self->i]);
    }
    weft_tcp_stream_close(&self->wr);
    weft_tcp_stream_close(&self->client);
    weft_unix_datagram_close(&self->d1);
    weft_tcp_listener_close(&self->pl);
    WEFT_END();
}

static void run_close(weft_io_backend b) {
    int fds = fd_count();
    weft_runtime *rt = rt_on(b);
    close_case *t = calloc(1, sizeof *t);
    close_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    free(t);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

static void test_close_wakes_waiters_epoll(void **state) {
    (void)state;
    run_close(WEFT_IO_EPOLL);
}

static void test_close_wakes_waiters_poll(void **state) {
    (void)state;
    run_close(WEFT_IO_POLL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_handles_epoll),
        cmocka_unit_test(test_empty_handles_poll),
        cmocka_unit_test(test_close_wakes_waiters_epoll),
        cmocka_unit_test(test_close_wakes_waiters_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
