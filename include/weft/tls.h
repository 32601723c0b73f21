/**
 * @file
 * weft/tls.h — TLS client and server streams over any weft stream
 * (library weft-tls: `pkg-config weft-tls`, CMake `weft::tls`; built on
 * OpenSSL 3). See docs/tls.md.
 *
 *     weft_tls_context *ctx;
 *     weft_tls_context_create(&ctx, WEFT_TLS_CLIENT, NULL);  // system CAs, verification on
 *     ...                                                     // connect a weft_tcp_stream tcp
 *     weft_tls_stream tls;
 *     weft_tls_stream_client(&tls, ctx, &tcp.stream, "example.com");
 *     WEFT_AWAIT(weft_tls_handshake_init(&self->hs, &tls));   // hs.result: 0 or an error
 *     WEFT_AWAIT(weft_write_all_init(&self->wa, &tls.stream, req, len));
 *     WEFT_AWAIT(weft_flush_init(&self->fl, &tls.stream));
 *     WEFT_AWAIT(weft_read_init(&self->rd, &tls.stream, buf, sizeof buf));
 *
 * A TLS stream is an ordinary weft_stream: every helper of weft/io.h (read,
 * read_exact, write_all, copy, the buffered reader and writer, split) and
 * every fiber call works over it. It is layered over another stream — TCP,
 * Unix, a split half, another TLS stream — that it does not own: the inner
 * stream must stay where it is (not move) and outlive the TLS stream, and
 * you close it yourself after destroying the TLS stream.
 *
 * The contract (the byte-stream contract of weft/io.h, and):
 *
 *  - Reads: bytes decrypted but not yet returned stay in the stream, so a
 *    dropped read loses nothing. After the peer's close_notify a read
 *    returns 0 (end of stream). A connection that ends without close_notify
 *    is truncated — an attacker could have cut it short — and a read then
 *    fails with -WEFT_ETLS_TRUNCATED, unless truncation is allowed
 *    (weft_tls_options.allow_truncation, weft_tls_stream_set_allow_truncation),
 *    when it reads as end of stream.
 *  - Writes: a write that is ready took its bytes: they are encrypted into
 *    whole records, and what the inner stream could not take at once waits
 *    in the stream (at most one write's worth: a write waits, having taken
 *    nothing, until earlier records are handed on). The records are pushed
 *    on by the next write, by a flush, by a shutdown, and by a read (so a
 *    request written before a read for its answer is always sent). A
 *    dropped pending write took nothing.
 *  - Shutdown (weft_shutdown_init) sends close_notify, then shuts the inner
 *    stream's write direction (TCP sends FIN). Reading goes on (the peer
 *    may still answer); writing after it is -EPIPE.
 *  - The handshake is a future of its own, run once before any read or
 *    write (they fail with -ENOTCONN until it succeeded). A handshake that
 *    fails, or that is dropped before it finished (say by weft_timeout),
 *    leaves a stream whose every operation returns that error
 *    (-ECANCELED for a dropped one): destroy it.
 *  - One task reads and one task writes at a time; to read and write at
 *    once from two tasks, split the stream with weft_stream_split (TLS
 *    streams take its lock: one SSL object serves both directions).
 *
 * Errors: -errno from the inner stream (-ECONNRESET, -EPIPE, -EBADF when it
 * was closed, -ESHUTDOWN), -ECONNRESET when the peer closes the connection
 * during the handshake, and weft's TLS codes (weft/error.h):
 * -WEFT_ETLS_VERIFY (the peer's certificate did not verify: untrusted,
 * expired, wrong host name), -WEFT_ETLS_HANDSHAKE (no common version,
 * cipher or application protocol, a malformed handshake),
 * -WEFT_ETLS_ALERT (the peer aborted with a fatal alert, e.g. it did not
 * trust our certificate), -WEFT_ETLS_PROTOCOL (a malformed or forged
 * record after the handshake), -WEFT_ETLS_TRUNCATED, -WEFT_ETLS_CONFIG (a
 * context could not be built from its options). weft_tls_stream_error_detail
 * gives OpenSSL's description of a stream's failure.
 *
 * Threads: a context is immutable once created and may be shared by any
 * number of streams on any threads. A stream is used by one task at a time
 * per direction, and polled on a runtime thread.
 */
