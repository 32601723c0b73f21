/* TCP through the runtime: the seeds' two-poll read, echo, EOF, peer reset
 * (no SIGPIPE), partial writes with a tiny send buffer, a read cancelled by
 * a timeout and resumed, readv/writev, options and addresses, owned split
 * halves in two tasks, connect errors (refused, timed out, malformed),
 * IPv6 loopback, and no descriptor left open after any of it.
 * weft-test: io  weft-test: timeout=120 */
#include <fcntl.h>
#include <netinet/tcp.h>

#include "net_support.h"

/* Runs `root` on a fresh runtime and checks that no descriptor leaked. */
static void run_checked(weft_future *root) {
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_block_on(rt, root), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

/* A connected pair over loopback: the client end and the accepted end. */
typedef struct tcp_pair {
    WEFT_CORO_FIELDS;
    const char *bind_addr;
    weft_tcp_listener l;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_tcp_stream client, server;
    int result;
} tcp_pair;

WEFT_ASYNC(tcp_pair, NULL) {
    WEFT_BEGIN();
    self->result = weft_tcp_listener_bind(&self->l, cx->runtime, self->bind_addr, 16);
    if (self->result) WEFT_RETURN();
    weft_tcp_listener_local_addr(&self->l, &self->c.target);
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->c.target));
    self->result = self->c.result;
    if (self->result) {
        weft_tcp_listener_close(&self->l);
        WEFT_RETURN();
    }
    self->client = self->c.stream;
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    self->result = self->a.result;
    weft_tcp_listener_close(&self->l);
    if (self->result) {
        weft_tcp_stream_close(&self->client);
        WEFT_RETURN();
    }
    self->server = self->a.stream;
    WEFT_END();
}

static weft_future *tcp_pair_init(tcp_pair *p, const char *addr) {
    tcp_pair_start(p);
    p->bind_addr = addr;
    p->result = 0;
    return &p->base;
}

/* ---- the seeds' trace: a read that must wait is polled exactly twice ------- */

typedef struct reader_task {
    WEFT_CORO_FIELDS;
    weft_tcp_stream s;
    weft_read rd;
    unsigned char buf[64];
    ssize_t out;
    uint32_t read_polls;
} reader_task;

WEFT_ASYNC(reader_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_read_init(&self->rd, &self->s.stream, self->buf, sizeof self->buf));
    self->out = self->rd.result;
    self->read_polls = self->rd.polls;
    WEFT_END();
}

typedef struct two_polls {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    reader_task r;
    weft_join_handle h;
    weft_yield_now y;
    weft_sleep sl;
    weft_write_all w;
    weft_runtime_stats before, after_first, after;
    int spins;
} two_polls;

WEFT_ASYNC(two_polls, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    weft_runtime_stats_get(cx->runtime, &self->before);
    reader_task_start(&self->r);
    self->r.s = self->p.server;
    self->h = WEFT_SPAWN(cx->runtime, &self->r, read_polls, &self->r.read_polls);
    /* Let the reader run once: it tries the read, gets EAGAIN, registers.
     * (On multi_thread a worker picks it up: wait for that, bounded.) */
    for (self->spins = 0; self->spins < 5000; self->spins++) {
        weft_runtime_stats_get(cx->runtime, &self->after_first);
        if (self->after_first.task_polls > self->before.task_polls) break;
        if (self->spins < 100) WEFT_AWAIT(weft_yield_now_init(&self->y));
        else WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    }
    assert_int_equal(self->after_first.task_polls - self->before.task_polls, 1);
    /* Data arrives; the reactor wakes the reader; the second poll reads it. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->p.client.stream, "hello", 5));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->h.result, 0);
    /* A worker counts a poll just after it returns: allow it to land. */
    for (self->spins = 0; self->spins < 1000; self->spins++) {
        weft_runtime_stats_get(cx->runtime, &self->after);
        if (self->after.task_polls - self->before.task_polls >= 2) break;
        WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    }
    assert_int_equal(self->after.task_polls - self->before.task_polls, 2);
    assert_int_equal(self->r.read_polls, 2);
    weft_tcp_stream_close(&self->p.client);
    weft_tcp_stream_close(&self->p.server); /* the task had a copy of this handle */
    WEFT_END();
}

