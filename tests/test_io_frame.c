/* Framing: every codec with its frames split at every byte boundary,
 * maximum lengths (a frame of the maximum, one past it, detected before
 * its end), a peer that vanishes mid-frame (clean end, truncation, reset),
 * a custom codec, the writer's flush semantics (nothing lost when the
 * stream fails), every future dropped mid-flight, and frames over real
 * sockets on a runtime.  weft-test: io */
#include "copy_support.h"
#include "sync_support.h"

/* ---- a scripted stream ------------------------------------------------------------------ */

#define STALL SIZE_MAX /* a chunk size: the stream waits forever */

/*
 * Reads deliver `data` in chunks of the sizes in `chunks` (then the rest
 * at once), answering PENDING before each chunk when `pend` is set (waking
 * the poller at once; a chunk of 0 is one more PENDING, STALL waits for
 * good), and then EOF or `end_error`. Writes collect into
 * `out`, at most `wmax` bytes per call, PENDING every other call when
 * `pend` is set, failing with `write_error` once `out_len` reaches
 * `fail_at`.
 */
typedef struct script {
    weft_stream stream;
    const unsigned char *data;
    size_t len, pos;
    const size_t *chunks;
    size_t nchunks, ci, chunk_left;
    bool pend, pending_now, closed;
    int end_error;
    unsigned char *out;
    size_t out_len, out_cap, wmax, fail_at;
    int write_error;
    bool wpending_now;
    unsigned flushes;
} script;

static weft_poll sc_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    script *sc = (script *)s;
    if (sc->closed) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    if (sc->chunk_left == 0) { /* the next chunk */
        if (sc->pend && !sc->pending_now) {
            sc->pending_now = true;
            weft_waker_wake_by_ref(&cx->waker);
            return WEFT_PENDING;
        }
        sc->pending_now = false;
        if (sc->pos == sc->len) {
            *res = sc->end_error;
            return WEFT_READY;
        }
        size_t c = sc->len - sc->pos;
        if (sc->ci < sc->nchunks) {
            size_t want = sc->chunks[sc->ci];
            if (want == STALL) return WEFT_PENDING; /* forever: nobody wakes it */
            sc->ci++;
            if (want == 0) { /* one PENDING, then on */
                weft_waker_wake_by_ref(&cx->waker);
                return WEFT_PENDING;
            }
            if (want < c) c = want;
        }
        sc->chunk_left = c;
    }
    size_t k = sc->chunk_left < len ? sc->chunk_left : len;
    memcpy(buf, sc->data + sc->pos, k);
    sc->pos += k;
    sc->chunk_left -= k;
    *res = (ssize_t)k;
    return WEFT_READY;
}

