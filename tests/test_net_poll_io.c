/* weft_tcp_stream_poll_io: a system call of the caller's own on a TCP
 * stream's descriptor, retried when the descriptor is ready: it waits for
 * writability when the send buffer is full (and finishes once the peer
 * reads), waits for readability when nothing has arrived, and answers
 * -EBADF for an empty stream and -EINVAL for a bad interest.
 * weft-test: io */
#include <sys/socket.h>

#include "net_support.h"

typedef struct io_state {
    weft_tcp_stream *s;
    weft_interest interest;
    char *buf;
    size_t len, done;
    int eagains; /* how often the operation said EAGAIN */
    ssize_t result;
} io_state;

static ssize_t op_send(int fd, void *arg) {
    io_state *st = arg;
    ssize_t n = send(fd, st->buf + st->done, st->len - st->done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) st->eagains++;
    return n < 0 ? -errno : n;
}

static ssize_t op_recv(int fd, void *arg) {
    io_state *st = arg;
    ssize_t n = recv(fd, st->buf, st->len, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) st->eagains++;
    return n < 0 ? -errno : n;
}

/* Sends everything with poll_io (write interest), one call per poll. */
static weft_poll send_all(void *arg, weft_context *cx) {
    io_state *st = arg;
    while (st->done < st->len) {
        ssize_t n;
        if (weft_tcp_stream_poll_io(st->s, cx, WEFT_INTEREST_WRITE, op_send, st, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) {
            st->result = n;
            return WEFT_READY;
        }
        st->done += (size_t)n;
    }
    st->result = 0;
    return WEFT_READY;
}

static weft_poll recv_once(void *arg, weft_context *cx) {
    io_state *st = arg;
    return weft_tcp_stream_poll_io(st->s, cx, st->interest, op_recv, st, &st->result);
}

/* The peer: reads n bytes (after a while, so the sender must wait). */
static void *reader(void *arg) {
    io_state *st = arg;
    weft_fiber_sleep(50);
    char *b = malloc(65536);
    size_t got = 0;
    while (got < st->len) {
        ssize_t n = weft_fiber_read(&st->s->stream, b, 65536);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) assert_int_equal((unsigned char)b[i], (unsigned char)((got + (size_t)i) * 7));
        got += (size_t)n;
    }
    free(b);
    st->done = got;
    return NULL;
}

static void *body(void *arg) {
    weft_tcp_listener l = {0};
    assert_int_equal(weft_tcp_listener_bind(&l, NULL, "127.0.0.1:0", 4), 0);
    weft_tcp_stream client, server;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", weft_tcp_listener_port(&l));
    assert_int_equal(weft_fiber_connect(&client, addr), 0);
    assert_int_equal(weft_fiber_accept(&l, &server), 0);
    weft_tcp_listener_close(&l);
    int small = 4096;
    setsockopt(weft_tcp_stream_fd(&client), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);

    /* write interest: 4 MB through a small send buffer */
    size_t len = 4u << 20;
    io_state w = {.s = &client, .buf = malloc(len), .len = len};
    for (size_t i = 0; i < len; i++) w.buf[i] = (char)(i * 7);
    io_state r = {.s = &server, .len = len};
    weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), reader, &r, NULL);
    weft_poll_fn pf;
    assert_int_equal(weft_await(weft_poll_fn_init(&pf, send_all, &w, NULL)), 0);
    assert_int_equal(w.result, 0);
    assert_true(w.eagains > 0); /* it had to wait for the peer */
    assert_int_equal(weft_fiber_join(&h, NULL), 0);
    assert_int_equal(r.done, len);
    free(w.buf);

    /* read interest: nothing there yet, then 5 bytes */
    char in[16];
    io_state rd = {.s = &server, .interest = WEFT_INTEREST_READ, .buf = in, .len = sizeof in};
    weft_poll_fn f1;
    weft_timeout t;
    assert_int_equal(weft_await(weft_timeout_init(&t, weft_poll_fn_init(&f1, recv_once, &rd, NULL), 30)), 0);
    assert_int_equal(t.result, -ETIMEDOUT); /* waited, nothing came */
    /* (it may wait without trying: the last short read said the socket was empty) */
    assert_int_equal(weft_fiber_write_all(&client.stream, "hello", 5, NULL), 0);
    assert_int_equal(weft_await(weft_poll_fn_init(&f1, recv_once, &rd, NULL)), 0);
    assert_int_equal(rd.result, 5);
    assert_memory_equal(in, "hello", 5);

    /* misuse and empty streams */
    rd.interest = (weft_interest)3;
    assert_int_equal(weft_await(weft_poll_fn_init(&f1, recv_once, &rd, NULL)), 0);
    assert_int_equal(rd.result, -EINVAL);
    weft_tcp_stream_close(&server);
    rd.interest = WEFT_INTEREST_READ;
    assert_int_equal(weft_await(weft_poll_fn_init(&f1, recv_once, &rd, NULL)), 0);
    assert_int_equal(rd.result, -EBADF);
    weft_tcp_stream_close(&client);
    return NULL;
}

static void test_poll_io(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    weft_fiber f;
    assert_int_equal(weft_block_on(rt, weft_fiber_init(&f, body, NULL, NULL)), 0);
    assert_int_equal(f.output.error, 0);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