static void test_read_polled_twice(void **state) {
    (void)state;
    two_polls t;
    memset(&t, 0, sizeof t);
    two_polls_start(&t);
    run_checked(&t.base);
}

/* ---- echo, EOF, write after the peer's shutdown ---------------------------- */

typedef struct eof_case {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    weft_write_all w;
    weft_read_exact rx;
    weft_read rd;
    weft_flush sh;
    unsigned char buf[256];
} eof_case;

WEFT_ASYNC(eof_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->p.client.stream, "ping", 4));
    assert_int_equal(self->w.result, 0);
    /* Client half-closes: the server reads the data, then EOF, repeatedly. */
    WEFT_AWAIT(weft_shutdown_init(&self->sh, &self->p.client.stream));
    assert_int_equal(self->sh.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->p.server.stream, self->buf, 4));
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->buf, "ping", 4);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->p.server.stream, self->buf, sizeof self->buf));
    assert_int_equal(self->rd.result, 0);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->p.server.stream, self->buf, sizeof self->buf));
    assert_int_equal(self->rd.result, 0);
    /* read_exact at EOF: -ENODATA. */
    WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->p.server.stream, self->buf, 1));
    assert_int_equal(self->rx.result, -ENODATA);
    /* The other direction still works. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->p.server.stream, "pong", 4));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->p.client.stream, self->buf, 4));
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->buf, "pong", 4);
    weft_tcp_stream_close(&self->p.client);
    weft_tcp_stream_close(&self->p.server);
    WEFT_END();
}

static void test_eof(void **state) {
    (void)state;
    eof_case t;
    memset(&t, 0, sizeof t);
    eof_case_start(&t);
    run_checked(&t.base);
}

/* ---- peer reset: ECONNRESET / EPIPE on that stream only, no SIGPIPE -------- */

typedef struct reset_case {
    WEFT_CORO_FIELDS;
    tcp_pair p, other;
    weft_read rd;
    weft_write wr;
    weft_write_all wa;
    weft_read_exact rx;
    weft_sleep sl;
    unsigned char buf[4096];
    int i;
    ssize_t last;
} reset_case;

WEFT_ASYNC(reset_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    WEFT_AWAIT(tcp_pair_init(&self->other, "127.0.0.1:0"));
    assert_int_equal(self->other.result, 0);
    {
        /* Abortive close: the server side gets RST. */
        struct linger lg = {1, 0};
        assert_int_equal(setsockopt(weft_tcp_stream_fd(&self->p.client), SOL_SOCKET, SO_LINGER,
                                    &lg, sizeof lg),
                         0);
    }
    weft_tcp_stream_close(&self->p.client);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->p.server.stream, self->buf, sizeof self->buf));
    assert_int_equal(self->rd.result, -ECONNRESET);
    /* Writing to the reset connection: an error, never SIGPIPE. */
    self->last = 0;
    for (self->i = 0; self->i < 10 && self->last >= 0; self->i++) {
        WEFT_AWAIT(weft_write_init(&self->wr, &self->p.server.stream, self->buf, sizeof self->buf));
        self->last = self->wr.result;
    }
    assert_true(self->last == -EPIPE || self->last == -ECONNRESET);

    /* A peer that closes normally while we keep writing: EPIPE eventually. */
    weft_tcp_stream_close(&self->other.client);
    self->last = 0;
    for (self->i = 0; self->i < 50 && self->last >= 0; self->i++) {
        WEFT_AWAIT(weft_write_init(&self->wr, &self->other.server.stream, self->buf, sizeof self->buf));
        self->last = self->wr.result;
        if (self->last >= 0) WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    }
    assert_true(self->last == -EPIPE || self->last == -ECONNRESET);
    weft_tcp_stream_close(&self->other.server);
    weft_tcp_stream_close(&self->p.server);
    WEFT_END();
}