static weft_poll sc_write(weft_stream *s, weft_context *cx, const void *buf, size_t len, ssize_t *res) {
    script *sc = (script *)s;
    if (sc->closed) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    if (sc->pend && !sc->wpending_now) {
        sc->wpending_now = true;
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    sc->wpending_now = false;
    if (sc->write_error && sc->out_len >= sc->fail_at) {
        *res = sc->write_error;
        return WEFT_READY;
    }
    size_t k = len;
    if (sc->wmax && k > sc->wmax) k = sc->wmax;
    if (sc->write_error && sc->out_len + k > sc->fail_at) k = sc->fail_at - sc->out_len;
    if (sc->out_len + k > sc->out_cap) {
        sc->out_cap = (sc->out_len + k) * 2;
        sc->out = realloc(sc->out, sc->out_cap);
    }
    memcpy(sc->out + sc->out_len, buf, k);
    sc->out_len += k;
    *res = (ssize_t)k;
    return WEFT_READY;
}

static weft_poll sc_flush(weft_stream *s, weft_context *cx, int *res) {
    (void)cx;
    ((script *)s)->flushes++;
    *res = ((script *)s)->closed ? -EBADF : 0;
    return WEFT_READY;
}

static const weft_stream_vtable script_vtable = {"script", 0, sc_read, NULL, sc_write, NULL, sc_flush, sc_flush};

static void script_init(script *sc, const void *data, size_t len, const size_t *chunks, size_t n) {
    memset(sc, 0, sizeof *sc);
    sc->stream.vt = &script_vtable;
    sc->data = data;
    sc->len = len;
    sc->chunks = chunks;
    sc->nchunks = n;
}

/* Polls `f` by hand until it is ready (the script wakes it at once), at
 * most `n` times: false if it is still pending (a stalled stream). */
static bool drive_at_most(weft_future *f, int n) {
    counting_waker cw = {0};
    for (int i = 0; i < n; i++) {
        weft_context cx = weft_context_make(counting_waker_get(&cw));
        if (weft_future_poll(f, &cx) == WEFT_READY) return true;
    }
    return false;
}

static void drive(weft_future *f) {
    if (!drive_at_most(f, 10000000)) fail_msg("a future never completed");
}

/* ---- expected frames ------------------------------------------------------------------ */

typedef struct frames {
    size_t n;
    const unsigned char *p[16];
    size_t len[16];
} frames;

/* Reads every frame of `sc` with `codec` and checks them against `want`,
 * then the end: `end` is the result after the last frame (0, or an error). */
static void expect_frames(script *sc, const weft_codec *codec, const frames *want, int end) {
    weft_framed_reader r;
    assert_int_equal(weft_framed_reader_init(&r, &sc->stream, codec, 0), 0);
    weft_framed_read f;
    for (size_t i = 0; i < want->n; i++) {
        drive(weft_framed_read_init(&f, &r));
        if (f.result != 1) fail_msg("frame %zu: result %d (%s)", i, f.result, weft_strerror(f.result));
        assert_int_equal(f.len, want->len[i]);
        if (f.len) assert_memory_equal(f.data, want->p[i], f.len);
    }
    drive(weft_framed_read_init(&f, &r));
    assert_int_equal(f.result, end);
    /* Repeated: a clean end stays an end, a decoding error stays. */
    drive(weft_framed_read_init(&f, &r));
    if (end == 0 || end == -WEFT_ETRUNCATED || end == -EMSGSIZE || end == -EPROTO)
        assert_int_equal(f.result, end);
    weft_framed_reader_destroy(&r);
}

/* Checks `bytes` against `want` split at every boundary (two chunks), in
 * one-byte chunks, and at once, with and without PENDING between chunks. */
static void every_split(const unsigned char *bytes, size_t total, const weft_codec *codec,
                        const frames *want, int end_error, int end) {
    script sc;
    for (size_t s = 0; s <= total; s++) {
        size_t chunks[2] = {s, total - s};
        script_init(&sc, bytes, total, chunks, 2);
        sc.pend = s % 2;
        sc.end_error = end_error;
        expect_frames(&sc, codec, want, end);
    }
    size_t *ones = malloc((total + 1) * sizeof *ones);
    for (size_t i = 0; i <= total; i++) ones[i] = 1;
    for (int pend = 0; pend < 2; pend++) {
        script_init(&sc, bytes, total, ones, total);
        sc.pend = pend;
        sc.end_error = end_error;
        expect_frames(&sc, codec, want, end);
    }
    free(ones);
}

#define FRAME(fr, s, l)                                  \
    do {                                                 \
        (fr).p[(fr).n] = (const unsigned char *)(s);     \
        (fr).len[(fr).n] = (l);                          \
        (fr).n++;                                        \
    } while (0)

/* ---- lines --------------------------------------------------------------------------- */

static void test_lines_every_split(void **state) {
    (void)state;
    weft_lines_codec lc;
    assert_int_equal(weft_lines_codec_init(&lc, 16, 0), 0);
    const char *bytes = "hello\n\na\rb\n0123456789abcdef\ncrlf\r\n0123456789abcdef\r\nend\n";
    frames want = {0};
    FRAME(want, "hello", 5);
    FRAME(want, "", 0);
    FRAME(want, "a\rb", 3);
    FRAME(want, "0123456789abcdef", 16); /* exactly the maximum */
    FRAME(want, "crlf", 4);
    FRAME(want, "0123456789abcdef", 16); /* the maximum, with "\r\n" */
    FRAME(want, "end", 3);
    every_split((const unsigned char *)bytes, strlen(bytes), &lc.codec, &want, 0, 0);
}

static void test_lines_too_long(void **state) {
    (void)state;
    weft_lines_codec lc;
    assert_int_equal(weft_lines_codec_init(&lc, 8, 0), 0);
    frames want = {0};
    FRAME(want, "ok", 2);
    /* A line of 9 with its ending, split everywhere. */
    every_split((const unsigned char *)"ok\n123456789\n", 13, &lc.codec, &want, 0, -EMSGSIZE);
    /* Detected before its end: 9 bytes without "\n", and the stream waits
     * (for good) before anything else. */
    {
        script sc;
        size_t chunks[3] = {3, 9, STALL};
        script_init(&sc, "ok\n123456789 and more", 22, chunks, 3);
        weft_framed_reader r;
        assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &lc.codec, 0), 0);
        weft_framed_read f;
        drive(weft_framed_read_init(&f, &r));
        assert_int_equal(f.result, 1);
        assert_true(drive_at_most(weft_framed_read_init(&f, &r), 100));
        assert_int_equal(f.result, -EMSGSIZE);
        drive(weft_framed_read_init(&f, &r));
        assert_int_equal(f.result, -EMSGSIZE); /* kept */
        weft_framed_reader_destroy(&r);
        /* 8 bytes and a "\r": not decided, the read waits. */
        size_t chunks2[3] = {3, 9, STALL};
        script_init(&sc, "ok\n12345678\r\n", 13, chunks2, 3);
        assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &lc.codec, 0), 0);
        drive(weft_framed_read_init(&f, &r));
        assert_false(drive_at_most(weft_framed_read_init(&f, &r), 100));
        weft_future_drop(&f.base);
        weft_framed_reader_destroy(&r);
    }
    /* "12345678\r" is not too long yet: its "\r\n" may be coming. */
    frames want2 = {0};
    FRAME(want2, "12345678", 8);
    every_split((const unsigned char *)"12345678\r\n", 10, &lc.codec, &want2, 0, 0);
}

