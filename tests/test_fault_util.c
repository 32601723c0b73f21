/* The service toolkit under faults: sendfile refused (the copy fallback
 * carries every byte, from the start or from the middle) or failing, pread
 * failing, every allocation failing (the fallback's buffer, the copy's
 * buffers, a framed reader's and writer's buffers, a tracked spawn, a
 * tracked blocking call, a token), each reaching the caller with nothing
 * lost or leaked; and no allocation at all per frame once the framed
 * buffers have grown.  weft-test: io */
#include <fcntl.h>

#include "copy_support.h"
#include "fault.h"

size_t weft__cancel_token_children(const weft_cancel_token *t);

enum { FILE_ID = 9 };

static int make_file(uint64_t size) {
    char path[] = "/tmp/weft-fault-XXXXXX";
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

/* ---- sendfile ------------------------------------------------------------------------ */

typedef struct sf_case {
    WEFT_CORO_FIELDS;
    int fd;
    uint64_t size;
    tcp_pair tp;
    weft_tcp_stream t[2];
    peer rx;
    peer_report rep;
    weft_join_handle hrx;
    weft_sendfile sf;
    weft_flush fl;
    struct sf_out *out;
} sf_case;

typedef struct sf_out {
    int result;
    uint64_t done, got, bad;
    bool zero_copy;
} sf_out;

WEFT_ASYNC(sf_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
    assert_int_equal(self->tp.result, 0);
    peer_setup(&self->rx, &self->rep, &self->t[1].stream, PEER_READ_ONLY, FILE_ID, 0, 0);
    self->hrx = WEFT_SPAWN(cx->runtime, &self->rx, result, NULL);
    WEFT_AWAIT(weft_sendfile_init(&self->sf, &self->t[0].stream, self->fd, 0, self->size));
    WEFT_AWAIT(weft_shutdown_init(&self->fl, &self->t[0].stream));
    WEFT_AWAIT(&self->hrx.base);
    *self->out = (sf_out){self->sf.result, self->sf.done, self->rep.got, self->rep.bad, self->sf.zero_copy};
    weft_tcp_stream_close(&self->t[0]);
    weft_tcp_stream_close(&self->t[1]);
    WEFT_END();
}

static sf_out run_sf(int fd, uint64_t size) {
    weft_runtime *rt = rt_new();
    sf_case *c = calloc(1, sizeof *c);
    sf_case_start(c);
    c->fd = fd;
    c->size = size;
    sf_out out = {0};
    c->out = &out;
    assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
    free(c);
    weft_runtime_destroy(rt);
    fault_disarm_all();
    return out;
}

enum { SIZE = (16u << 20) + 77 };

static void test_sendfile_refused_uses_the_copy(void **state) {
    (void)state;
    int fd = make_file(SIZE);
    /* Refused from the start. */
    fault_arm(FAULT_SENDFILE, (fault_rule){.err = EINVAL, .fd = FAULT_FD(fd)});
    sf_out r = run_sf(fd, SIZE);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.done, SIZE);
    assert_int_equal(r.got, SIZE);
    assert_int_equal(r.bad, 0);
    assert_false(r.zero_copy);
    /* Refused after a few calls went through: the copy goes on from there. */
    fault_arm(FAULT_SENDFILE, (fault_rule){.err = ENOSYS, .skip = 3, .fd = FAULT_FD(fd)});
    r = run_sf(fd, SIZE);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.got, SIZE);
    assert_int_equal(r.bad, 0);
    /* A real failure is reported, not papered over. */
    fault_arm(FAULT_SENDFILE, (fault_rule){.err = EIO, .skip = 1, .fd = FAULT_FD(fd)});
    r = run_sf(fd, SIZE);
    assert_int_equal(r.result, -EIO);
    assert_int_equal(r.got, r.done);
    assert_int_equal(r.bad, 0);
    /* The copy's pread failing, and its buffer not allocated. */
    fault_arm(FAULT_SENDFILE, (fault_rule){.err = EINVAL, .fd = FAULT_FD(fd)});
    fault_arm(FAULT_PREAD, (fault_rule){.err = EIO, .skip = 5, .fd = FAULT_FD(fd)});
    r = run_sf(fd, SIZE);
    assert_int_equal(r.result, -EIO);
    assert_int_equal(r.got, r.done);
    assert_int_equal(r.bad, 0);
    fault_arm(FAULT_SENDFILE, (fault_rule){.err = EINVAL, .fd = FAULT_FD(fd)});
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .min_size = 65536, .count = 1});
    r = run_sf(fd, SIZE);
    assert_int_equal(r.result, -ENOMEM);
    assert_int_equal(r.done, 0);
    close(fd);
}

/* ---- copy_bidirectional's buffers ------------------------------------------------------- */

typedef struct bidi_nomem {
    WEFT_CORO_FIELDS;
    weft_unix_stream u[2];
    weft_copy_bidirectional cp;
    weft_copy_bidirectional_options o;
} bidi_nomem;

