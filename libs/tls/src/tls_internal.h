/*
 * weft-tls internals: the context, the per-stream connection state, the
 * BIO that joins an SSL object to the inner weft stream, and error
 * classification. Every global symbol here starts with weft__tls_.
 */
#ifndef WEFT_TLS_INTERNAL_H
#define WEFT_TLS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "weft/tls.h"

/* A client's saved session for one server name (the newest one wins). */
typedef struct weft__tls_session {
    struct weft__tls_session *next;
    SSL_SESSION *sess;
    uint64_t used; /* LRU clock */
    char name[];
} weft__tls_session;

struct weft_tls_context {
    SSL_CTX *ctx;
    _Atomic int refs;
    weft_tls_role role;
    weft_tls_verify verify;
    bool allow_truncation;
    bool resumption;
    unsigned char *alpn; /* wire format: length-prefixed names */
    size_t alpn_len;
    weft_tls_sni_fn sni;
    void *sni_arg;
    /* Client sessions by server name. */
    pthread_mutex_t lock;
    weft__tls_session *sessions;
    size_t nsessions, max_sessions;
    uint64_t clock;
};

/* States of a stream's handshake. */
enum {
    WEFT__TLS_NEW = 0,     /* made, handshake not started */
    WEFT__TLS_HANDSHAKING, /* a handshake future runs it */
    WEFT__TLS_OPEN,        /* established */
    WEFT__TLS_FAILED,      /* failed or dropped: `fatal` says why */
};

/* What the BIO may do with the inner stream during the current SSL call. */
enum {
    WEFT__TLS_MAY_READ = 1, /* pull ciphertext from the inner stream (reads, handshake) */
    /* hand records to the inner stream directly while nothing is queued
     * (a write of one record: saves copying it into `out`) */
    WEFT__TLS_MAY_WRITE = 2,
};

/*
 * The state behind a weft_tls_stream. Touched only by the task polling the
 * stream (one per direction, serialised by split's lock when split).
 *
 * Outgoing records: the BIO appends every record OpenSSL writes to `out`
 * (it never refuses, so SSL_write never half-completes); out_flush hands
 * `out` to the inner stream. A write of one record first offers it to the
 * inner stream directly, and queues only what that does not take. Incoming records: the BIO reads the inner
 * stream straight into OpenSSL's buffer, registering the polling task's
 * waker when there is nothing.
 */
typedef struct weft__tls_conn {
    SSL *ssl;
    weft_stream *inner;
    weft_tls_context *ctx;     /* reference */
    weft_tls_context *sni_ctx; /* reference to the context SNI chose, or NULL */
    weft_context *cx;          /* the context of the poll in progress (for the BIO) */
    unsigned mode;             /* WEFT__TLS_MAY_* for the SSL call in progress */
    int state;
    bool client;
    bool read_blocked; /* the BIO met a pending inner read in this call */
    bool eof;          /* the inner stream ended */
    bool read_eof;     /* close_notify read: reads return 0 */
    bool hs_done;      /* SSL_do_handshake succeeded; `out` still to flush */
    bool shut_sent;    /* close_notify queued */
    bool shut_done;    /* the inner stream's write side is shut */
    bool writer_waiting; /* a write-side operation waits for the inner stream */
    int io_err;    /* the inner stream's error, seen by the BIO in this call */
    int fatal;     /* sticky error for every operation */
    int write_err; /* sticky error for the write direction */
    weft_waker writer_waker; /* whose waker the inner write slot holds while writer_waiting */
    unsigned char *out;
    size_t out_pos, out_len, out_cap;
    char *server_name;
    char alpn[256];
    char detail[256];
} weft__tls_conn;

/* ---- bio.c ---- */
BIO *weft__tls_bio_new(weft__tls_conn *c);
/* Hands `out` to the inner stream: READY when it is empty (or the write
 * direction failed: write_err), PENDING when the inner stream is full. */
weft_poll weft__tls_out_flush(weft__tls_conn *c, weft_context *cx);
static inline bool weft__tls_out_pending(const weft__tls_conn *c) { return c->out_pos < c->out_len; }

/* ---- error.c ---- */
/* Classifies the failure of an SSL call that returned `ret` (after
 * SSL_get_error gave `sslerr`), records OpenSSL's description in
 * c->detail, and returns the weft error. `handshake`: during the handshake. */
int weft__tls_error(weft__tls_conn *c, int ret, int sslerr, bool handshake);
/* Copies OpenSSL's description of the newest queued error into buf. */
void weft__tls_describe(char *buf, size_t cap, const char *prefix);
/* Sets c->detail. */
void weft__tls_set_detail(weft__tls_conn *c, const char *text);

/* ---- context.c ---- */
void weft__tls_context_ref(weft_tls_context *ctx);
/* Looks up a saved session for `name` (a new reference) or NULL. */
SSL_SESSION *weft__tls_session_get(weft_tls_context *ctx, const char *name);

#endif