static void test_lines_truncated_and_reset(void **state) {
    (void)state;
    weft_lines_codec lc, fin;
    assert_int_equal(weft_lines_codec_init(&lc, 64, 0), 0);
    assert_int_equal(weft_lines_codec_init(&fin, 64, WEFT_LINES_FINAL_UNTERMINATED), 0);
    frames one = {0};
    FRAME(one, "one", 3);
    every_split((const unsigned char *)"one\ntwo", 7, &lc.codec, &one, 0, -WEFT_ETRUNCATED);
    every_split((const unsigned char *)"one\ntwo", 7, &lc.codec, &one, -ECONNRESET, -ECONNRESET);
    every_split((const unsigned char *)"one\n", 4, &lc.codec, &one, 0, 0);
    every_split((const unsigned char *)"one\n", 4, &lc.codec, &one, -ECONNRESET, -ECONNRESET);
    frames two = one;
    FRAME(two, "two", 3);
    every_split((const unsigned char *)"one\ntwo", 7, &fin.codec, &two, 0, 0);
    every_split((const unsigned char *)"one\ntwo\r", 8, &fin.codec, &two, 0, 0);
}

/* ---- length-prefixed -------------------------------------------------------------------- */

static size_t put_header(unsigned char *p, uint64_t v, unsigned width, weft_byte_order order) {
    for (unsigned i = 0; i < width; i++) {
        unsigned k = order == WEFT_BIG_ENDIAN ? width - 1 - i : i;
        p[k] = (unsigned char)(v >> (8 * i));
    }
    return width;
}

static void test_length_every_split(void **state) {
    (void)state;
    static unsigned char payload[1200], bytes[4096];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = pattern(3, i);
    unsigned widths[] = {1, 2, 4, 8};
    for (int wi = 0; wi < 4; wi++) {
        for (int order = 0; order < 2; order++) {
            unsigned w = widths[wi];
            uint64_t max = w == 1 ? 255 : 1000;
            weft_length_codec lc;
            assert_int_equal(weft_length_codec_init(&lc, w, (weft_byte_order)order, max), 0);
            size_t sizes[] = {0, 1, 5, 255, (size_t)max};
            frames want = {0};
            size_t total = 0;
            for (int k = 0; k < 5; k++) {
                total += put_header(bytes + total, sizes[k], w, (weft_byte_order)order);
                memcpy(bytes + total, payload + k, sizes[k]);
                FRAME(want, payload + k, sizes[k]);
                total += sizes[k];
            }
            every_split(bytes, total, &lc.codec, &want, 0, 0);
            /* Truncated in the payload, in the header; a reset. */
            want.n = 4;
            every_split(bytes, total - 1, &lc.codec, &want, 0, -WEFT_ETRUNCATED);
            if (w > 1) every_split(bytes, total - sizes[4] - w + 1, &lc.codec, &want, 0, -WEFT_ETRUNCATED);
            every_split(bytes, total - 7, &lc.codec, &want, -ECONNRESET, -ECONNRESET);
            every_split(bytes, total - sizes[4] - w, &lc.codec, &want, 0, 0); /* between frames: clean */
        }
    }
}

static void test_length_too_long(void **state) {
    (void)state;
    weft_length_codec lc;
    assert_int_equal(weft_length_codec_init(&lc, 4, WEFT_BIG_ENDIAN, 100), 0);
    unsigned char bytes[8];
    put_header(bytes, 101, 4, WEFT_BIG_ENDIAN);
    /* Only the header has come, and the stream waits: -EMSGSIZE at once,
     * with nothing of the payload buffered. */
    size_t chunks[2] = {4, STALL};
    script sc;
    script_init(&sc, bytes, 8, chunks, 2);
    weft_framed_reader r;
    assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &lc.codec, 0), 0);
    weft_framed_read f;
    assert_true(drive_at_most(weft_framed_read_init(&f, &r), 100));
    assert_int_equal(f.result, -EMSGSIZE);
    assert_int_equal(sc.pos, 4);
    weft_framed_reader_destroy(&r);
    /* A width caps the maximum: 1 byte says at most 255. */
    weft_length_codec one;
    assert_int_equal(weft_length_codec_init(&one, 1, WEFT_LITTLE_ENDIAN, 1000000), 0);
    assert_int_equal(one.max_frame, 255);
    /* Bad parameters. */
    assert_int_equal(weft_length_codec_init(&one, 3, WEFT_BIG_ENDIAN, 10), -EINVAL);
    assert_int_equal(weft_length_codec_init(&one, 4, (weft_byte_order)7, 10), -EINVAL);
    assert_int_equal(weft_length_codec_init(&one, 4, WEFT_BIG_ENDIAN, 0), -EINVAL);
    assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &one.codec, 0), -EINVAL); /* unusable */
    weft_lines_codec bad;
    assert_int_equal(weft_lines_codec_init(&bad, 0, 0), -EINVAL);
    assert_int_equal(weft_lines_codec_init(&bad, 10, 1u << 7), -EINVAL);
}

