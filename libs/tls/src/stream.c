/*
 * TLS streams: weft_tls_stream as a weft_stream (poll_read, poll_readv,
 * poll_write, poll_writev, poll_flush, poll_shutdown), made and destroyed.
 *
 * Cancel-safety follows from where the bytes are between polls:
 *  - read: decrypted bytes not yet returned stay in OpenSSL's record
 *    buffer; a poll either copies bytes into the caller's buffer and is
 *    ready, or copies nothing and is pending.
 *  - write: a poll that is ready has encrypted its bytes into whole records
 *    in `out` (the BIO never refuses), which later calls hand to the inner
 *    stream; a poll that finds `out` still full is pending and encrypts
 *    nothing.
 *
 * The write side's waker. The inner stream has one waker slot per
 * direction. A write, flush or shutdown that waits for the inner stream
 * parks its task's waker in the inner write slot and says so
 * (writer_waiting, writer_waker). A read also pushes `out` on — so a
 * request written before the read for its answer always leaves — but only
 * when that cannot take the slot from a writer that waits in it: when no
 * writer waits, or the waiting writer is the reading task itself. When a
 * writer task later comes, it pushes `out` itself before anything else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"

/* Plaintext taken by one write: four full records, one inner write. */
#define WRITE_CHUNK (64 * 1024)

static inline weft__tls_conn *conn_of(weft_stream *s) { return ((weft_tls_stream *)s)->conn; }

/* The error every operation reports on a stream that is not open. */
static int not_open(const weft__tls_conn *c) {
    if (c->state == WEFT__TLS_OPEN) return c->fatal;
    if (c->state == WEFT__TLS_FAILED) return c->fatal ? c->fatal : -ENOTCONN;
    return -ENOTCONN; /* the handshake has not finished */
}

#define CHECK(c, out)                                          \
    do {                                                       \
        if (WEFT_UNLIKELY(!(c))) {                             \
            *(out) = -EBADF;                                   \
            return WEFT_READY;                                 \
        }                                                      \
        int bad_ = not_open(c);                                \
        if (WEFT_UNLIKELY(bad_)) {                             \
            *(out) = bad_;                                     \
            return WEFT_READY;                                 \
        }                                                      \
    } while (0)

static void writer_wait(weft__tls_conn *c, weft_context *cx) {
    c->writer_waiting = true;
    weft_waker_store(&c->writer_waker, &cx->waker);
}

static void writer_done(weft__tls_conn *c) {
    if (!c->writer_waiting) return;
    c->writer_waiting = false;
    weft_waker_drop(weft_waker_take(&c->writer_waker));
}

/* A failure of the connection as a whole: every later operation reports it. */
static int fail(weft__tls_conn *c, int err) {
    if (!c->fatal) c->fatal = err;
    return c->fatal;
}

/* ---- read ---------------------------------------------------------------------- */

/* Takes decrypted bytes OpenSSL already holds, without touching the inner
 * stream. Returns the count (0 if none). */
static size_t read_buffered(weft__tls_conn *c, unsigned char *buf, size_t len) {
    size_t got = 0;
    c->mode = 0;
    while (got < len && SSL_has_pending(c->ssl)) {
        size_t n;
        ERR_clear_error();
        if (SSL_read_ex(c->ssl, buf + got, len - got, &n) != 1) break;
        got += n;
    }
    ERR_clear_error(); /* a failure here is met again, and reported, by the next read */
    return got;
}