static void test_peer_reset(void **state) {
    (void)state;
    /* The default SIGPIPE disposition is in force: a raised SIGPIPE would
     * kill this test. */
    signal(SIGPIPE, SIG_DFL);
    reset_case t;
    memset(&t, 0, sizeof t);
    reset_case_start(&t);
    run_checked(&t.base);
}

/* ---- partial writes with a tiny send buffer -------------------------------- */

#define BIG (1u << 20)

typedef struct slow_reader {
    WEFT_CORO_FIELDS;
    weft_tcp_stream *s;
    weft_read rd;
    weft_sleep sl;
    unsigned char buf[3000];
    uint64_t got;
    unsigned reads;
    bool ok;
} slow_reader;

WEFT_ASYNC(slow_reader, NULL) {
    WEFT_BEGIN();
    self->ok = true;
    while (self->got < BIG) {
        /* Slow at first, so that the writer meets a full buffer. */
        if (self->reads < 20) WEFT_AWAIT(weft_sleep_init(&self->sl, 2));
        WEFT_AWAIT(weft_read_init(&self->rd, &self->s->stream, self->buf, sizeof self->buf));
        if (self->rd.result <= 0) {
            self->ok = false;
            break;
        }
        for (ssize_t i = 0; i < self->rd.result; i++)
            if (self->buf[i] != pattern(7, self->got + (uint64_t)i)) self->ok = false;
        self->got += (uint64_t)self->rd.result;
        self->reads++;
    }
    WEFT_END();
}

typedef struct partial_case {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    slow_reader r;
    weft_join_handle h;
    weft_write wr;
    weft_write_all wa;
    unsigned char *data;
    bool reader_ok;
} partial_case;

WEFT_ASYNC(partial_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    {
        int small = 4096;
        setsockopt(weft_tcp_stream_fd(&self->p.server), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    /* One big write is accepted only in part. */
    WEFT_AWAIT(weft_write_init(&self->wr, &self->p.server.stream, self->data, BIG));
    assert_true(self->wr.result > 0);
    assert_true((size_t)self->wr.result < BIG);
    slow_reader_start(&self->r);
    self->r.s = &self->p.client;
    self->h = WEFT_SPAWN(cx->runtime, &self->r, ok, &self->reader_ok);
    /* write_all finishes the job through many partial writes and waits. */
    WEFT_AWAIT(weft_write_all_init(&self->wa, &self->p.server.stream, self->data + self->wr.result,
                                   BIG - (size_t)self->wr.result));
    assert_int_equal(self->wa.result, 0);
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->h.result, 0);
    assert_true(self->reader_ok); /* every byte, in order */
    weft_tcp_stream_close(&self->p.client);
    weft_tcp_stream_close(&self->p.server);
    WEFT_END();
}

static void test_partial_writes(void **state) {
    (void)state;
    partial_case t;
    memset(&t, 0, sizeof t);
    partial_case_start(&t);
    t.data = malloc(BIG);
    for (uint64_t i = 0; i < BIG; i++) t.data[i] = pattern(7, i);
    run_checked(&t.base);
    free(t.data);
}

/* ---- a read cancelled by a timeout; the data that comes later is read ------ */

typedef struct cancel_case {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    weft_read rd;
    weft_timeout t;
    weft_write_all w;
    weft_read_exact rx;
    unsigned char buf[16];
} cancel_case;

WEFT_ASYNC(cancel_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    WEFT_AWAIT(weft_timeout_init(
        &self->t, weft_read_init(&self->rd, &self->p.server.stream, self->buf, sizeof self->buf), 30));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_true(self->rd.polls >= 1);
    /* Again, so the dropped read's waker slot is reused. */
    WEFT_AWAIT(weft_timeout_init(
        &self->t, weft_read_init(&self->rd, &self->p.server.stream, self->buf, sizeof self->buf), 10));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->p.client.stream, "later!", 6));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_timeout_init(
        &self->t, weft_read_exact_init(&self->rx, &self->p.server.stream, self->buf, 6), 10000));
    assert_int_equal(self->t.result, 0);
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->buf, "later!", 6);
    weft_tcp_stream_close(&self->p.client);
    weft_tcp_stream_close(&self->p.server);
    WEFT_END();
}