#ifndef WEFT_TLS_H
#define WEFT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_st;
struct ssl_ctx_st;

/** @defgroup tls TLS streams
 * @{ */

/** A TLS configuration shared by many streams (certificates, keys, CA store,
 *  verification, ALPN, session cache). Allocated by weft_tls_context_create. */
typedef struct weft_tls_context weft_tls_context;

/** Which end of connections a context makes. */
typedef enum weft_tls_role {
    WEFT_TLS_CLIENT = 1, /**< connects: verifies the server, offers SNI, resumes sessions */
    WEFT_TLS_SERVER = 2, /**< accepts: presents a certificate, may verify clients */
} weft_tls_role;

/** How the peer's certificate is checked. */
typedef enum weft_tls_verify {
    /** Clients verify the server's chain against the CA store and its name
     *  against the server name given to weft_tls_stream_client; servers do
     *  not ask for a client certificate. */
    WEFT_TLS_VERIFY_DEFAULT = 0,
    /** Clients accept any server certificate, unchecked (for tests, never
     *  for the Internet); servers: as the default. */
    WEFT_TLS_VERIFY_NONE,
    /** Servers ask for a client certificate and verify it if one comes;
     *  clients: as the default. */
    WEFT_TLS_VERIFY_OPTIONAL,
    /** Servers require a client certificate that verifies; clients: as the
     *  default. */
    WEFT_TLS_VERIFY_REQUIRED,
} weft_tls_verify;

/** Protocol versions. */
typedef enum weft_tls_version {
    WEFT_TLS_VERSION_DEFAULT = 0, /**< the library's choice: at least TLS 1.2, at most TLS 1.3 */
    WEFT_TLS_1_2,                 /**< TLS 1.2 */
    WEFT_TLS_1_3,                 /**< TLS 1.3 */
} weft_tls_version;

/**
 * Picks the context whose certificate a server presents for the name the
 * client asked for (SNI). `server_name` is NULL when the client sent none.
 * Return 0 with `*use` set to a server context (or left NULL: this
 * context), or a negative value to refuse the connection (the client gets
 * an unrecognized_name alert; the server's handshake fails with
 * -WEFT_ETLS_HANDSHAKE). The stream keeps a reference to the context it
 * chose. Called during a handshake, on the thread that polls it: it must
 * not block and must be thread-safe.
 */
typedef int (*weft_tls_sni_fn)(void *arg, const char *server_name, weft_tls_context **use);

/**
 * Options of a TLS context. Zero-initialised (or a NULL pointer) means the
 * defaults: TLS 1.2 or 1.3, the system CA store, verification as
 * WEFT_TLS_VERIFY_DEFAULT says, session resumption on, no ALPN. Strings
 * are copied or loaded at creation; nothing here must outlive the call.
 * Certificates and keys are PEM: a file name or the text itself.
 */
typedef struct weft_tls_options {
    const char *cert_file; /**< this side's certificate chain (leaf first), PEM file; required for servers unless cert_pem or sni */
    const char *key_file;  /**< the private key of cert_file / cert_pem, PEM file */
    const char *cert_pem;  /**< the certificate chain as PEM text (instead of cert_file) */
    const char *key_pem;   /**< the private key as PEM text (instead of key_file) */
    const char *ca_file;   /**< trusted CA certificates, PEM file (added to the system store) */
    const char *ca_dir;    /**< a directory of trusted CA certificates (c_rehash layout) */
    const char *ca_pem;    /**< trusted CA certificates as PEM text */
    bool no_default_ca;    /**< do not load the system CA store: trust only ca_file / ca_dir / ca_pem */
    weft_tls_verify verify; /**< how the peer's certificate is checked */
    /**
     * Application protocols (ALPN), most preferred first, NULL-terminated:
     * `(const char *[]){"h2", "http/1.1", NULL}`. A client offers them; a
     * server picks the first of its own list that the client offers, and
     * refuses a client that offers protocols but none of these (a
     * no_application_protocol alert). NULL: no ALPN.
     */
    const char *const *alpn;
    weft_tls_version min_version; /**< the oldest version accepted (default TLS 1.2) */
    weft_tls_version max_version; /**< the newest version used (default TLS 1.3) */
    const char *cipher_list;      /**< TLS 1.2 cipher list (OpenSSL syntax); NULL: OpenSSL's default */
    const char *ciphersuites;     /**< TLS 1.3 cipher suites ("TLS_AES_128_GCM_SHA256:..."); NULL: default */
    weft_tls_sni_fn sni;          /**< servers: picks a certificate by the name the client asks for; may be NULL */
    void *sni_arg;                /**< passed to sni */
    /** Sessions kept for resumption: a client keeps the newest session of
     *  each server name (default 256 names), a server its session cache
     *  (default 20480). Tickets are used too. */
    size_t session_cache_size;
    bool no_resumption;    /**< never resume a session, issue no tickets */
    bool allow_truncation; /**< streams of this context read an end without close_notify as end of stream */
} weft_tls_options;