static weft_poll tls_poll_read(weft_stream *st, weft_context *cx, void *buf, size_t len,
                               ssize_t *res) {
    weft__tls_conn *c = conn_of(st);
    CHECK(c, res);
    if (c->read_eof) {
        *res = 0;
        return WEFT_READY;
    }
    if (len == 0) return c->inner->vt->poll_read(c->inner, cx, NULL, 0, res); /* a probe */
    /* Push on records a write left behind (see the top of this file). */
    if (weft__tls_out_pending(c) &&
        (!c->writer_waiting || weft_waker_will_wake(&c->writer_waker, &cx->waker)))
        (void)weft__tls_out_flush(c, cx);

    c->cx = cx;
    c->mode = WEFT__TLS_MAY_READ;
    c->read_blocked = false;
    c->io_err = 0;
    ERR_clear_error();
    size_t got;
    int r = SSL_read_ex(c->ssl, buf, len, &got);
    if (r == 1) {
        got += read_buffered(c, (unsigned char *)buf + got, len - got);
        c->mode = 0;
        *res = (ssize_t)got;
        return WEFT_READY;
    }
    c->mode = 0;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ && c->read_blocked) return WEFT_PENDING;
    if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify (or an allowed truncation) */
        c->read_eof = true;
        *res = 0;
        return WEFT_READY;
    }
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        weft__tls_set_detail(c, "internal: OpenSSL waits with nothing to wait for");
        *res = fail(c, -EPROTO);
        return WEFT_READY;
    }
    *res = fail(c, weft__tls_error(c, r, e, false));
    return WEFT_READY;
}

static weft_poll tls_poll_readv(weft_stream *st, weft_context *cx, const struct iovec *iov, int n,
                                ssize_t *res) {
    int i = 0;
    while (i < n && iov[i].iov_len == 0) i++;
    if (i == n) return tls_poll_read(st, cx, NULL, 0, res);
    weft_poll p = tls_poll_read(st, cx, iov[i].iov_base, iov[i].iov_len, res);
    if (p == WEFT_PENDING || *res < (ssize_t)iov[i].iov_len) return p;
    weft__tls_conn *c = conn_of(st);
    for (i++; i < n; i++) { /* fill the rest from what is already decrypted */
        size_t got = read_buffered(c, iov[i].iov_base, iov[i].iov_len);
        *res += (ssize_t)got;
        if (got < iov[i].iov_len) break;
    }
    return WEFT_READY;
}

/* ---- write --------------------------------------------------------------------- */

/* Checks and pushes before new plaintext is taken: ready with an error, or
 * pending while earlier records wait, or 0 to go on. */
static weft_poll write_prepare(weft__tls_conn *c, weft_context *cx, ssize_t *res) {
    if (c->write_err) {
        *res = c->write_err;
        return WEFT_READY;
    }
    if (c->shut_sent) {
        *res = -EPIPE;
        return WEFT_READY;
    }
    if (weft__tls_out_flush(c, cx) == WEFT_PENDING) {
        writer_wait(c, cx);
        return WEFT_PENDING;
    }
    writer_done(c);
    *res = c->write_err;
    return WEFT_READY;
}

/* Encrypts `len` bytes into records: queued in `out`, or, with `direct`,
 * offered to the inner stream first. 1 or an error. */
static int seal(weft__tls_conn *c, weft_context *cx, const void *buf, size_t len, bool direct) {
    size_t w;
    c->cx = cx;
    c->mode = direct ? WEFT__TLS_MAY_WRITE : 0;
    ERR_clear_error();
    int r = SSL_write_ex(c->ssl, buf, len, &w);
    c->mode = 0;
    if (r == 1) return 1;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        weft__tls_set_detail(c, "internal: OpenSSL waits with nothing to wait for");
        return fail(c, -EPROTO);
    }
    return fail(c, weft__tls_error(c, r, e, false));
}

/*
 * The start of a write: reserves one unit of the task's budget for the
 * hand-off after encrypting (so that a spent budget never leaves records
 * of a completed write behind: only a full inner stream does), then
 * pushes earlier records on. False: pending, nothing taken. True with
 * *res < 0: fails; with *res == 0: go on.
 */
static bool write_begin(weft__tls_conn *c, weft_context *cx, ssize_t *res) {
    if (!weft_coop_spend(cx)) return false; /* the task was woken */
    if (write_prepare(c, cx, res) == WEFT_PENDING) {
        cx->budget++; /* refunded: nothing was done */
        return false;
    }
    if (*res < 0) cx->budget++;
    return true;
}