/* ---- frames larger than the first buffer ------------------------------------------------------ */

static void test_reader_growth(void **state) {
    (void)state;
    size_t sizes[] = {100000, 5, 300000, 1, 0, 70000};
    size_t total = 0;
    for (int k = 0; k < 6; k++) total += 4 + sizes[k];
    unsigned char *bytes = malloc(total);
    frames want = {0};
    size_t at = 0;
    for (int k = 0; k < 6; k++) {
        at += put_header(bytes + at, sizes[k], 4, WEFT_BIG_ENDIAN);
        for (size_t i = 0; i < sizes[k]; i++) bytes[at + i] = pattern((uint32_t)k, i);
        FRAME(want, bytes + at, sizes[k]);
        at += sizes[k];
    }
    weft_length_codec lc;
    assert_int_equal(weft_length_codec_init(&lc, 4, WEFT_BIG_ENDIAN, 1u << 20), 0);
    size_t odd[] = {777, 4099, 1, 3, 65537, 2, 100003, 9, 0, 12345, 1, 1, 1, 99991};
    for (int pend = 0; pend < 2; pend++) {
        script sc;
        script_init(&sc, bytes, total, odd, sizeof odd / sizeof odd[0]);
        sc.pend = pend;
        weft_framed_reader r;
        assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &lc.codec, 0), 0);
        weft_framed_read f;
        for (size_t i = 0; i < want.n; i++) {
            drive(weft_framed_read_init(&f, &r));
            assert_int_equal(f.result, 1);
            assert_int_equal(f.len, want.len[i]);
            if (f.len) assert_memory_equal(f.data, want.p[i], f.len);
        }
        drive(weft_framed_read_init(&f, &r));
        assert_int_equal(f.result, 0);
        /* It grew to about the largest frame, not to everything read. */
        assert_true(r.cap >= 300004);
        assert_true(r.cap <= 2 * 300004 + 8192);
        weft_framed_reader_destroy(&r);
    }
    /* Lines longer than the first buffer (no length to announce them). */
    weft_lines_codec lines;
    assert_int_equal(weft_lines_codec_init(&lines, 50000, 0), 0);
    for (size_t i = 0; i < total; i++)
        if (bytes[i] == '\n') bytes[i] = ' ';
    size_t pos[] = {20000, 20001, 70000, 119999};
    for (int k = 0; k < 4; k++) bytes[pos[k]] = '\n';
    frames wl = {0};
    FRAME(wl, bytes, 20000);
    FRAME(wl, bytes + 20001, 0);
    FRAME(wl, bytes + 20002, 70000 - 20002);
    FRAME(wl, bytes + 70001, 119999 - 70001);
    script sc;
    script_init(&sc, bytes, 120000, odd, sizeof odd / sizeof odd[0]);
    expect_frames(&sc, &lines.codec, &wl, 0);
    free(bytes);
}

/* ---- a custom codec: netstrings ("5:hello,") ------------------------------------------------ */

typedef struct netstring_codec {
    weft_codec codec;
    size_t max;
} netstring_codec;

static int ns_decode(const weft_codec *c, const unsigned char *buf, size_t len, size_t seen, bool eof,
                     weft_decoded *out) {
    (void)seen, (void)eof;
    const netstring_codec *nc = (const netstring_codec *)c;
    size_t n = 0, i = 0;
    for (; i < len && buf[i] != ':'; i++) {
        if (buf[i] < '0' || buf[i] > '9' || i > 9) return -EPROTO;
        n = n * 10 + (size_t)(buf[i] - '0');
    }
    if (n > nc->max) return -EMSGSIZE;
    if (i == len) return 0;
    if (i == 0) return -EPROTO;
    size_t total = i + 1 + n + 1;
    if (len < total) {
        out->need = total;
        return 0;
    }
    if (buf[total - 1] != ',') return -EPROTO;
    out->consumed = total;
    out->frame_off = i + 1;
    out->frame_len = n;
    return 1;
}

static ssize_t ns_max(const weft_codec *c, const void *p, size_t len) {
    (void)p;
    return len > ((const netstring_codec *)c)->max ? -EMSGSIZE : (ssize_t)(len + 12);
}

static ssize_t ns_encode(const weft_codec *c, const void *p, size_t len, unsigned char *dst) {
    (void)c;
    int h = sprintf((char *)dst, "%zu:", len);
    memcpy(dst + h, p, len);
    dst[h + (int)len] = ',';
    return h + (ssize_t)len + 1;
}

static const weft_codec_vtable ns_vtable = {"netstring", ns_decode, ns_max, ns_encode};

static void test_custom_codec(void **state) {
    (void)state;
    netstring_codec nc = {{&ns_vtable}, 20};
    frames want = {0};
    FRAME(want, "hello", 5);
    FRAME(want, "", 0);
    FRAME(want, "twelve bytes", 12);
    const char *ok = "5:hello,0:,12:twelve bytes,";
    every_split((const unsigned char *)ok, strlen(ok), &nc.codec, &want, 0, 0);
    want.n = 1;
    every_split((const unsigned char *)"5:hello,x:", 10, &nc.codec, &want, 0, -EPROTO);
    every_split((const unsigned char *)"5:hello,3:abc;", 14, &nc.codec, &want, 0, -EPROTO);
    every_split((const unsigned char *)"5:hello,21:", 11, &nc.codec, &want, 0, -EMSGSIZE);
    every_split((const unsigned char *)"5:hello,3:ab", 12, &nc.codec, &want, 0, -WEFT_ETRUNCATED);
}