/**
 * Creates a TLS context for `role` from `opts` (NULL: the defaults). Returns
 * 0 with `*out` set, or -EINVAL (NULL `out`, an unknown role or verify
 * mode, a server without a certificate or SNI callback, an empty or too
 * long ALPN name), -ENOENT / -EACCES (a file that cannot be read),
 * -WEFT_ETLS_CONFIG (a certificate, key or CA that does not parse, a key
 * that does not match its certificate, a cipher list OpenSSL rejects) or
 * -ENOMEM; then `*out` is NULL and weft_tls_context_error_detail() says
 * what OpenSSL reported. Any thread.
 */
WEFT_API int weft_tls_context_create(weft_tls_context **out, weft_tls_role role,
                                     const weft_tls_options *opts);
/**
 * Releases the caller's reference to `ctx` (NULL: nothing). Streams made
 * from it keep it alive until they are destroyed, so it may be destroyed
 * while they are in use. Any thread.
 */
WEFT_API void weft_tls_context_destroy(weft_tls_context *ctx);
/** OpenSSL's description of the last weft_tls_context_create that failed
 *  on the calling thread ("" if none). Valid until the next failure on
 *  this thread. Any thread. */
WEFT_API const char *weft_tls_context_error_detail(void);
/**
 * The OpenSSL SSL_CTX behind `ctx`, for settings weft has no option for.
 * Change it only before the first stream is made from the context, and do
 * not replace its BIO, session or verification callbacks. Any thread.
 */
WEFT_API struct ssl_ctx_st *weft_tls_context_ssl_ctx(weft_tls_context *ctx);

/**
 * A TLS stream: a weft_stream (pass `&s->stream` to any stream function)
 * over an inner stream. A handle: it may be moved while no future uses it;
 * zero-initialised or destroyed, every operation on it returns -EBADF.
 */
typedef struct weft_tls_stream {
    weft_stream stream;           /**< the byte-stream interface: pass `&s->stream` to any stream function */
    struct weft__tls_conn *conn;  /**< @private */
} weft_tls_stream;

/**
 * Makes `s` the client end of a TLS connection over `inner` (connected,
 * nothing exchanged yet), with `ctx` (a WEFT_TLS_CLIENT context). The
 * handshake runs when weft_tls_handshake is awaited. `server_name` (copied)
 * is the name the server's certificate must carry (a DNS name, sent as SNI,
 * or an IP address, checked against the certificate's IP addresses) and the
 * key of the session cache; it may be NULL only under
 * WEFT_TLS_VERIFY_NONE. Returns 0, -EINVAL (a NULL argument, a server
 * context, a missing name), -EBADF (`inner` was never opened) or -ENOMEM;
 * on failure `s` is empty. Any thread.
 */
WEFT_API int weft_tls_stream_client(weft_tls_stream *s, weft_tls_context *ctx, weft_stream *inner,
                                    const char *server_name);
/**
 * Makes `s` the server end of a TLS connection over `inner` (an accepted
 * connection), with `ctx` (a WEFT_TLS_SERVER context). Returns 0, -EINVAL,
 * -EBADF or -ENOMEM as weft_tls_stream_client. Any thread.
 */
WEFT_API int weft_tls_stream_server(weft_tls_stream *s, weft_tls_context *ctx, weft_stream *inner);
/**
 * Frees the stream's TLS state (bytes not yet read or sent are dropped; no
 * close_notify is sent: shut it down first for a clean end) and empties
 * `s`: operations on it then return -EBADF, and destroying it again does
 * nothing. It does not close the inner stream. No future may be using it.
 * Any thread.
 */