/* After encrypting: hand the records on now, with the unit write_begin
 * reserved; what a full inner stream does not take goes with the next
 * write, flush, shutdown or read. */
static ssize_t write_finish(weft__tls_conn *c, weft_context *cx, size_t taken) {
    cx->budget++;
    (void)weft__tls_out_flush(c, cx);
    return c->write_err ? c->write_err : (ssize_t)taken;
}

/* A completed write costs the task at least one unit of budget, whatever
 * the units lent to its hand-offs came back as (`start`: the budget when
 * the write began, >= 1). */
static inline void write_charge(weft_context *cx, uint32_t start) {
    if (cx->budget > start - 1) cx->budget = start - 1;
}

static weft_poll tls_poll_write(weft_stream *st, weft_context *cx, const void *buf, size_t len,
                                ssize_t *res) {
    weft__tls_conn *c = conn_of(st);
    CHECK(c, res);
    if (len == 0) {
        if (c->write_err || c->shut_sent) {
            *res = c->write_err ? c->write_err : -EPIPE;
            return WEFT_READY;
        }
        return c->inner->vt->poll_write(c->inner, cx, NULL, 0, res); /* a probe */
    }
    uint32_t start = cx->budget;
    if (!write_begin(c, cx, res)) return WEFT_PENDING;
    if (*res < 0) return WEFT_READY;
    size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
    /* One record (TLS's largest is 16 KiB of plaintext): offered to the
     * inner stream directly, with the unit write_begin reserved. */
    bool direct = n <= SSL3_RT_MAX_PLAIN_LENGTH;
    if (direct) cx->budget++;
    int r = seal(c, cx, buf, n, direct);
    if (r < 0 && !direct) cx->budget++;
    if (r < 0) {
        *res = r;
        return WEFT_READY;
    }
    if (direct && !weft__tls_out_pending(c)) { /* all handed on */
        *res = c->write_err ? c->write_err : (ssize_t)n;
        write_charge(cx, start);
        return WEFT_READY;
    }
    /* Queued records (all of a large write; what a full inner stream did
     * not take of one record, or a second record OpenSSL slipped in, such
     * as a key update): hand them on now, with a unit of budget of their
     * own, so that only a full inner stream leaves records behind. */
    *res = write_finish(c, cx, n);
    write_charge(cx, start);
    return WEFT_READY;
}

static weft_poll tls_poll_writev(weft_stream *st, weft_context *cx, const struct iovec *iov, int n,
                                 ssize_t *res) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    if (total == 0) return tls_poll_write(st, cx, NULL, 0, res);
    weft__tls_conn *c = conn_of(st);
    CHECK(c, res);
    uint32_t start = cx->budget;
    if (!write_begin(c, cx, res)) return WEFT_PENDING;
    if (*res < 0) return WEFT_READY;
    size_t taken = 0;
    for (int i = 0; i < n && taken < WRITE_CHUNK; i++) {
        size_t k = iov[i].iov_len;
        if (k > WRITE_CHUNK - taken) k = WRITE_CHUNK - taken;
        if (k == 0) continue;
        int r = seal(c, cx, iov[i].iov_base, k, false);
        if (r < 0) {
            if (taken == 0) {
                cx->budget++;
                *res = r;
                return WEFT_READY;
            }
            break; /* report what was taken; the error comes with the next call */
        }
        taken += k;
    }
    *res = write_finish(c, cx, taken);
    write_charge(cx, start);
    return WEFT_READY;
}

static weft_poll tls_poll_flush(weft_stream *st, weft_context *cx, int *res) {
    weft__tls_conn *c = conn_of(st);
    CHECK(c, res);
    if (weft__tls_out_flush(c, cx) == WEFT_PENDING) {
        writer_wait(c, cx);
        return WEFT_PENDING;
    }
    if (c->write_err) {
        writer_done(c);
        *res = c->write_err;
        return WEFT_READY;
    }
    if (c->inner->vt->poll_flush(c->inner, cx, res) == WEFT_PENDING) {
        writer_wait(c, cx);
        return WEFT_PENDING;
    }
    writer_done(c);
    return WEFT_READY;
}

