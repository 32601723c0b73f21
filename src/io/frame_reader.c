/*
 * The framed reader: one growable buffer, buf[pos..end) read and not yet
 * returned. A read asks the codec about the buffered bytes; when it needs
 * more it makes room (moves the rest to the front, or doubles the buffer,
 * or grows it to what a length prefix announced) and reads from the
 * stream straight into the buffer. A frame is returned as a view into the
 * buffer; its bytes are consumed at once, but stay in place until the next
 * read moves things.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft/error.h"
#include "weft/frame.h"

#define FIRST_BUF 8192
#define MIN_READ 4096 /* room worth a read system call */

int weft_framed_reader_init(weft_framed_reader *r, weft_stream *s, const weft_codec *codec,
                            size_t max_buffer) {
    if (!r) return -EINVAL;
    memset(r, 0, sizeof *r);
    if (!s || !codec || !codec->vt || !codec->vt->decode) return -EINVAL;
    r->s = s;
    r->codec = codec;
    r->max_buffer = max_buffer;
    return 0;
}

void weft_framed_reader_destroy(weft_framed_reader *r) {
    if (!r) return;
    free(r->buf);
    memset(r, 0, sizeof *r);
}

size_t weft_framed_reader_buffered(const weft_framed_reader *r) { return r ? r->end - r->pos : 0; }

/*
 * Makes room before a read from the stream: the buffer must be able to
 * hold `need` bytes in all (what the codec asked for; 0 if it does not
 * know) or at least one more than it holds, with room behind them for a
 * read worth a system call. In order: read behind what is held; move it to
 * the front; grow (doubling, or to `need` at once). 0, -EMSGSIZE (over
 * max_buffer) or -ENOMEM.
 */
static int make_room(weft_framed_reader *r, size_t need) {
    size_t have = r->end - r->pos;
    size_t want = need > have ? need : have + 1;
    if (r->max_buffer && want > r->max_buffer) return -EMSGSIZE;
    size_t tail = want - have < MIN_READ ? want - have : MIN_READ;
    if (r->cap - r->pos >= want && r->cap - r->end >= tail) return 0;
    if (r->cap < want || r->cap - have < tail) {
        size_t cap = r->cap ? r->cap : FIRST_BUF;
        while (cap < want || cap - have < tail) {
            if (cap > SIZE_MAX / 2) {
                cap = want;
                break;
            }
            cap *= 2;
        }
        if (r->max_buffer && cap > r->max_buffer) cap = r->max_buffer; /* still >= want */
        if (cap > r->cap) {
            unsigned char *nb = malloc(cap);
            if (!nb) return -ENOMEM;
            if (have) memcpy(nb, r->buf + r->pos, have);
            free(r->buf);
            r->buf = nb;
            r->cap = cap;
            r->pos = 0;
            r->end = have;
            return 0;
        }
    }
    memmove(r->buf, r->buf + r->pos, have);
    r->pos = 0;
    r->end = have;
    return 0;
}

static weft_poll read_ready(weft_framed_read *f, int result) {
    f->result = result;
    return WEFT_READY;
}

static weft_poll framed_read_poll(weft_future *fut, weft_context *cx) {
    weft_framed_read *f = (weft_framed_read *)fut;
    weft_framed_reader *r = f->r;
    if (WEFT_UNLIKELY(!r)) return read_ready(f, -EINVAL);
    if (WEFT_UNLIKELY(!r->codec || !r->s || !r->s->vt)) return read_ready(f, -EBADF);
    if (r->error) return read_ready(f, r->error);
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    /* Serving from the buffer: fail as the stream would if it was closed. */
    if (r->end > r->pos) {
        ssize_t probe = 0;
        if (r->s->vt->poll_read(r->s, cx, NULL, 0, &probe) == WEFT_READY && probe < 0)
            return read_ready(f, (int)probe);
    }
    for (;;) {
        size_t have = r->end - r->pos;
        weft_decoded d = {0, 0, 0, 0};
        if (have > r->seen || (r->eof && !r->decoded_eof)) {
            if (r->eof) r->decoded_eof = true;
            if (have == 0) return read_ready(f, 0); /* the end, between frames */
            int rc = r->codec->vt->decode(r->codec, r->buf + r->pos, have, r->seen, r->eof, &d);
            if (rc < 0) return read_ready(f, r->error = rc);
            if (rc > 0) {
                if (d.consumed == 0 || d.consumed > have || d.frame_off > d.consumed ||
                    d.frame_len > d.consumed - d.frame_off)
                    return read_ready(f, r->error = -EPROTO); /* a decoder out of bounds */
                f->data = r->buf + r->pos + d.frame_off;
                f->len = d.frame_len;
                r->pos += d.consumed;
                r->seen = 0;
                if (r->pos == r->end) r->pos = r->end = 0; /* the view stays valid: no write until the next read */
                return read_ready(f, 1);
            }
            r->seen = have;
            if (r->eof) return read_ready(f, r->error = -WEFT_ETRUNCATED);
        } else if (r->eof) {
            if (have == 0) return read_ready(f, 0);
            return read_ready(f, r->error = -WEFT_ETRUNCATED);
        }
        int err = make_room(r, d.need);
        if (err) {
            if (err == -EMSGSIZE) r->error = err;
            return read_ready(f, err);
        }
        ssize_t n;
        if (r->s->vt->poll_read(r->s, cx, r->buf + r->end, r->cap - r->end, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) return read_ready(f, (int)n);
        if (n == 0) r->eof = true;
        else r->end += (size_t)n;
    }
}

static const weft_future_vtable framed_read_vtable = {framed_read_poll, NULL, "weft_framed_read"};

weft_future *weft_framed_read_init(weft_framed_read *f, weft_framed_reader *r) {
    weft_future_init(&f->base, &framed_read_vtable);
    f->r = r;
    f->data = NULL;
    f->len = 0;
    f->result = 0;
    return &f->base;
}