static void test_read_cancelled_by_timeout(void **state) {
    (void)state;
    cancel_case t;
    memset(&t, 0, sizeof t);
    cancel_case_start(&t);
    run_checked(&t.base);
}

/* ---- readv / writev, options, addresses ------------------------------------ */

typedef struct vec_case {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    weft_writev wv;
    weft_readv rv;
    weft_read_exact rx;
    struct iovec out[3], in[2];
    char a[4], b[6];
    char rest[8];
} vec_case;

WEFT_ASYNC(vec_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    self->out[0] = (struct iovec){"abc", 3};
    self->out[1] = (struct iovec){"", 0};
    self->out[2] = (struct iovec){"defghij", 7};
    WEFT_AWAIT(weft_writev_init(&self->wv, &self->p.client.stream, self->out, 3));
    assert_int_equal(self->wv.result, 10);
    self->in[0] = (struct iovec){self->a, 4};
    self->in[1] = (struct iovec){self->b, 6};
    WEFT_AWAIT(weft_readv_init(&self->rv, &self->p.server.stream, self->in, 2));
    assert_true(self->rv.result >= 1);
    if (self->rv.result < 10) {
        /* Loopback delivers it whole, but do not depend on it. */
        size_t have = (size_t)self->rv.result;
        char all[10];
        memcpy(all, self->a, have < 4 ? have : 4);
        if (have > 4) memcpy(all + 4, self->b, have - 4);
        (void)all;
        WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->p.server.stream, self->rest, 10 - have));
        assert_int_equal(self->rx.result, 0);
    } else {
        assert_memory_equal(self->a, "abcd", 4);
        assert_memory_equal(self->b, "efghij", 6);
    }
    {
        /* Every descriptor is non-blocking and close-on-exec. */
        int fds[2] = {weft_tcp_stream_fd(&self->p.client), weft_tcp_stream_fd(&self->p.server)};
        for (int k = 0; k < 2; k++) {
            assert_true(fcntl(fds[k], F_GETFL) & O_NONBLOCK);
            assert_true(fcntl(fds[k], F_GETFD) & FD_CLOEXEC);
        }
    }
    {
        bool on = false;
        assert_int_equal(weft_tcp_stream_set_nodelay(&self->p.client, true), 0);
        assert_int_equal(weft_tcp_stream_nodelay(&self->p.client, &on), 0);
        assert_true(on);
        weft_sockaddr la, pa;
        char text[WEFT_SOCKADDR_STRLEN];
        assert_int_equal(weft_tcp_stream_local_addr(&self->p.client, &la), 0);
        assert_int_equal(weft_tcp_stream_peer_addr(&self->p.server, &pa), 0);
        assert_true(weft_sockaddr_equal(&la, &pa));
        assert_true(weft_sockaddr_format(&la, text, sizeof text) > 0);
        assert_memory_equal(text, "127.0.0.1:", 10);
        assert_int_equal(weft_tcp_stream_peer_addr(&self->p.client, &pa), 0);
        assert_int_equal(weft_tcp_stream_local_addr(&self->p.server, &la), 0);
        assert_true(weft_sockaddr_equal(&la, &pa));
    }
    weft_tcp_stream_close(&self->p.client);
    weft_tcp_stream_close(&self->p.server);
    WEFT_END();
}