WEFT_ASYNC(bidi_nomem, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_stream_pair(&self->u[0], &self->u[1], cx->runtime), 0);
    self->o.buf_size = 1u << 20;
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .min_size = 2u << 20, .count = 1});
    WEFT_AWAIT(weft_copy_bidirectional_init(&self->cp, &self->u[0].stream, &self->u[1].stream, &self->o));
    fault_disarm_all();
    assert_int_equal(self->cp.result, -ENOMEM);
    weft_unix_stream_close(&self->u[0]);
    weft_unix_stream_close(&self->u[1]);
    WEFT_END();
}

static void test_copy_bidirectional_nomem(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    bidi_nomem c;
    bidi_nomem_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
}

/* ---- framing: no allocation per frame; every allocation failing --------------------------- */

/* An in-memory pipe: writes append, reads take; never allocates. */
typedef struct ring {
    weft_stream stream;
    unsigned char buf[1 << 16];
    size_t head, len;
} ring;

static weft_poll ring_read(weft_stream *s, weft_context *cx, void *p, size_t n, ssize_t *res) {
    ring *r = (ring *)s;
    if (n && r->len == 0) {
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    size_t k = n < r->len ? n : r->len;
    for (size_t i = 0; i < k; i++) ((unsigned char *)p)[i] = r->buf[(r->head + i) % sizeof r->buf];
    r->head = (r->head + k) % sizeof r->buf;
    r->len -= k;
    *res = (ssize_t)k;
    return WEFT_READY;
}

static weft_poll ring_write(weft_stream *s, weft_context *cx, const void *p, size_t n, ssize_t *res) {
    ring *r = (ring *)s;
    size_t room = sizeof r->buf - r->len;
    if (n && room == 0) {
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    size_t k = n < room ? n : room;
    for (size_t i = 0; i < k; i++) r->buf[(r->head + r->len + i) % sizeof r->buf] = ((const unsigned char *)p)[i];
    r->len += k;
    *res = (ssize_t)k;
    return WEFT_READY;
}

static weft_poll ring_flush(weft_stream *s, weft_context *cx, int *res) {
    (void)s, (void)cx;
    *res = 0;
    return WEFT_READY;
}

static const weft_stream_vtable ring_vtable = {"ring", 0, ring_read, NULL, ring_write, NULL, ring_flush, ring_flush};

static void drive(weft_future *f) {
    counting_waker cw = {0};
    for (int i = 0; i < 1000000; i++) {
        weft_context cx = weft_context_make(counting_waker_get(&cw));
        if (weft_future_poll(f, &cx) == WEFT_READY) return;
    }
    fail_msg("a future never completed");
}

static unsigned char payload[20000];

/* Writes `n` frames of sizes cycling up to `max` and reads each back. */
static void frames_through(ring *rg, weft_framed_writer *w, weft_framed_reader *r, int n, size_t max) {
    weft_framed_write wf;
    weft_framed_flush fl;
    weft_framed_read rf;
    for (int i = 0; i < n; i++) {
        size_t len = ((size_t)i * 7919) % (max + 1);
        drive(weft_framed_write_init(&wf, w, payload, len));
        assert_int_equal(wf.result, 0);
        drive(weft_framed_flush_init(&fl, w));
        assert_int_equal(fl.result, 0);
        drive(weft_framed_read_init(&rf, r));
        assert_int_equal(rf.result, 1);
        assert_int_equal(rf.len, len);
        if (len) assert_memory_equal(rf.data, payload, len);
    }
    (void)rg;
}

static void test_no_allocation_per_frame(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)('a' + i % 26);
    weft_lines_codec lines;
    weft_length_codec len4;
    assert_int_equal(weft_lines_codec_init(&lines, sizeof payload, 0), 0);
    assert_int_equal(weft_length_codec_init(&len4, 4, WEFT_LITTLE_ENDIAN, sizeof payload), 0);
    const weft_codec *codecs[] = {&lines.codec, &len4.codec};
    for (int c = 0; c < 2; c++) {
        static ring rg;
        memset(&rg, 0, sizeof rg);
        rg.stream.vt = &ring_vtable;
        weft_framed_writer w;
        weft_framed_reader r;
        assert_int_equal(weft_framed_writer_init(&w, &rg.stream, codecs[c], 0), 0);
        assert_int_equal(weft_framed_reader_init(&r, &rg.stream, codecs[c], 0), 0);
        frames_through(&rg, &w, &r, 50, sizeof payload); /* the buffers grow */
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = 0}); /* observe only */
        frames_through(&rg, &w, &r, 10000, sizeof payload);
        unsigned allocs = fault_selected(FAULT_ANY_ALLOC);
        fault_disarm_all();
        assert_int_equal(allocs, 0);
        weft_framed_writer_destroy(&w);
        weft_framed_reader_destroy(&r);
    }
}