/* close_notify, then the inner stream's shutdown. Each step is recorded,
 * so a shutdown dropped half way resumes where it stopped. */
static weft_poll tls_poll_shutdown(weft_stream *st, weft_context *cx, int *res) {
    weft__tls_conn *c = conn_of(st);
    CHECK(c, res);
    if (!c->shut_sent && !c->write_err) {
        c->mode = 0;
        ERR_clear_error();
        int r = SSL_shutdown(c->ssl); /* queues close_notify; never waits for the peer's */
        if (r < 0) {
            int e = SSL_get_error(c->ssl, r);
            *res = fail(c, weft__tls_error(c, r, e, false));
            return WEFT_READY;
        }
        c->shut_sent = true;
    }
    if (weft__tls_out_flush(c, cx) == WEFT_PENDING) {
        writer_wait(c, cx);
        return WEFT_PENDING;
    }
    if (c->write_err) {
        writer_done(c);
        *res = c->write_err;
        return WEFT_READY;
    }
    if (!c->shut_done) {
        if (c->inner->vt->poll_shutdown(c->inner, cx, res) == WEFT_PENDING) {
            writer_wait(c, cx);
            return WEFT_PENDING;
        }
        if (*res < 0) {
            writer_done(c);
            return WEFT_READY;
        }
        c->shut_done = true;
    }
    writer_done(c);
    *res = 0;
    return WEFT_READY;
}

static const weft_stream_vtable tls_vtable = {
    .name = "weft_tls_stream",
    .flags = 0, /* one SSL object serves both directions: split takes its lock */
    .poll_read = tls_poll_read,
    .poll_readv = tls_poll_readv,
    .poll_write = tls_poll_write,
    .poll_writev = tls_poll_writev,
    .poll_flush = tls_poll_flush,
    .poll_shutdown = tls_poll_shutdown,
};

/* ---- making and destroying ------------------------------------------------------ */

static void conn_free(weft__tls_conn *c) {
    SSL_free(c->ssl); /* and its BIO */
    weft_waker_drop(weft_waker_take(&c->writer_waker));
    free(c->out);
    free(c->server_name);
    if (c->sni_ctx) weft_tls_context_destroy(c->sni_ctx);
    weft_tls_context_destroy(c->ctx);
    free(c);
}

static int stream_new(weft_tls_stream *s, weft_tls_context *ctx, weft_stream *inner,
                      weft_tls_role role, weft__tls_conn **out) {
    if (!s) return -EINVAL;
    s->stream.vt = &tls_vtable; /* an empty stream answers -EBADF */
    s->conn = NULL;
    if (!ctx || !inner || ctx->role != role) return -EINVAL;
    if (!inner->vt) return -EBADF;
    weft__tls_conn *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    weft__tls_context_ref(ctx);
    c->ctx = ctx;
    c->inner = inner;
    c->client = role == WEFT_TLS_CLIENT;
    ERR_clear_error();
    c->ssl = SSL_new(ctx->ctx);
    BIO *b = c->ssl ? weft__tls_bio_new(c) : NULL;
    if (!b) {
        ERR_clear_error();
        conn_free(c);
        return -ENOMEM;
    }
    SSL_set_bio(c->ssl, b, b);
    SSL_set_app_data(c->ssl, c);
    if (ctx->allow_truncation) SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    *out = c;
    return 0;
}