static void test_vectors_and_options(void **state) {
    (void)state;
    vec_case t;
    memset(&t, 0, sizeof t);
    vec_case_start(&t);
    run_checked(&t.base);
}

/* ---- owned split halves used by two tasks at once ---------------------------- */

#define SPLIT_BYTES (1u << 20)

typedef struct half_writer {
    WEFT_CORO_FIELDS;
    weft_tcp_stream wr;
    weft_write_all wa;
    unsigned char chunk[8192];
    uint64_t sent;
    int result;
} half_writer;

static void half_writer_cleanup(half_writer *self) { weft_tcp_stream_close(&self->wr); }

WEFT_ASYNC(half_writer, half_writer_cleanup) {
    WEFT_BEGIN();
    while (self->sent < SPLIT_BYTES) {
        for (size_t i = 0; i < sizeof self->chunk; i++) self->chunk[i] = pattern(3, self->sent + i);
        WEFT_AWAIT(weft_write_all_init(&self->wa, &self->wr.stream, self->chunk, sizeof self->chunk));
        if (self->wa.result) {
            self->result = self->wa.result;
            WEFT_RETURN();
        }
        self->sent += sizeof self->chunk;
    }
    self->result = 0;
    WEFT_END(); /* closing the write half sends FIN */
}

typedef struct half_reader {
    WEFT_CORO_FIELDS;
    weft_tcp_stream rd;
    weft_read r;
    unsigned char buf[5000];
    uint64_t got;
    int bad;
} half_reader;

static void half_reader_cleanup(half_reader *self) { weft_tcp_stream_close(&self->rd); }

WEFT_ASYNC(half_reader, half_reader_cleanup) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_read_init(&self->r, &self->rd.stream, self->buf, sizeof self->buf));
        if (self->r.result <= 0) break;
        for (ssize_t i = 0; i < self->r.result; i++)
            if (self->buf[i] != pattern(3, self->got + (uint64_t)i)) self->bad++;
        self->got += (uint64_t)self->r.result;
    }
    WEFT_END();
}

typedef struct split_case {
    WEFT_CORO_FIELDS;
    tcp_pair p;
    weft_tcp_stream rd, wr;
    half_writer w;
    half_reader r;
    echo_conn echo;
    weft_join_handle hw, hr, he;
    uint64_t got;
    int bad, wresult;
    weft_write bad_write;
    weft_read bad_read;
    unsigned char tmp[4];
} split_case;

WEFT_ASYNC(split_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    /* The server echoes; the client's halves write and read concurrently. */
    echo_conn_start(&self->echo);
    self->echo.s = self->p.server;
    self->echo.echoed = NULL;
    self->he = WEFT_SPAWN(cx->runtime, &self->echo, n, NULL);
    weft_tcp_stream_into_split(&self->p.client, &self->rd, &self->wr);
    /* A read half refuses writes, a write half refuses reads. */
    WEFT_AWAIT(weft_write_init(&self->bad_write, &self->rd.stream, "x", 1));
    assert_int_equal(self->bad_write.result, -EBADF);
    WEFT_AWAIT(weft_read_init(&self->bad_read, &self->wr.stream, self->tmp, 1));
    assert_int_equal(self->bad_read.result, -EBADF);
    half_writer_start(&self->w);
    self->w.wr = self->wr;
    half_reader_start(&self->r);
    self->r.rd = self->rd;
    self->hw = WEFT_SPAWN(cx->runtime, &self->w, result, &self->wresult);
    self->hr = WEFT_SPAWN(cx->runtime, &self->r, got, &self->got);
    WEFT_AWAIT(&self->hw.base);
    assert_int_equal(self->hw.result, 0);
    assert_int_equal(self->wresult, 0);
    WEFT_AWAIT(&self->hr.base);
    assert_int_equal(self->got, SPLIT_BYTES);
    WEFT_AWAIT(&self->he.base);
    WEFT_END();
}

