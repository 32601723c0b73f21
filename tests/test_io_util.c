/* The helpers shared by every byte stream: buffered reader (read_line,
 * read_until, cancel-safety), buffered writer (gathering, flush), copy,
 * split (lock-free for sockets, locked for other streams), and async_fd
 * readiness with the tick-checked clear. Run over Unix socketpairs.
 * weft-test: io */
#include <fcntl.h>
#include <sys/eventfd.h>

#include "net_support.h"

/* ---- bufreader: read_line / read_until ------------------------------------ */

typedef struct lines_case {
    WEFT_CORO_FIELDS;
    weft_unix_stream a, b;
    weft_bufreader br;
    weft_read_until ru;
    weft_write_all w;
    weft_timeout t;
    weft_read rd;
    char line[64];
    unsigned char small[8];
    unsigned char storage[32];
} lines_case;

WEFT_ASYNC(lines_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->a, &self->b, cx->runtime), 0);
    assert_int_equal(weft_bufreader_init(&self->br, &self->b.stream, self->storage, sizeof self->storage), 0);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->a.stream, "first\nsecond\nthi", 16));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
    assert_int_equal(self->ru.result, 6);
    assert_true(self->ru.found);
    assert_string_equal(self->line, "first\n");
    WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
    assert_string_equal(self->line, "second\n");
    /* An incomplete line: the read waits; cancelling it loses nothing. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_int_equal(weft_bufreader_buffered(&self->br), 3);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->a.stream, "rd\nx;y;", 7));
    WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
    assert_string_equal(self->line, "third\n");
    /* read_until another delimiter. */
    WEFT_AWAIT(weft_read_until_init(&self->ru, &self->br, ';', self->small, sizeof self->small));
    assert_int_equal(self->ru.result, 2);
    assert_memory_equal(self->small, "x;", 2);
    WEFT_AWAIT(weft_read_until_init(&self->ru, &self->br, ';', self->small, sizeof self->small));
    assert_memory_equal(self->small, "y;", 2);
    /* A line longer than the output: returned in pieces, found == false. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->a.stream, "0123456789abc\n", 14));
    WEFT_AWAIT(weft_read_until_init(&self->ru, &self->br, '\n', self->small, sizeof self->small));
    assert_int_equal(self->ru.result, 8);
    assert_false(self->ru.found);
    assert_memory_equal(self->small, "01234567", 8);
    WEFT_AWAIT(weft_read_until_init(&self->ru, &self->br, '\n', self->small, sizeof self->small));
    assert_int_equal(self->ru.result, 6);
    assert_true(self->ru.found);
    assert_memory_equal(self->small, "89abc\n", 6);
    /* Plain reads through the buffer; then EOF ends a partial line. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->a.stream, "tail", 4));
    weft_unix_stream_close(&self->a);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->br.stream, self->small, 2));
    assert_int_equal(self->rd.result, 2);
    WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
    assert_int_equal(self->ru.result, 2);
    assert_false(self->ru.found);
    assert_string_equal(self->line, "il");
    WEFT_AWAIT(weft_read_line_init(&self->ru, &self->br, self->line, sizeof self->line));
    assert_int_equal(self->ru.result, 0);
    weft_bufreader_destroy(&self->br);
    weft_unix_stream_close(&self->b);
    WEFT_END();
}

static void run(weft_future *root) {
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_block_on(rt, root), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

static void test_bufreader_lines(void **state) {
    (void)state;
    lines_case t;
    memset(&t, 0, sizeof t);
    lines_case_start(&t);
    run(&t.base);
}

/* ---- bufwriter, copy ----------------------------------------------------------- */

#define COPY_BYTES 300000

typedef struct sink {
    WEFT_CORO_FIELDS;
    weft_unix_stream s;
    weft_read rd;
    unsigned char buf[7000];
    uint64_t got;
    int bad;
} sink;

static void sink_cleanup(sink *self) { weft_unix_stream_close(&self->s); }