static int never_decode(const weft_codec *c, const unsigned char *buf, size_t len, size_t seen, bool eof,
                        weft_decoded *out) {
    (void)c, (void)buf, (void)len, (void)seen, (void)eof, (void)out;
    return 0;
}

static void test_max_buffer(void **state) {
    (void)state;
    static const weft_codec_vtable vt = {"never", never_decode, NULL, NULL};
    weft_codec never = {&vt};
    static unsigned char bytes[100000];
    script sc;
    script_init(&sc, bytes, sizeof bytes, NULL, 0);
    weft_framed_reader r;
    assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &never, 20000), 0);
    weft_framed_read f;
    drive(weft_framed_read_init(&f, &r));
    assert_int_equal(f.result, -EMSGSIZE);
    assert_true(weft_framed_reader_buffered(&r) <= 20000);
    assert_true(r.cap <= 20000);
    weft_framed_reader_destroy(&r);
    /* A writer needs an encoder, a reader a decoder. */
    weft_framed_writer w;
    assert_int_equal(weft_framed_writer_init(&w, &sc.stream, &never, 0), -EINVAL);
    assert_int_equal(weft_framed_reader_init(&r, NULL, &never, 0), -EINVAL);
    assert_int_equal(weft_framed_reader_init(NULL, &sc.stream, &never, 0), -EINVAL);
    /* An empty (destroyed, or never initialised) reader or writer: -EBADF. */
    drive(weft_framed_read_init(&f, &r));
    assert_int_equal(f.result, -EBADF);
    weft_framed_write wf;
    drive(weft_framed_write_init(&wf, &w, "x", 1));
    assert_int_equal(wf.result, -EBADF);
    weft_framed_flush ff;
    drive(weft_framed_flush_init(&ff, &w));
    assert_int_equal(ff.result, -EBADF);
    weft_framed_reader_destroy(&r);
    weft_framed_writer_destroy(&w);
    weft_framed_writer_destroy(&w); /* again: nothing */
}

/* ---- the writer ----------------------------------------------------------------------------- */

static void test_writer_round_trip(void **state) {
    (void)state;
    weft_lines_codec lines, crlf;
    weft_length_codec len2;
    netstring_codec ns = {{&ns_vtable}, 5000};
    assert_int_equal(weft_lines_codec_init(&lines, 5000, 0), 0);
    assert_int_equal(weft_lines_codec_init(&crlf, 5000, WEFT_LINES_CRLF), 0);
    assert_int_equal(weft_length_codec_init(&len2, 2, WEFT_LITTLE_ENDIAN, 5000), 0);
    const weft_codec *codecs[] = {&lines.codec, &crlf.codec, &len2.codec, &ns.codec};
    static unsigned char payload[5100]; /* frames of up to 4999 bytes from offsets up to 7 */
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)('a' + i % 26);
    for (int ci = 0; ci < 4; ci++) {
        for (int pend = 0; pend < 2; pend++) {
            script out;
            script_init(&out, NULL, 0, NULL, 0);
            out.pend = pend;
            out.wmax = 333;
            weft_framed_writer w;
            assert_int_equal(weft_framed_writer_init(&w, &out.stream, codecs[ci], 1000), 0);
            frames want = {0};
            size_t sizes[] = {0, 1, 10, 999, 1000, 4999, 7, 3};
            weft_framed_write f;
            for (int k = 0; k < 8; k++) {
                drive(weft_framed_write_init(&f, &w, payload + k, sizes[k]));
                assert_int_equal(f.result, 0);
                FRAME(want, payload + k, sizes[k]);
                /* Never more than one frame over the mark is held back. */
                assert_true(weft_framed_writer_buffered(&w) <= 1000 + sizes[k] + 16);
            }
            size_t held = weft_framed_writer_buffered(&w);
            assert_true(held > 0); /* the last small frames wait for a flush */
            unsigned flushes = out.flushes;
            weft_framed_flush fl;
            drive(weft_framed_flush_init(&fl, &w));
            assert_int_equal(fl.result, 0);
            assert_int_equal(weft_framed_writer_buffered(&w), 0);
            assert_int_equal(out.flushes, flushes + 1);
            /* Read it all back. */
            script in;
            script_init(&in, out.out, out.out_len, NULL, 0);
            expect_frames(&in, codecs[ci], &want, 0);
            /* A send flushes by itself. */
            size_t before = out.out_len;
            drive(weft_framed_send_init(&f, &w, "zz", 2));
            assert_int_equal(f.result, 0);
            assert_true(f.accepted);
            assert_int_equal(weft_framed_writer_buffered(&w), 0);
            assert_true(out.out_len > before);
            weft_framed_writer_destroy(&w);
            free(out.out);
        }
    }
}

