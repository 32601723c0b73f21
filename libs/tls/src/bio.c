/*
 * The BIO between an SSL object and the inner weft stream.
 *
 * Reads go straight from the inner stream into OpenSSL's record buffer:
 * when the inner stream has nothing, its poll_read has registered the
 * polling task's waker, and the BIO answers "retry", which OpenSSL turns
 * into SSL_ERROR_WANT_READ and the stream into WEFT_PENDING. Only the
 * operations that may wait for the peer's bytes (reads, the handshake) let
 * the BIO touch the inner stream's read side: a write must never put its
 * task's waker in the reader's slot (split halves are two tasks).
 *
 * Writes never fail or wait inside OpenSSL: every record is appended to
 * the connection's `out` buffer and handed on by weft__tls_out_flush
 * afterwards. So SSL_write always completes — the record is whole in
 * `out` — and never needs the "retry with the same buffer" dance that
 * would break the weft_stream contract (a pending write takes nothing) and
 * cancel-safety. It also gathers the records of a large write into one
 * inner write. A write of one record (WEFT__TLS_MAY_WRITE) offers it to
 * the inner stream first, while nothing is queued, and queues only what
 * the inner stream does not take: one copy fewer for the common case.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "tls_internal.h"

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, size_t len, size_t *got) {
    weft__tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *got = 0;
    if (!(c->mode & WEFT__TLS_MAY_READ)) {
        BIO_set_retry_read(b);
        return 0;
    }
    ssize_t n;
    if (c->inner->vt->poll_read(c->inner, c->cx, buf, len, &n) == WEFT_PENDING) {
        c->read_blocked = true;
        BIO_set_retry_read(b);
        return 0;
    }
    if (n > 0) {
        *got = (size_t)n;
        return 1;
    }
    if (n == 0)
        c->eof = true; /* BIO_eof now says so; OpenSSL decides what it means */
    else
        c->io_err = (int)n;
    return 0;
}

/* Makes room for `need` more bytes at the end of `out`. */
static int out_reserve(weft__tls_conn *c, size_t need) {
    if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
    if (c->out_cap - c->out_len >= need) return 0;
    if (c->out_pos > 0) { /* slide what is left to the front first */
        memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
        c->out_len -= c->out_pos;
        c->out_pos = 0;
        if (c->out_cap - c->out_len >= need) return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap - c->out_len < need) cap *= 2;
    unsigned char *p = realloc(c->out, cap);
    if (!p) return -ENOMEM;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

static int bio_write(BIO *b, const char *buf, size_t len, size_t *written) {
    weft__tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *written = len;
    /* A single-record write with nothing queued before it: offer the
     * record to the inner stream at once (the writer's waker is the one
     * its write slot may keep), and queue only the rest. */
    if ((c->mode & WEFT__TLS_MAY_WRITE) && c->out_pos == c->out_len && !c->write_err) {
        ssize_t n;
        if (c->inner->vt->poll_write(c->inner, c->cx, buf, len, &n) == WEFT_READY) {
            if (n <= 0) {
                c->write_err = n < 0 ? (int)n : -EPIPE;
                return 1;
            }
            buf += n;
            len -= (size_t)n;
        }
        if (len == 0) return 1;
    }
    /* Never refused: a record OpenSSL has made is either queued whole, or
     * the write direction is dead (write_err) and every later write
     * reports it. Refusing would leave OpenSSL half way through a record. */
    if (!c->write_err && out_reserve(c, len) == 0) {
        memcpy(c->out + c->out_len, buf, len);
        c->out_len += len;
    } else if (!c->write_err) {
        c->write_err = -ENOMEM;
    }
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num, (void)ptr;
    weft__tls_conn *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* the stream flushes `out` itself after every SSL call */
    case BIO_CTRL_EOF:
        return c && c->eof;
    default:
        return 0;
    }
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b) {
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_method_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft_stream");
    if (!m) return;
    if (!BIO_meth_set_read_ex(m, bio_read) || !BIO_meth_set_write_ex(m, bio_write) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m; /* kept for the life of the process */
}

BIO *weft__tls_bio_new(weft__tls_conn *c) {
    pthread_once(&bio_once, bio_method_init);
    if (!bio_method) return NULL;
    BIO *b = BIO_new(bio_method);
    if (b) BIO_set_data(b, c);
    return b;
}

weft_poll weft__tls_out_flush(weft__tls_conn *c, weft_context *cx) {
    while (c->out_pos < c->out_len) {
        if (c->write_err) break;
        ssize_t n;
        if (c->inner->vt->poll_write(c->inner, cx, c->out + c->out_pos, c->out_len - c->out_pos,
                                     &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n <= 0) {
            c->write_err = n < 0 ? (int)n : -EPIPE;
            break;
        }
        c->out_pos += (size_t)n;
    }
    c->out_pos = c->out_len = 0; /* sent, or lost with the dead write direction */
    return WEFT_READY;
}