static void test_split_halves(void **state) {
    (void)state;
    split_case t;
    memset(&t, 0, sizeof t);
    split_case_start(&t);
    run_checked(&t.base);
}

/* ---- connect errors -------------------------------------------------------- */

typedef struct connect_errors {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l;
    weft_tcp_connect c;
    weft_timeout t;
    weft_tcp_stream held[16];
    int nheld, i, timed_out;
    char addr[64];
    size_t regs_before;
    int fds_before;
} connect_errors;

static const char *malformed[] = {
    "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "::1:80", "[::1", "[::1]80",
    "[::1]:", "", ":80", "1.2.3.4:8x", "exa mple.com:80", "[localhost]:80", "127.0.0.1:80:80",
    /* numeric-looking hosts that are no dotted quad: malformed, never looked up */
    "300.1.1.1:80", "256.1.1.1:80", "1.2.3:80", "127.1:80", "2130706433:80", "0x7f.0.0.1:80",
    "1.2.3.4.5:80", "localhost:0x10", "localhost:99999",
};

WEFT_ASYNC(connect_errors, NULL) {
    WEFT_BEGIN();
    /* Malformed: -EINVAL, with nothing created or registered. */
    self->regs_before = registrations(cx->runtime);
    self->fds_before = fd_count();
    for (self->i = 0; self->i < (int)(sizeof malformed / sizeof *malformed); self->i++) {
        WEFT_AWAIT(weft_tcp_connect_init(&self->c, malformed[self->i]));
        if (self->c.result != -EINVAL) fail_msg("connect(\"%s\") = %d", malformed[self->i], self->c.result);
        assert_int_equal(registrations(cx->runtime), self->regs_before);
        assert_int_equal(fd_count(), self->fds_before);
    }
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "300.1.1.1:0", 0), -EINVAL);
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1", 0), -EINVAL);
    assert_int_equal(registrations(cx->runtime), self->regs_before);

    /* Refused: a port nobody listens on. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 1), 0);
    snprintf(self->addr, sizeof self->addr, "127.0.0.1:%u", weft_tcp_listener_port(&self->l));
    weft_tcp_listener_close(&self->l);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->addr));
    assert_int_equal(self->c.result, -ECONNREFUSED);

    /* Timed out: a listener whose queue is full drops further SYNs; a
     * connect with a time limit then ends with -ETIMEDOUT and leaves no
     * socket behind. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 1), 0);
    snprintf(self->addr, sizeof self->addr, "127.0.0.1:%u", weft_tcp_listener_port(&self->l));
    self->timed_out = 0;
    for (self->i = 0; self->i < 16 && !self->timed_out; self->i++) {
        WEFT_AWAIT(weft_timeout_init(&self->t, weft_tcp_connect_init(&self->c, self->addr), 300));
        if (self->t.result == -ETIMEDOUT) self->timed_out = 1;
        else if (self->c.result == 0) self->held[self->nheld++] = self->c.stream;
        else fail_msg("connect: %d", self->c.result);
    }
    assert_true(self->timed_out);
    for (self->i = 0; self->i < self->nheld; self->i++) weft_tcp_stream_close(&self->held[self->i]);
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void test_connect_errors(void **state) {
    (void)state;
    connect_errors t;
    memset(&t, 0, sizeof t);
    connect_errors_start(&t);
    t.nheld = 0;
    run_checked(&t.base);
}

/* ---- echo over IPv4 and IPv6 loopback ------------------------------------------ */

typedef struct echo_case {
    WEFT_CORO_FIELDS;
    const char *addr;
    weft_tcp_listener l;
    echo_server srv;
    weft_join_handle hs;
    weft_tcp_connect c;
    weft_write_all w;
    weft_read_exact rx;
    weft_tcp_stream s;
    char target[80];
    unsigned char out[10000], in[10000];
    int round;
    size_t n;
    bool skipped;
} echo_case;