static void test_writer_errors_lose_nothing(void **state) {
    (void)state;
    weft_lines_codec lc;
    assert_int_equal(weft_lines_codec_init(&lc, 10, 0), 0);
    script out;
    script_init(&out, NULL, 0, NULL, 0);
    weft_framed_writer w;
    assert_int_equal(weft_framed_writer_init(&w, &out.stream, &lc.codec, 0), 0);
    weft_framed_write f;
    /* The codec refuses: nothing accepted. */
    drive(weft_framed_write_init(&f, &w, "a\nb", 3));
    assert_int_equal(f.result, -EINVAL);
    drive(weft_framed_write_init(&f, &w, "ab\r", 3));
    assert_int_equal(f.result, -EINVAL);
    drive(weft_framed_write_init(&f, &w, "01234567890", 11));
    assert_int_equal(f.result, -EMSGSIZE);
    assert_int_equal(weft_framed_writer_buffered(&w), 0);
    /* Frames accepted, then the stream fails halfway through the flush. */
    const char *lines[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++) {
        drive(weft_framed_write_init(&f, &w, lines[i], strlen(lines[i])));
        assert_int_equal(f.result, 0);
    }
    size_t total = weft_framed_writer_buffered(&w); /* "alpha\nbeta\ngamma\ndelta\n" */
    assert_int_equal(total, 23);
    out.write_error = -EPIPE;
    out.fail_at = 9;
    weft_framed_flush fl;
    drive(weft_framed_flush_init(&fl, &w));
    assert_int_equal(fl.result, -EPIPE);
    assert_int_equal(out.out_len, 9);
    assert_int_equal(weft_framed_writer_buffered(&w), total - 9); /* reported, kept */
    /* A write meanwhile fails the same way and accepts nothing... */
    weft_framed_writer_destroy(&w);
    /* ...or, on a writer that recovers, the rest goes out in order. */
    free(out.out);
    script_init(&out, NULL, 0, NULL, 0);
    assert_int_equal(weft_framed_writer_init(&w, &out.stream, &lc.codec, 0), 0);
    for (int i = 0; i < 4; i++) drive(weft_framed_write_init(&f, &w, lines[i], strlen(lines[i])));
    out.write_error = -EAGAIN;
    out.fail_at = 9;
    drive(weft_framed_flush_init(&fl, &w));
    assert_int_equal(fl.result, -EAGAIN);
    out.write_error = 0;
    drive(weft_framed_flush_init(&fl, &w));
    assert_int_equal(fl.result, 0);
    assert_int_equal(out.out_len, 23);
    assert_memory_equal(out.out, "alpha\nbeta\ngamma\ndelta\n", 23);
    /* A closed stream: the write fails at once, though it would only buffer. */
    out.closed = true;
    drive(weft_framed_write_init(&f, &w, "x", 1));
    assert_int_equal(f.result, -EBADF);
    assert_false(f.accepted);
    weft_framed_writer_destroy(&w);
    free(out.out);
}

/* ---- every future dropped mid-flight --------------------------------------------------------- */

static weft_poll poll_once(weft_future *f) {
    counting_waker cw = {0};
    weft_context cx = weft_context_make(counting_waker_get(&cw));
    return weft_future_poll(f, &cx);
}

static void test_dropped_mid_flight(void **state) {
    (void)state;
    weft_length_codec lc;
    assert_int_equal(weft_length_codec_init(&lc, 2, WEFT_BIG_ENDIAN, 100), 0);
    /* A read dropped with half a frame buffered: the next read has it all. */
    unsigned char bytes[] = {0, 5, 'h', 'e', 'l', 'l', 'o', 0, 1, '!'};
    size_t chunks[] = {4, 0, 0, 6};
    script sc;
    script_init(&sc, bytes, sizeof bytes, chunks, 4);
    weft_framed_reader r;
    assert_int_equal(weft_framed_reader_init(&r, &sc.stream, &lc.codec, 0), 0);
    weft_framed_read f;
    weft_framed_read_init(&f, &r);
    assert_int_equal(poll_once(&f.base), WEFT_PENDING);
    assert_int_equal(weft_framed_reader_buffered(&r), 4);
    weft_future_drop(&f.base);
    drive(weft_framed_read_init(&f, &r));
    assert_int_equal(f.result, 1);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.data, "hello", 5);
    drive(weft_framed_read_init(&f, &r));
    assert_int_equal(f.result, 1);
    assert_memory_equal(f.data, "!", 1);
    weft_framed_reader_destroy(&r);

    /* A write dropped while it waits for room: it accepted nothing. */
    script out;
    script_init(&out, NULL, 0, NULL, 0);
    out.pend = true;
    weft_framed_writer w;
    assert_int_equal(weft_framed_writer_init(&w, &out.stream, &lc.codec, 4), 0); /* a tiny mark */
    weft_framed_write wf;
    drive(weft_framed_write_init(&wf, &w, "first", 5)); /* 7 bytes, over the mark: buffered */
    assert_int_equal(weft_framed_writer_buffered(&w), 7);
    weft_framed_write_init(&wf, &w, "dropped", 7);
    assert_int_equal(poll_once(&wf.base), WEFT_PENDING); /* must drain "first" first */
    assert_false(wf.accepted);
    weft_future_drop(&wf.base);
    assert_int_equal(weft_framed_writer_buffered(&w), 7);
    /* A send dropped during its flush: accepted, and it goes out later. */
    weft_framed_send_init(&wf, &w, "kept", 4);
    while (!wf.accepted) assert_int_equal(poll_once(&wf.base), WEFT_PENDING);
    weft_future_drop(&wf.base);
    /* A flush dropped early. */
    weft_framed_flush fl;
    weft_framed_flush_init(&fl, &w);
    poll_once(&fl.base);
    weft_future_drop(&fl.base);
    drive(weft_framed_flush_init(&fl, &w));
    assert_int_equal(fl.result, 0);
    unsigned char want[] = {0, 5, 'f', 'i', 'r', 's', 't', 0, 4, 'k', 'e', 'p', 't'};
    assert_int_equal(out.out_len, sizeof want);
    assert_memory_equal(out.out, want, sizeof want);
    weft_framed_writer_destroy(&w);
    free(out.out);
}