static bool is_ip(const char *name) {
    unsigned char a[16];
    return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

int weft_tls_stream_client(weft_tls_stream *s, weft_tls_context *ctx, weft_stream *inner,
                           const char *server_name) {
    if (ctx && ctx->role == WEFT_TLS_CLIENT && ctx->verify != WEFT_TLS_VERIFY_NONE && !server_name) {
        if (s) {
            s->stream.vt = &tls_vtable;
            s->conn = NULL;
        }
        return -EINVAL; /* verification needs the name to check */
    }
    weft__tls_conn *c;
    int err = stream_new(s, ctx, inner, WEFT_TLS_CLIENT, &c);
    if (err) return err;
    SSL_set_connect_state(c->ssl);
    if (server_name) {
        size_t n = strlen(server_name) + 1;
        c->server_name = malloc(n); /* (not strdup: its allocation is libc's own) */
        if (!c->server_name) goto nomem;
        memcpy(c->server_name, server_name, n);
        if (is_ip(server_name)) {
            /* An address: checked against the certificate's IP entries; no
             * SNI (RFC 6066 allows only DNS names there). */
            if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), server_name)) goto nomem;
        } else {
            if (!SSL_set_tlsext_host_name(c->ssl, server_name)) goto bad_name;
            SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (!SSL_set1_host(c->ssl, server_name)) goto bad_name;
        }
        SSL_SESSION *sess = weft__tls_session_get(ctx, server_name);
        if (sess) {
            SSL_set_session(c->ssl, sess);
            SSL_SESSION_free(sess);
        }
    }
    ERR_clear_error();
    s->conn = c;
    return 0;
bad_name:
    ERR_clear_error();
    conn_free(c);
    return -EINVAL;
nomem:
    ERR_clear_error();
    conn_free(c);
    return -ENOMEM;
}

int weft_tls_stream_server(weft_tls_stream *s, weft_tls_context *ctx, weft_stream *inner) {
    weft__tls_conn *c;
    int err = stream_new(s, ctx, inner, WEFT_TLS_SERVER, &c);
    if (err) return err;
    SSL_set_accept_state(c->ssl);
    s->conn = c;
    return 0;
}

void weft_tls_stream_destroy(weft_tls_stream *s) {
    if (!s || !s->conn) return;
    weft__tls_conn *c = s->conn;
    s->conn = NULL;
    conn_free(c);
}

/* ---- options and getters ---------------------------------------------------------- */

void weft_tls_stream_set_allow_truncation(weft_tls_stream *s, bool allow) {
    if (!s || !s->conn) return;
    if (allow)
        SSL_set_options(s->conn->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    else
        SSL_clear_options(s->conn->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

const char *weft_tls_stream_alpn(const weft_tls_stream *s) {
    if (!s || !s->conn || s->conn->state != WEFT__TLS_OPEN || !s->conn->alpn[0]) return NULL;
    return s->conn->alpn;
}

const char *weft_tls_stream_server_name(const weft_tls_stream *s) {
    if (!s || !s->conn) return NULL;
    if (s->conn->client) return s->conn->server_name;
    return SSL_get_servername(s->conn->ssl, TLSEXT_NAMETYPE_host_name);
}

const char *weft_tls_stream_version(const weft_tls_stream *s) {
    if (!s || !s->conn || s->conn->state != WEFT__TLS_OPEN) return NULL;
    return SSL_get_version(s->conn->ssl);
}

const char *weft_tls_stream_cipher(const weft_tls_stream *s) {
    if (!s || !s->conn || s->conn->state != WEFT__TLS_OPEN) return NULL;
    return SSL_get_cipher_name(s->conn->ssl);
}

bool weft_tls_stream_session_reused(const weft_tls_stream *s) {
    return s && s->conn && s->conn->state == WEFT__TLS_OPEN && SSL_session_reused(s->conn->ssl);
}

long weft_tls_stream_verify_result(const weft_tls_stream *s) {
    if (!s || !s->conn) return -1;
    return SSL_get_verify_result(s->conn->ssl);
}

const char *weft_tls_stream_error_detail(const weft_tls_stream *s) {
    return s && s->conn ? s->conn->detail : "";
}

struct ssl_st *weft_tls_stream_ssl(const weft_tls_stream *s) {
    return s && s->conn ? s->conn->ssl : NULL;
}
