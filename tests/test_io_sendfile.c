/* sendfile: a multi-megabyte file to TCP and Unix streams (and a split
 * write half) through the kernel, checked byte for byte; a range; the copy
 * fallback for other streams; a file shorter than asked; a peer that
 * closes mid-send (no SIGPIPE); cancelled and resumed sends losing and
 * repeating nothing; bad arguments.  weft-test: io  weft-test: timeout=300 */
#include <fcntl.h>
#include <signal.h>

#include "copy_support.h"

enum { FILE_ID = 9 };

/* An unlinked temporary file of `size` bytes of pattern(FILE_ID, i). */
static int make_file(uint64_t size) {
    char path[] = "/tmp/weft-sendfile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static unsigned char buf[65536];
    for (uint64_t off = 0; off < size;) {
        size_t k = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        for (size_t i = 0; i < k; i++) buf[i] = pattern(FILE_ID, off + i);
        assert_int_equal(pwrite(fd, buf, k, (off_t)off), (ssize_t)k);
        off += k;
    }
    return fd;
}

enum { DST_TCP, DST_UNIX, DST_TCP_WRITE_HALF, DST_BUFWRITER };

typedef struct send_case {
    WEFT_CORO_FIELDS;
    int dst, fd;
    int64_t offset;
    uint64_t count;
    tcp_pair tp;
    weft_tcp_stream t[2], rd_half, wr_half;
    weft_unix_stream u[2];
    weft_bufwriter bw;
    weft_stream *out, *in;
    peer rx;
    peer_report rep;
    weft_join_handle hrx;
    weft_sendfile sf;
    weft_flush fl;
    struct send_out *res; /* the results (the case runs as a task: moved) */
} send_case;

typedef struct send_out {
    int result;
    uint64_t done;
    bool zero_copy;
} send_out;

WEFT_ASYNC(send_case, NULL) {
    WEFT_BEGIN();
    if (self->dst == DST_UNIX) {
        assert_int_equal(weft_unix_stream_pair(&self->u[0], &self->u[1], cx->runtime), 0);
        self->out = &self->u[0].stream;
        self->in = &self->u[1].stream;
    } else {
        WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
        assert_int_equal(self->tp.result, 0);
        self->out = &self->t[0].stream;
        self->in = &self->t[1].stream;
        if (self->dst == DST_TCP_WRITE_HALF) {
            assert_int_equal(weft_tcp_stream_into_split(&self->t[0], &self->rd_half, &self->wr_half), 0);
            self->out = &self->wr_half.stream;
        } else if (self->dst == DST_BUFWRITER) {
            assert_int_equal(weft_bufwriter_init(&self->bw, &self->t[0].stream, NULL, 4096), 0);
            self->out = &self->bw.stream;
        }
    }
    peer_setup(&self->rx, &self->rep, self->in, PEER_READ_ONLY, FILE_ID, 0, 0);
    self->rx.in_base = (uint64_t)self->offset;
    self->hrx = WEFT_SPAWN(cx->runtime, &self->rx, result, NULL);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, self->out, self->fd, self->offset, self->count));
    *self->res = (send_out){self->sf.result, self->sf.done, self->sf.zero_copy};
    WEFT_AWAIT(weft_shutdown_init(&self->fl, self->out)); /* flushes a buffered writer */
    assert_int_equal(self->fl.result, 0);
    WEFT_AWAIT(&self->hrx.base);
    assert_int_equal(self->rep.result, 0);
    assert_int_equal(self->rep.bad, 0);
    assert_int_equal(self->rep.got, self->sf.done); /* every byte counted arrived, in order */
    if (self->dst == DST_BUFWRITER) weft_bufwriter_destroy(&self->bw);
    weft_tcp_stream_close(&self->wr_half);
    weft_tcp_stream_close(&self->rd_half);
    for (int i = 0; i < 2; i++) {
        weft_tcp_stream_close(&self->t[i]);
        weft_unix_stream_close(&self->u[i]);
    }
    WEFT_END();
}

static send_out run_send(int dst, int fd, int64_t offset, uint64_t count) {
    weft_runtime *rt = rt_new();
    send_case *c = calloc(1, sizeof *c);
    send_case_start(c);
    c->dst = dst;
    c->fd = fd;
    c->offset = offset;
    c->count = count;
    send_out out = {0};
    c->res = &out;
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
    return out;
}

enum { BIG = (8u << 20) + 123 };

static void test_whole_file_tcp(void **state) {
    (void)state;
    int fds = fd_count();
    int fd = make_file(BIG);
    send_out r = run_send(DST_TCP, fd, 0, WEFT_SENDFILE_TO_END);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, BIG);
    assert_true(r.zero_copy);
    /* The same with an exact count; the file position never moved. */
    r = run_send(DST_TCP, fd, 0, BIG);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, BIG);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
    close(fd);
    assert_int_equal(fd_count_settled(fds), fds);
}