WEFT_ASYNC(sink, sink_cleanup) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_read_init(&self->rd, &self->s.stream, self->buf, sizeof self->buf));
        if (self->rd.result <= 0) break;
        for (ssize_t i = 0; i < self->rd.result; i++)
            if (self->buf[i] != pattern(5, self->got + (uint64_t)i)) self->bad++;
        self->got += (uint64_t)self->rd.result;
    }
    if (self->bad) self->got = 0; /* every byte checked */
    WEFT_END();
}

typedef struct feeder {
    WEFT_CORO_FIELDS;
    weft_unix_stream s;
    weft_write_all w;
    uint64_t sent;
    unsigned char chunk[100];
    int result;
} feeder;

static void feeder_cleanup(feeder *self) { weft_unix_stream_close(&self->s); }

WEFT_ASYNC(feeder, feeder_cleanup) {
    WEFT_BEGIN();
    while (self->sent < COPY_BYTES) {
        for (size_t i = 0; i < sizeof self->chunk; i++) self->chunk[i] = pattern(5, self->sent + i);
        WEFT_AWAIT(weft_write_all_init(&self->w, &self->s.stream, self->chunk, sizeof self->chunk));
        if (self->w.result) {
            self->result = self->w.result;
            WEFT_RETURN();
        }
        self->sent += sizeof self->chunk;
    }
    WEFT_END(); /* closing `s` is the copy's EOF */
}

typedef struct writer_case {
    WEFT_CORO_FIELDS;
    weft_unix_stream a, b, c, d;
    weft_bufwriter bw;
    weft_write_all w;
    weft_flush fl;
    weft_copy cp;
    weft_read rd;
    weft_timeout t;
    sink sk;
    feeder fd;
    weft_join_handle h, hf;
    uint64_t got;
    int fed;
    unsigned char tmp[16];
} writer_case;

WEFT_ASYNC(writer_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->a, &self->b, cx->runtime), 0);
    assert_int_equal(weft_unix_stream_pair(&self->c, &self->d, cx->runtime), 0);
    assert_int_equal(weft_bufwriter_init(&self->bw, &self->a.stream, NULL, 1024), 0);
    /* Small writes gather in the buffer: nothing reaches the peer yet. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->bw.stream, "abc", 3));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_read_init(&self->rd, &self->b.stream, self->tmp, sizeof self->tmp), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    WEFT_AWAIT(weft_flush_init(&self->fl, &self->bw.stream));
    assert_int_equal(self->fl.result, 0);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->b.stream, self->tmp, sizeof self->tmp));
    assert_int_equal(self->rd.result, 3);

    /* copy: b -> (bufwriter over c) while a sink verifies d. */
    sink_start(&self->sk);
    self->sk.s = self->d;
    self->h = WEFT_SPAWN(cx->runtime, &self->sk, got, &self->got);
    weft_bufwriter_destroy(&self->bw);
    assert_int_equal(weft_bufwriter_init(&self->bw, &self->c.stream, NULL, 4096), 0);
    feeder_start(&self->fd);
    self->fd.s = self->a;
    self->a.io.reg = NULL; /* moved into the feeder */
    self->hf = WEFT_SPAWN(cx->runtime, &self->fd, result, &self->fed);
    WEFT_AWAIT(weft_copy_init(&self->cp, &self->b.stream, &self->bw.stream, NULL, 0));
    assert_int_equal(self->cp.result, 0);
    assert_int_equal(self->cp.total, COPY_BYTES);
    WEFT_AWAIT(&self->hf.base);
    assert_int_equal(self->fed, 0);
    weft_unix_stream_close(&self->c); /* EOF for the sink */
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->got, COPY_BYTES);
    weft_bufwriter_destroy(&self->bw);
    weft_unix_stream_close(&self->b);
    WEFT_END();
}

static void test_bufwriter_and_copy(void **state) {
    (void)state;
    writer_case t;
    memset(&t, 0, sizeof t);
    writer_case_start(&t);
    run(&t.base);
}

/* ---- split: generic, over a stream that is not split-safe ----------------------- */

typedef struct split_generic {
    WEFT_CORO_FIELDS;
    weft_unix_stream a, b;
    weft_bufreader br; /* a bufreader is not split-safe: the halves lock */
    weft_split_half rd, wr, srd, swr;
    weft_write_all w;
    weft_read_exact r;
    weft_read bad;
    unsigned char buf[8], storage[64];
} split_generic;