/* ---- over sockets, on a runtime ------------------------------------------------------------------ */

typedef struct frame_echo {
    WEFT_CORO_FIELDS;
    const weft_codec *codec;
    weft_stream *s;
    weft_framed_reader r;
    weft_framed_writer w;
    weft_framed_read rd;
    weft_framed_write wr;
    weft_framed_flush fl;
    weft_flush sh;
    unsigned frames;
    int result;
} frame_echo;

/* Echoes frames back until a clean end, flushing when nothing more is buffered. */
WEFT_ASYNC(frame_echo, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_framed_reader_init(&self->r, self->s, self->codec, 0), 0);
    assert_int_equal(weft_framed_writer_init(&self->w, self->s, self->codec, 0), 0);
    for (;;) {
        if (weft_framed_reader_buffered(&self->r) == 0) {
            WEFT_AWAIT(weft_framed_flush_init(&self->fl, &self->w));
            if (self->fl.result) break;
        }
        WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
        if (self->rd.result <= 0) {
            self->result = self->rd.result;
            break;
        }
        self->frames++;
        WEFT_AWAIT(weft_framed_write_init(&self->wr, &self->w, self->rd.data, self->rd.len));
        assert_int_equal(self->wr.result, 0);
    }
    WEFT_AWAIT(weft_framed_flush_init(&self->fl, &self->w));
    WEFT_AWAIT(weft_shutdown_init(&self->sh, self->s));
    weft_framed_reader_destroy(&self->r);
    weft_framed_writer_destroy(&self->w);
    WEFT_END();
}

enum { NFRAMES = 3000 };

static size_t make_payload(uint64_t *seed, unsigned i, unsigned char *p, bool lines) {
    size_t len = (size_t)(rng_next(seed) % 2999);
    for (size_t k = 0; k < len; k++) {
        p[k] = pattern(i, k);
        if (lines && (p[k] == '\n' || p[k] == '\r')) p[k] = 'x';
    }
    return len;
}

typedef struct socket_case {
    WEFT_CORO_FIELDS;
    const weft_codec *codec;
    bool lines;
    tcp_pair tp;
    weft_tcp_stream t[2], rd_half, wr_half;
    frame_echo echo;
    unsigned echoed;
    weft_join_handle he;
    weft_framed_reader r;
    weft_framed_writer w;
    weft_framed_read rd;
    weft_framed_write wr;
    weft_framed_flush fl;
    weft_flush sh;
    uint64_t seed_w, seed_r;
    unsigned i, got;
    size_t len;
    unsigned char payload[3000];
} socket_case;

/* Checks the frame just read against the next expected one. */
static void check_echo(socket_case *self) {
    unsigned char want[3000];
    size_t len = make_payload(&self->seed_r, self->got, want, self->lines);
    assert_int_equal(self->rd.result, 1);
    assert_int_equal(self->rd.len, len);
    if (len) assert_memory_equal(self->rd.data, want, len);
    self->got++;
}