static void test_range_unix_and_write_half(void **state) {
    (void)state;
    int fd = make_file(BIG);
    send_out r = run_send(DST_UNIX, fd, 1000003, 3u << 20);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, 3u << 20);
    assert_true(r.zero_copy);
    r = run_send(DST_TCP_WRITE_HALF, fd, 17, 5u << 20);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, 5u << 20);
    assert_true(r.zero_copy);
    /* A count of 0 sends nothing. */
    r = run_send(DST_TCP, fd, 5, 0);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, 0);
    close(fd);
}

static void test_fallback_for_other_streams(void **state) {
    (void)state;
    int fd = make_file(BIG);
    send_out r = run_send(DST_BUFWRITER, fd, 4095, WEFT_SENDFILE_TO_END);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, BIG - 4095);
    assert_false(r.zero_copy);
    close(fd);
}

static void test_file_shorter_than_count(void **state) {
    (void)state;
    int fd = make_file(100000);
    send_out r = run_send(DST_TCP, fd, 1000, 200000);
    assert_int_equal(r.result, -ENODATA);
    assert_int_equal(r.done, 99000);
    r = run_send(DST_BUFWRITER, fd, 1000, 200000);
    assert_int_equal(r.result, -ENODATA);
    assert_int_equal(r.done, 99000);
    /* An offset past the end: nothing, and said so. */
    r = run_send(DST_TCP, fd, 200000, 1);
    assert_int_equal(r.result, -ENODATA);
    r = run_send(DST_TCP, fd, 200000, WEFT_SENDFILE_TO_END);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, 0);
    close(fd);
}

/* ---- the peer closes in the middle: an error, never SIGPIPE ------------------------------- */

typedef struct closer_case {
    WEFT_CORO_FIELDS;
    int fd;
    bool buffered;
    tcp_pair tp;
    weft_tcp_stream t[2];
    weft_bufwriter bw;
    weft_read rd;
    weft_sendfile sf;
    weft_join_handle h;
    uint64_t got;
    unsigned char buf[65536];
} closer_case;

typedef struct send_only {
    WEFT_CORO_FIELDS;
    weft_sendfile *sf;
    int result;
} send_only;

WEFT_ASYNC(send_only, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(&self->sf->base);
    self->result = self->sf->result;
    WEFT_END();
}

WEFT_ASYNC(closer_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
    assert_int_equal(self->tp.result, 0);
    if (self->buffered) assert_int_equal(weft_bufwriter_init(&self->bw, &self->t[0].stream, NULL, 8192), 0);
    weft_sendfile_init(&self->sf, self->buffered ? &self->bw.stream : &self->t[0].stream, self->fd, 0,
                       WEFT_SENDFILE_TO_END);
    {
        send_only s;
        send_only_start(&s);
        s.sf = &self->sf;
        self->h = WEFT_SPAWN(cx->runtime, &s, result, NULL);
    }
    while (self->got < (1u << 20)) {
        WEFT_AWAIT(weft_read_init(&self->rd, &self->t[1].stream, self->buf, sizeof self->buf));
        assert_true(self->rd.result > 0);
        self->got += (uint64_t)self->rd.result;
    }
    weft_tcp_stream_close(&self->t[1]); /* unread data: the kernel resets */
    WEFT_AWAIT(&self->h.base);
    assert_true(self->sf.result == -EPIPE || self->sf.result == -ECONNRESET);
    assert_true(self->sf.done >= self->got);
    if (self->buffered) weft_bufwriter_destroy(&self->bw);
    weft_tcp_stream_close(&self->t[0]);
    WEFT_END();
}

typedef struct shut_case {
    WEFT_CORO_FIELDS;
    int fd;
    weft_unix_stream u[2];
    weft_sendfile sf;
} shut_case;

WEFT_ASYNC(shut_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->u[0], &self->u[1], cx->runtime), 0);
    assert_int_equal(weft_unix_stream_shutdown(&self->u[0], SHUT_WR), 0);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[0].stream, self->fd, 0, 4096));
    assert_int_equal(self->sf.result, -EPIPE);
    assert_true(self->sf.zero_copy);
    weft_unix_stream_close(&self->u[0]);
    weft_unix_stream_close(&self->u[1]);
    WEFT_END();
}

static void test_peer_closes_no_sigpipe(void **state) {
    (void)state;
    /* SIGPIPE keeps its default action (death): the test survives only if
     * weft never raises it. */
    signal(SIGPIPE, SIG_DFL);
    int fd = make_file(64u << 20);
    for (int buffered = 0; buffered < 2; buffered++) {
        weft_runtime *rt = rt_new();
        closer_case *c = calloc(1, sizeof *c);
        closer_case_start(c);
        c->fd = fd;
        c->buffered = buffered;
        assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
        free(c);
        weft_runtime_destroy(rt);
    }
    /* Our own write side shut down: sendfile(2) says EPIPE at once, the
     * case in which the kernel would raise SIGPIPE. */
    {
        weft_runtime *rt = rt_new();
        shut_case c;
        shut_case_start(&c);
        c.fd = fd;
        assert_int_equal(weft_block_on(rt, &c.base), 0);
        weft_runtime_destroy(rt);
    }
    sigset_t pend;
    sigemptyset(&pend);
    sigpending(&pend);
    assert_false(sigismember(&pend, SIGPIPE));
    close(fd);
}