WEFT_ASYNC(split_generic, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->a, &self->b, cx->runtime), 0);
    assert_int_equal(weft_bufreader_init(&self->br, &self->a.stream, self->storage, sizeof self->storage), 0);
    assert_int_equal(weft_stream_split(&self->br.stream, &self->rd, &self->wr), 0);
    assert_non_null(self->rd.core);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->wr.stream, "half", 4));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->r, &self->b.stream, self->buf, 4));
    assert_memory_equal(self->buf, "half", 4);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->b.stream, "back", 4));
    WEFT_AWAIT(weft_read_exact_init(&self->r, &self->rd.stream, self->buf, 4));
    assert_int_equal(self->r.result, 0);
    assert_memory_equal(self->buf, "back", 4);
    WEFT_AWAIT(weft_read_init(&self->bad, &self->wr.stream, self->buf, 4));
    assert_int_equal(self->bad.result, -EBADF);
    weft_split_half_destroy(&self->rd);
    weft_split_half_destroy(&self->wr);
    /* A socket splits without a lock. */
    assert_int_equal(weft_stream_split(&self->b.stream, &self->srd, &self->swr), 0);
    assert_null(self->srd.core);
    weft_split_half_destroy(&self->srd);
    weft_split_half_destroy(&self->swr);
    weft_bufreader_destroy(&self->br);
    weft_unix_stream_close(&self->a);
    weft_unix_stream_close(&self->b);
    WEFT_END();
}

static void test_split_generic(void **state) {
    (void)state;
    split_generic t;
    memset(&t, 0, sizeof t);
    split_generic_start(&t);
    run(&t.base);
}

/* ---- async_fd: readiness, the tick-checked clear ----------------------------- */

typedef struct afd_case {
    WEFT_CORO_FIELDS;
    weft_async_fd a;
    weft_async_fd_ready r;
    weft_timeout t;
    uint64_t v;
    int n;
} afd_case;

WEFT_ASYNC(afd_case, NULL) {
    WEFT_BEGIN();
    {
        int efd = eventfd(0, 0);
        assert_true(efd >= 0);
        assert_int_equal(weft_async_fd_adopt(&self->a, cx->runtime, efd), 0);
    }
    /* Readiness starts optimistic: try, get EAGAIN, clear, then wait. */
    WEFT_AWAIT(weft_async_fd_ready_init(&self->r, &self->a, WEFT_INTEREST_READ));
    assert_int_equal(self->r.result, 0);
    assert_true(read(weft_async_fd_fd(&self->a), &self->v, 8) < 0 && errno == EAGAIN);
    weft_async_fd_clear_ready(&self->a, &self->r.ready);
    /* With nothing to read the wait ends by the time limit. Readiness may
     * be reported spuriously (an event that came between the try and the
     * clear keeps the bits, by design): then the read still says EAGAIN,
     * and clearing again leads to a real wait. What is promised: no data is
     * invented, and the waits do not spin. */
    for (self->n = 0;; self->n++) {
        assert_true(self->n < 100);
        WEFT_AWAIT(weft_timeout_init(&self->t, weft_async_fd_ready_init(&self->r, &self->a, WEFT_INTEREST_READ), 20));
        if (self->t.result == -ETIMEDOUT) break;
        assert_int_equal(self->t.result, 0);
        assert_int_equal(self->r.result, 0);
        assert_true(read(weft_async_fd_fd(&self->a), &self->v, 8) < 0 && errno == EAGAIN);
        weft_async_fd_clear_ready(&self->a, &self->r.ready);
    }
    /* Writable right away. */
    WEFT_AWAIT(weft_async_fd_ready_init(&self->r, &self->a, WEFT_INTEREST_WRITE));
    assert_true(self->r.ready.ready & WEFT_IO_WRITABLE);
    self->v = 3;
    assert_int_equal(write(weft_async_fd_fd(&self->a), &self->v, 8), 8);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_async_fd_ready_init(&self->r, &self->a, WEFT_INTEREST_READ), 5000));
    assert_int_equal(self->t.result, 0);
    assert_true(self->r.ready.ready & WEFT_IO_READABLE);
    assert_int_equal(read(weft_async_fd_fd(&self->a), &self->v, 8), 8);
    assert_int_equal(self->v, 3);
    weft_async_fd_close(&self->a);
    WEFT_END();
}

