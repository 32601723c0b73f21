/*
 * The handshake future, and its fiber-style call.
 *
 * Each poll hands on what OpenSSL has queued (our flight must reach the
 * peer before its answer can come), then steps SSL_do_handshake with the
 * BIO allowed to read the inner stream. WANT_READ with the inner read pending
 * means the task's waker sits in the inner read slot (and, while `out`
 * is not yet handed on, in the write slot): pending. Success is reported
 * only once the last flight is handed on, so a server whose peer waits for
 * its Finished never sits on it. A failure is reported once our alert
 * (OpenSSL queues one for most failures) is handed on, so the peer learns
 * why.
 */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>

#include "weft/fiber.h"
#include "tls_internal.h"

static void open_stream(weft__tls_conn *c) {
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    if (p && len < sizeof c->alpn) {
        memcpy(c->alpn, p, len);
        c->alpn[len] = 0;
    }
    c->state = WEFT__TLS_OPEN;
}

static void hs_fail(weft__tls_conn *c, int err) {
    if (!c->fatal) c->fatal = err;
    c->state = WEFT__TLS_FAILED;
}

static weft_poll hs_poll(weft_future *f, weft_context *cx) {
    weft_tls_handshake *h = (weft_tls_handshake *)f;
    weft__tls_conn *c = h->s ? h->s->conn : NULL;
    if (!c) {
        h->result = h->s ? -EBADF : -EINVAL;
        return WEFT_READY;
    }
    if (c->state == WEFT__TLS_OPEN) {
        h->result = 0;
        return WEFT_READY;
    }
    if (c->state == WEFT__TLS_NEW) {
        c->state = WEFT__TLS_HANDSHAKING;
        h->started = true;
    } else if (c->state == WEFT__TLS_FAILED && !h->started) {
        h->result = c->fatal;
        return WEFT_READY;
    }
    for (;;) {
        if (c->state == WEFT__TLS_FAILED) { /* decided: let our alert go, then report */
            if (weft__tls_out_flush(c, cx) == WEFT_PENDING) return WEFT_PENDING;
            h->result = c->fatal;
            return WEFT_READY;
        }
        bool sending = weft__tls_out_flush(c, cx) == WEFT_PENDING;
        if (c->write_err) {
            weft__tls_set_detail(c, "the underlying stream failed while sending the handshake");
            hs_fail(c, c->write_err);
            continue;
        }
        if (c->hs_done) {
            if (sending) return WEFT_PENDING;
            open_stream(c);
            h->result = 0;
            return WEFT_READY;
        }
        c->cx = cx;
        c->mode = WEFT__TLS_MAY_READ;
        c->read_blocked = false;
        c->io_err = 0;
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        c->mode = 0;
        if (r == 1) {
            c->hs_done = true; /* flushed at the top of the loop */
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ && c->read_blocked) {
            if (weft__tls_out_flush(c, cx) == WEFT_PENDING || !c->write_err) return WEFT_PENDING;
            continue; /* the write side died: reported at the top */
        }
        int err;
        if (e == SSL_ERROR_ZERO_RETURN) {
            weft__tls_set_detail(c, "the peer closed the connection during the handshake");
            err = -ECONNRESET;
        } else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            weft__tls_set_detail(c, "internal: OpenSSL waits with nothing to wait for");
            err = -EPROTO;
        } else {
            err = weft__tls_error(c, r, e, true);
        }
        ERR_clear_error();
        hs_fail(c, err);
    }
}

/* A handshake dropped before it finished leaves the stream unusable: the
 * peer is somewhere in the middle of it. */
static void hs_drop(weft_future *f) {
    weft_tls_handshake *h = (weft_tls_handshake *)f;
    weft__tls_conn *c = h->started && h->s ? h->s->conn : NULL;
    if (!c || c->state != WEFT__TLS_HANDSHAKING) return;
    weft__tls_set_detail(c, "the handshake was cancelled");
    hs_fail(c, -ECANCELED);
}

static const weft_future_vtable hs_vtable = {hs_poll, hs_drop, "weft_tls_handshake"};

weft_future *weft_tls_handshake_init(weft_tls_handshake *f, weft_tls_stream *s) {
    weft_future_init(&f->base, &hs_vtable);
    f->s = s;
    f->started = false;
    f->result = 0;
    return &f->base;
}

int weft_fiber_tls_handshake(weft_tls_stream *s) {
    weft_tls_handshake f;
    int rc = weft_await(weft_tls_handshake_init(&f, s));
    return rc ? rc : f.result;
}