WEFT_ASYNC(echo_case, NULL) {
    WEFT_BEGIN();
    {
        int err = weft_tcp_listener_bind(&self->l, cx->runtime, self->addr, 64);
        if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT) {
            print_message("skipped: no IPv6 loopback on this machine (%s: %s)\n", self->addr,
                          weft_strerror(err));
            self->skipped = true;
            WEFT_RETURN();
        }
        assert_int_equal(err, 0);
        weft_sockaddr la;
        assert_int_equal(weft_tcp_listener_local_addr(&self->l, &la), 0);
        assert_true(weft_tcp_listener_port(&self->l) != 0);
        weft_sockaddr_format(&la, self->target, sizeof self->target);
    }
    echo_server_start(&self->srv);
    self->srv.l = &self->l;
    self->hs = WEFT_SPAWN(cx->runtime, &self->srv, accepted, NULL);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->target));
    assert_int_equal(self->c.result, 0);
    self->s = self->c.stream;
    for (self->round = 0; self->round < 20; self->round++) {
        self->n = 1 + (size_t)self->round * 499;
        for (size_t i = 0; i < self->n; i++) self->out[i] = pattern((uint32_t)self->round, i);
        WEFT_AWAIT(weft_write_all_init(&self->w, &self->s.stream, self->out, self->n));
        assert_int_equal(self->w.result, 0);
        WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->s.stream, self->in, self->n));
        assert_int_equal(self->rx.result, 0);
        assert_memory_equal(self->in, self->out, self->n);
    }
    weft_tcp_stream_close(&self->s);
    weft_join_handle_abort(&self->hs);
    WEFT_AWAIT(&self->hs.base);
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void test_echo_ipv4(void **state) {
    (void)state;
    echo_case t;
    memset(&t, 0, sizeof t);
    echo_case_start(&t);
    t.addr = "127.0.0.1:0";
    t.skipped = false;
    run_checked(&t.base);
}

static void test_echo_ipv6(void **state) {
    (void)state;
    echo_case t;
    memset(&t, 0, sizeof t);
    echo_case_start(&t);
    t.addr = "[::1]:0";
    t.skipped = false;
    run_checked(&t.base);
    if (t.skipped) skip();
}

/* ---- objects that outlive their runtime ------------------------------------ */

typedef struct outlive {
    WEFT_CORO_FIELDS;
    tcp_pair p;
} outlive;

WEFT_ASYNC(outlive, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->p, "127.0.0.1:0"));
    assert_int_equal(self->p.result, 0);
    WEFT_END();
}

static void test_outlive_runtime(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    outlive t;
    memset(&t, 0, sizeof t);
    outlive_start(&t);
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    weft_runtime_destroy(rt); /* streams still open: their registrations go on */
    /* A read now fails with -ESHUTDOWN instead of waiting forever. */
    weft_read rd;
    unsigned char buf[8];
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    weft_read_init(&rd, &t.p.server.stream, buf, sizeof buf);
    assert_int_equal(weft_future_poll(&rd.base, &cx), WEFT_READY);
    assert_int_equal(rd.result, -ESHUTDOWN);
    weft_tcp_stream_close(&t.p.client);
    weft_tcp_stream_close(&t.p.server); /* frees the runtime's memory */
    assert_int_equal(fd_count(), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_polled_twice),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_peer_reset),
        cmocka_unit_test(test_partial_writes),
        cmocka_unit_test(test_read_cancelled_by_timeout),
        cmocka_unit_test(test_vectors_and_options),
        cmocka_unit_test(test_split_halves),
        cmocka_unit_test(test_connect_errors),
        cmocka_unit_test(test_echo_ipv4),
        cmocka_unit_test(test_echo_ipv6),
        cmocka_unit_test(test_outlive_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