static void test_async_fd(void **state) {
    (void)state;
    afd_case t;
    memset(&t, 0, sizeof t);
    afd_case_start(&t);
    run(&t.base);
    int p[2];
    assert_int_equal(pipe(p), 0);
    weft_runtime *rt = rt_new();
    weft_async_fd a;
    assert_int_equal(weft_async_fd_adopt(&a, rt, p[0]), 0);
    assert_int_equal(weft_async_fd_into_fd(&a), p[0]); /* still open, ours again */
    assert_int_equal(close(p[0]), 0);
    close(p[1]);
    /* A regular file cannot be watched. */
    int f = open("/proc/self/stat", O_RDONLY);
    int err = weft_async_fd_adopt(&a, rt, f);
    assert_true(err == -EPERM || err == 0); /* poll(2) accepts anything */
    if (err == 0) weft_async_fd_close(&a);
    else close(f);
    weft_runtime_destroy(rt);
}

/* ---- the cooperative budget: an always-ready reader does not starve others --- */

typedef struct greedy {
    WEFT_CORO_FIELDS;
    weft_unix_stream *s;
    weft_read rd;
    unsigned char byte;
    atomic_int *other_ran;
    int reads, reads_before_other;
} greedy;

WEFT_ASYNC(greedy, NULL) {
    WEFT_BEGIN();
    /* 20,000 one-byte reads, each immediately ready: without the budget
     * this loop would never return to the scheduler. */
    for (self->reads = 0; self->reads < 20000; self->reads++) {
        WEFT_AWAIT(weft_read_init(&self->rd, &self->s->stream, &self->byte, 1));
        if (self->rd.result != 1) break;
        if (!self->reads_before_other && atomic_load(self->other_ran)) self->reads_before_other = self->reads;
    }
    WEFT_END();
}

typedef struct ticker {
    WEFT_CORO_FIELDS;
    atomic_int *ran;
    weft_yield_now y;
} ticker;

WEFT_ASYNC(ticker, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_yield_now_init(&self->y));
    atomic_store(self->ran, 1);
    WEFT_END();
}

typedef struct budget_case {
    WEFT_CORO_FIELDS;
    weft_unix_stream a, b;
    greedy g;
    ticker t;
    weft_join_handle hg, ht;
    atomic_int other_ran;
    int reads, before_other;
    unsigned char *data;
    weft_write_all w;
} budget_case;

WEFT_ASYNC(budget_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->a, &self->b, cx->runtime), 0);
    {
        int big = 1 << 20;
        setsockopt(weft_unix_stream_fd(&self->a), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    }
    self->data = calloc(1, 20000);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->a.stream, self->data, 20000));
    assert_int_equal(self->w.result, 0);
    greedy_start(&self->g);
    self->g.s = &self->b;
    self->g.other_ran = &self->other_ran;
    ticker_start(&self->t);
    self->t.ran = &self->other_ran;
    self->hg = WEFT_SPAWN(cx->runtime, &self->g, reads_before_other, &self->before_other);
    self->ht = WEFT_SPAWN(cx->runtime, &self->t, ran, NULL);
    WEFT_AWAIT(&self->hg.base);
    WEFT_AWAIT(&self->ht.base);
    /* The other task ran while the greedy reader still had thousands of
     * ready reads left. */
    assert_true(self->before_other > 0);
    assert_true(self->before_other < 20000 - 1000);
    free(self->data);
    weft_unix_stream_close(&self->a);
    weft_unix_stream_close(&self->b);
    WEFT_END();
}

static void test_budget(void **state) {
    (void)state;
    budget_case t;
    memset(&t, 0, sizeof t);
    budget_case_start(&t);
    run(&t.base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bufreader_lines),
        cmocka_unit_test(test_bufwriter_and_copy),
        cmocka_unit_test(test_split_generic),
        cmocka_unit_test(test_async_fd),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