static void test_framing_nomem(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)('a' + i % 26);
    weft_length_codec len4;
    assert_int_equal(weft_length_codec_init(&len4, 4, WEFT_BIG_ENDIAN, sizeof payload), 0);
    static ring rg;
    memset(&rg, 0, sizeof rg);
    rg.stream.vt = &ring_vtable;
    weft_framed_writer w;
    weft_framed_reader r;
    assert_int_equal(weft_framed_writer_init(&w, &rg.stream, &len4.codec, 0), 0);
    assert_int_equal(weft_framed_reader_init(&r, &rg.stream, &len4.codec, 0), 0);
    weft_framed_write wf;
    weft_framed_flush fl;
    weft_framed_read rf;
    /* The writer's buffer cannot grow: the frame is not accepted. */
    drive(weft_framed_write_init(&wf, &w, payload, 10));
    assert_int_equal(wf.result, 0);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .min_size = 16384});
    drive(weft_framed_write_init(&wf, &w, payload, 15000));
    assert_int_equal(wf.result, -ENOMEM);
    assert_false(wf.accepted);
    /* (The first frame was written out to make room: older frames are done.) */
    assert_int_equal(weft_framed_writer_buffered(&w), 0);
    assert_int_equal(rg.len, 14);
    fault_disarm_all();
    drive(weft_framed_write_init(&wf, &w, payload, 15000));
    assert_int_equal(wf.result, 0);
    drive(weft_framed_flush_init(&fl, &w));
    assert_int_equal(fl.result, 0);
    /* The reader's cannot grow: -ENOMEM, not kept; nothing lost. */
    drive(weft_framed_read_init(&rf, &r));
    assert_int_equal(rf.result, 1);
    assert_int_equal(rf.len, 10);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .min_size = 15004});
    drive(weft_framed_read_init(&rf, &r));
    assert_int_equal(rf.result, -ENOMEM);
    fault_disarm_all();
    drive(weft_framed_read_init(&rf, &r));
    assert_int_equal(rf.result, 1);
    assert_int_equal(rf.len, 15000);
    assert_memory_equal(rf.data, payload, 15000);
    weft_framed_writer_destroy(&w);
    weft_framed_reader_destroy(&r);
}

/* ---- trackers and tokens --------------------------------------------------------------- */

typedef struct nop {
    WEFT_CORO_FIELDS;
    int out;
} nop;

WEFT_ASYNC(nop, NULL) {
    WEFT_BEGIN();
    self->out = 1;
    WEFT_END();
}

static int arg_drops;
static void arg_free(void *p) {
    free(p);
    arg_drops++;
}
static void *blocking_fn(void *p) {
    free(p);
    return NULL;
}

static void test_tracker_and_token_nomem(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_task_tracker *t;
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    assert_int_equal(weft_task_tracker_create(&t), -ENOMEM);
    assert_int_equal(weft_task_tracker_create(&t), 0);
    /* The task's allocation fails: not counted, the future dropped. */
    nop n;
    nop_start(&n);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    weft_join_handle h = WEFT_TRACKER_SPAWN(t, rt, &n, out, NULL);
    fault_disarm_all();
    assert_int_equal(h.result, -ENOMEM);
    assert_int_equal(weft_task_tracker_len(t), 0);
    /* A big future whose wrapper cannot be built. */
    struct big {
        WEFT_CORO_FIELDS;
        char pad[4000];
    } *big = calloc(1, sizeof *big);
    nop_start((nop *)big);
    fault_arm(FAULT_ALIGNED_ALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    h = weft_task_tracker_spawn_raw(t, rt, big, sizeof *big, 0, 0, NULL);
    fault_disarm_all();
    assert_int_equal(h.result, -ENOMEM);
    assert_int_equal(weft_task_tracker_len(t), 0);
    free(big);
    /* A blocking call: its record cannot be allocated: arg_drop runs. */
    arg_drops = 0;
    void *arg = malloc(8);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    h = weft_task_tracker_spawn_blocking(t, rt, blocking_fn, arg, arg_free);
    fault_disarm_all();
    assert_int_equal(h.result, -ENOMEM);
    assert_int_equal(arg_drops, 1);
    assert_int_equal(weft_task_tracker_len(t), 0);
    weft_task_tracker_close(t);
    weft_task_tracker_wait w;
    assert_int_equal(weft_block_on(rt, weft_task_tracker_wait_init(&w, t)), 0);
    weft_task_tracker_destroy(t);
    weft_runtime_destroy(rt);

    /* Tokens. */
    weft_cancel_token root, child;
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    assert_int_equal(weft_cancel_token_init(&root), -ENOMEM);
    assert_null(root.node);
    assert_int_equal(weft_cancel_token_init(&root), 0);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    assert_int_equal(weft_cancel_token_child(&child, &root), -ENOMEM);
    fault_disarm_all();
    assert_null(child.node);
    assert_int_equal(weft__cancel_token_children(&root), 0);
    weft_cancel_token_cancel(&root);
    weft_cancel_token_destroy(&root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sendfile_refused_uses_the_copy),
        cmocka_unit_test(test_copy_bidirectional_nomem),
        cmocka_unit_test(test_no_allocation_per_frame),
        cmocka_unit_test(test_framing_nomem),
        cmocka_unit_test(test_tracker_and_token_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