/* ---- cancelled and resumed --------------------------------------------------------------- */

typedef struct resume_case {
    WEFT_CORO_FIELDS;
    int fd;
    tcp_pair tp;
    weft_tcp_stream t[2];
    peer rx;
    peer_report rep;
    weft_join_handle hrx;
    weft_sendfile sf;
    weft_timeout to;
    weft_flush fl;
    uint64_t sent;
    unsigned drops;
} resume_case;

WEFT_ASYNC(resume_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
    assert_int_equal(self->tp.result, 0);
    /* A slow reader (small reads), so sends keep waiting for room. */
    peer_setup(&self->rx, &self->rep, &self->t[1].stream, PEER_READ_ONLY, FILE_ID, 0, 0);
    self->rx.chunk = 512;
    self->hrx = WEFT_SPAWN(cx->runtime, &self->rx, result, NULL);
    while (self->sent < BIG) {
        WEFT_AWAIT(weft_timeout_init(&self->to,
                                     weft_sendfile_init(&self->sf, &self->t[0].stream, self->fd,
                                                        (int64_t)self->sent, BIG - self->sent),
                                     5));
        if (self->to.result == -ETIMEDOUT) self->drops++;
        else assert_int_equal(self->sf.result, 0);
        self->sent += self->sf.done; /* what the stream took, even when dropped */
    }
    assert_int_equal(self->sent, BIG);
    WEFT_AWAIT(weft_shutdown_init(&self->fl, &self->t[0].stream));
    WEFT_AWAIT(&self->hrx.base);
    assert_int_equal(self->rep.bad, 0);
    assert_int_equal(self->rep.got, BIG); /* nothing lost, nothing twice */
    assert_true(self->drops > 0);
    weft_tcp_stream_close(&self->t[0]);
    weft_tcp_stream_close(&self->t[1]);
    WEFT_END();
}

static void test_cancel_and_resume(void **state) {
    (void)state;
    int fd = make_file(BIG);
    weft_runtime *rt = rt_new();
    resume_case *c = calloc(1, sizeof *c);
    resume_case_start(c);
    c->fd = fd;
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
    close(fd);
}

/* ---- bad arguments ----------------------------------------------------------------------- */

typedef struct bad_case {
    WEFT_CORO_FIELDS;
    int file, pipefd[2];
    weft_unix_stream u[2];
    weft_sendfile sf;
    weft_stream empty;
} bad_case;

WEFT_ASYNC(bad_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->u[0], &self->u[1], cx->runtime), 0);
    assert_int_equal(pipe(self->pipefd), 0);
    assert_int_equal(write(self->pipefd[1], "abc", 3), 3);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[0].stream, self->pipefd[0], 0, 3));
    assert_int_equal(self->sf.result, -ESPIPE);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[0].stream, -1, 0, 3));
    assert_int_equal(self->sf.result, -EBADF);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[0].stream, self->file, -1, 3));
    assert_int_equal(self->sf.result, -EINVAL);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, NULL, self->file, 0, 3));
    assert_int_equal(self->sf.result, -EINVAL);
    self->empty.vt = NULL;
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->empty, self->file, 0, 3));
    assert_int_equal(self->sf.result, -EBADF);
    weft_unix_stream_close(&self->u[0]);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[0].stream, self->file, 0, 3));
    assert_int_equal(self->sf.result, -EBADF);
    /* A directory: sendfile refuses, the fallback's pread says why. */
    {
        int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir >= 0);
        self->file = dir;
    }
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->u[1].stream, self->file, 0, 3));
    assert_int_equal(self->sf.result, -EISDIR);
    close(self->file);
    close(self->pipefd[0]);
    close(self->pipefd[1]);
    weft_unix_stream_close(&self->u[1]);
    WEFT_END();
}

static void test_bad_arguments(void **state) {
    (void)state;
    int fds = fd_count();
    int fd = make_file(10);
    weft_runtime *rt = rt_new();
    bad_case c;
    bad_case_start(&c);
    c.file = fd;
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    close(fd);
    assert_int_equal(fd_count_settled(fds), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file_tcp),
        cmocka_unit_test(test_range_unix_and_write_half),
        cmocka_unit_test(test_fallback_for_other_streams),
        cmocka_unit_test(test_file_shorter_than_count),
        cmocka_unit_test(test_peer_closes_no_sigpipe),
        cmocka_unit_test(test_cancel_and_resume),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