WEFT_API void weft_tls_stream_destroy(weft_tls_stream *s);

/**
 * Runs the handshake of `s` (client or server). Output `result`: 0 when the
 * connection is established and verified (also if it already was), or an
 * error (see the top of this file; -EBADF for an empty stream). After a
 * failure the stream returns that error from every operation. Not
 * cancel-safe in the sense of weft/io.h: dropping it before it is ready
 * leaves a stream that can only be destroyed (its operations return
 * -ECANCELED); wrap it in weft_timeout to bound it. Polled on a runtime
 * thread.
 */
typedef struct weft_tls_handshake {
    weft_future base;      /**< the future header: await or drop the future through `&f->base` */
    weft_tls_stream *s;    /**< @private */
    bool started;          /**< @private */
    int result;            /**< output: 0 or -errno / -WEFT_ETLS_* */
} weft_tls_handshake;

/** Initialises a handshake of `s` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_tls_handshake_init(weft_tls_handshake *f, weft_tls_stream *s);

/**
 * Runs the handshake of `s` from a fiber (weft_await over
 * weft_tls_handshake): returns its result, or -ECANCELED (the fiber was
 * cancelled: the handshake was dropped and `s` can only be destroyed) or
 * -EPERM (not called from a fiber). Fiber only.
 */
WEFT_API int weft_fiber_tls_handshake(weft_tls_stream *s);

/**
 * Whether a stream read ending without close_notify is end of stream
 * (`allow` true) or -WEFT_ETLS_TRUNCATED (false: the default, unless the
 * context says otherwise). Protocols that delimit their messages
 * themselves (HTTP with Content-Length) may allow it. Does nothing on an
 * empty stream. Call it between operations; the thread that uses the stream.
 */
WEFT_API void weft_tls_stream_set_allow_truncation(weft_tls_stream *s, bool allow);

/** The application protocol agreed by ALPN ("h2"), or NULL (none, or the
 *  handshake has not finished). Valid until `s` is destroyed. The thread
 *  that uses the stream. */
WEFT_API const char *weft_tls_stream_alpn(const weft_tls_stream *s);
/** The server name: a client's, as given; a server's, as the client sent it
 *  (SNI), or NULL. Valid until `s` is destroyed. The thread that uses the stream. */
WEFT_API const char *weft_tls_stream_server_name(const weft_tls_stream *s);
/** The protocol version in use ("TLSv1.3"), or NULL before the handshake.
 *  Static string. The thread that uses the stream. */
WEFT_API const char *weft_tls_stream_version(const weft_tls_stream *s);
/** The cipher suite in use ("TLS_AES_256_GCM_SHA384"), or NULL before the
 *  handshake. Static string. The thread that uses the stream. */
WEFT_API const char *weft_tls_stream_cipher(const weft_tls_stream *s);
/** True if the handshake resumed an earlier session instead of a full
 *  exchange (SSL_session_reused). The thread that uses the stream. */
WEFT_API bool weft_tls_stream_session_reused(const weft_tls_stream *s);
/**
 * The result of verifying the peer's certificate: 0 (X509_V_OK: verified,
 * or nothing to verify) or an X509_V_ERR_* code (10: expired, 20: issuer
 * unknown, 62: host name mismatch, ...), -1 for an empty stream. The
 * thread that uses the stream.
 */
WEFT_API long weft_tls_stream_verify_result(const weft_tls_stream *s);
/**
 * OpenSSL's description of the stream's last failure ("certificate verify
 * failed: certificate has expired", "tlsv1 alert unknown ca", "unexpected
 * eof while reading"), or "" if nothing failed. Valid until the next
 * operation on `s` or its destruction. The thread that uses the stream.
 */
WEFT_API const char *weft_tls_stream_error_detail(const weft_tls_stream *s);
/**
 * The OpenSSL SSL object behind `s` (NULL for an empty stream), to read
 * what weft has no getter for (the peer's certificate, ...). Do not read,
 * write, shut down or change its BIOs through it. The thread that uses
 * the stream.
 */
WEFT_API struct ssl_st *weft_tls_stream_ssl(const weft_tls_stream *s);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TLS_H */