WEFT_ASYNC(socket_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
    assert_int_equal(self->tp.result, 0);
    frame_echo_start(&self->echo);
    self->echo.codec = self->codec;
    self->echo.s = &self->t[1].stream;
    self->he = WEFT_SPAWN(cx->runtime, &self->echo, frames, &self->echoed);
    /* The client writes through one half and reads through the other. */
    assert_int_equal(weft_tcp_stream_into_split(&self->t[0], &self->rd_half, &self->wr_half), 0);
    assert_int_equal(weft_framed_reader_init(&self->r, &self->rd_half.stream, self->codec, 0), 0);
    assert_int_equal(weft_framed_writer_init(&self->w, &self->wr_half.stream, self->codec, 0), 0);
    self->seed_w = self->seed_r = 12345;
    for (self->i = 0; self->i < NFRAMES; self->i++) {
        self->len = make_payload(&self->seed_w, self->i, self->payload, self->lines);
        WEFT_AWAIT(weft_framed_write_init(&self->wr, &self->w, self->payload, self->len));
        assert_int_equal(self->wr.result, 0);
        if (self->i % 50 == 49) {
            WEFT_AWAIT(weft_framed_flush_init(&self->fl, &self->w));
            assert_int_equal(self->fl.result, 0);
            while (self->got < self->i + 1) { /* what the echo answered */
                WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
                check_echo(self);
            }
        }
    }
    WEFT_AWAIT(weft_framed_flush_init(&self->fl, &self->w));
    WEFT_AWAIT(weft_shutdown_init(&self->sh, &self->wr_half.stream));
    while (self->got < NFRAMES) {
        WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
        check_echo(self);
    }
    WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
    assert_int_equal(self->rd.result, 0); /* the echo shut down after the last frame */
    WEFT_AWAIT(&self->he.base);
    assert_int_equal(self->echoed, NFRAMES);
    weft_framed_reader_destroy(&self->r);
    weft_framed_writer_destroy(&self->w);
    weft_tcp_stream_close(&self->rd_half);
    weft_tcp_stream_close(&self->wr_half);
    weft_tcp_stream_close(&self->t[1]);
    WEFT_END();
}

static void test_frames_over_tcp(void **state) {
    (void)state;
    int fds = fd_count();
    weft_lines_codec lines;
    weft_length_codec len4;
    assert_int_equal(weft_lines_codec_init(&lines, 3000, WEFT_LINES_CRLF), 0);
    assert_int_equal(weft_length_codec_init(&len4, 4, WEFT_BIG_ENDIAN, 3000), 0);
    for (int k = 0; k < 2; k++) {
        weft_runtime *rt = rt_new();
        socket_case *c = calloc(1, sizeof *c);
        socket_case_start(c);
        c->codec = k ? &len4.codec : &lines.codec;
        c->lines = k == 0;
        assert_int_equal(run_as_task(rt, c, sizeof *c), 0);
        free(c);
        weft_runtime_destroy(rt);
    }
    assert_int_equal(fd_count_settled(fds), fds);
}

/* A peer that vanishes in the middle of a frame: shut down (truncated) or reset. */
typedef struct vanish_case {
    WEFT_CORO_FIELDS;
    bool reset;
    const weft_codec *codec;
    tcp_pair tp;
    weft_tcp_stream t[2];
    weft_write_all wa;
    weft_framed_reader r;
    weft_framed_read rd;
} vanish_case;

WEFT_ASYNC(vanish_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(tcp_pair_init(&self->tp, &self->t[0], &self->t[1]));
    assert_int_equal(self->tp.result, 0);
    assert_int_equal(weft_framed_reader_init(&self->r, &self->t[1].stream, self->codec, 0), 0);
    /* One whole frame and half of the next (length-prefixed: 0,0,0,3,"abc", 0,0,0,9,"part"). */
    WEFT_AWAIT(weft_write_all_init(&self->wa, &self->t[0].stream, "\0\0\0\3abc\0\0\0\x09part", 15));
    WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
    assert_int_equal(self->rd.result, 1);
    assert_memory_equal(self->rd.data, "abc", 3);
    if (self->reset) {
        struct linger lg = {1, 0};
        setsockopt(weft_tcp_stream_fd(&self->t[0]), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        weft_tcp_stream_close(&self->t[0]);
    } else {
        assert_int_equal(weft_tcp_stream_shutdown(&self->t[0], SHUT_WR), 0);
    }
    WEFT_AWAIT(weft_framed_read_init(&self->rd, &self->r));
    assert_int_equal(self->rd.result, self->reset ? -ECONNRESET : -WEFT_ETRUNCATED);
    weft_framed_reader_destroy(&self->r);
    weft_tcp_stream_close(&self->t[0]);
    weft_tcp_stream_close(&self->t[1]);
    WEFT_END();
}

static void test_peer_vanishes_mid_frame(void **state) {
    (void)state;
    weft_length_codec len4;
    assert_int_equal(weft_length_codec_init(&len4, 4, WEFT_BIG_ENDIAN, 100), 0);
    for (int reset = 0; reset < 2; reset++) {
        weft_runtime *rt = rt_new();
        vanish_case c;
        vanish_case_start(&c);
        c.reset = reset;
        c.codec = &len4.codec;
        assert_int_equal(run_as_task(rt, &c, sizeof c), 0);
        weft_runtime_destroy(rt);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_every_split),
        cmocka_unit_test(test_lines_too_long),
        cmocka_unit_test(test_lines_truncated_and_reset),
        cmocka_unit_test(test_length_every_split),
        cmocka_unit_test(test_length_too_long),
        cmocka_unit_test(test_reader_growth),
        cmocka_unit_test(test_custom_codec),
        cmocka_unit_test(test_max_buffer),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_writer_errors_lose_nothing),
        cmocka_unit_test(test_dropped_mid_flight),
        cmocka_unit_test(test_frames_over_tcp),
        cmocka_unit_test(test_peer_vanishes_mid_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
