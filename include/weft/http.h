/**
 * @file
 * weft/http.h — HTTP/1.1 for weft (libweft-http: `pkg-config weft-http`,
 * CMake `weft::http`): a strict zero-copy parser, a server and a client
 * with a keep-alive connection pool, over any weft_stream (so TLS plugs in).
 *
 * The server, in full:
 *
 *     static void hello(weft_http_request *req, weft_http_response *res) {
 *         weft_http_response_send(res, 200, "text/plain", "Hello, World!", 13);
 *     }
 *     ...
 *     weft_http_server_options o = {.handler = {.fn = hello}};
 *     weft_http_server *srv;
 *     weft_http_server_create(&srv, rt, &o);
 *     weft_http_server_listen(srv, "0.0.0.0:8080", 0);
 *
 * Handlers come in three kinds, one per weft_http_handler field: a plain
 * function (runs to completion on the connection's task: for answers that
 * need no waiting), a future (any weft future, a coroutine usually, that
 * may read the request body, write the response as a stream and await
 * anything), or a fiber (straight-line code with weft_fiber_read & co).
 *
 * Errors are negative errno values. The parser's errors map to statuses
 * (weft_http_error_status): -EBADMSG 400 (malformed, smuggling attempt),
 * -EMSGSIZE 431 (head too large), -E2BIG 431 (too many header fields),
 * -ENOTSUP 501 (a transfer coding other than chunked), -EPROTONOSUPPORT 505
 * (not HTTP/1.x); the server adds -EFBIG 413 (body too large) and
 * -ETIMEDOUT 408.
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coro.h"
#include "io.h"
#include "net.h"
#include "runtime.h"
#include "task.h"
#include "time.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup http_parser HTTP/1.1 parser
 * @{ */

/** One header field. Both strings point into the parsed buffer and are
 *  not NUL-terminated (the server's request object terminates them). */
typedef struct weft_http_header {
    const char *name;   /**< the field name as sent (compare without case) */
    const char *value;  /**< the value, without leading and trailing whitespace */
    uint32_t name_len;  /**< bytes in `name` */
    uint32_t value_len; /**< bytes in `value` */
} weft_http_header;

/** How a message's body is delimited (weft_http_head.body). */
typedef enum weft_http_body_kind {
    WEFT_HTTP_BODY_NONE = 0,    /**< no body */
    WEFT_HTTP_BODY_LENGTH = 1,  /**< `content_length` bytes */
    WEFT_HTTP_BODY_CHUNKED = 2, /**< chunked transfer coding */
    WEFT_HTTP_BODY_CLOSE = 3,   /**< until the connection closes (responses only) */
} weft_http_body_kind;

/**
 * A parsed request or response head. Every string points into the buffer
 * that was parsed; the head is valid as long as that buffer is.
 */
typedef struct weft_http_head {
    const char *method;  /**< request: the method (not NUL-terminated) */
    const char *target;  /**< request: the request target as sent */
    const char *reason;  /**< response: the reason phrase */
    uint32_t method_len; /**< bytes in `method` */
    uint32_t target_len; /**< bytes in `target` */
    uint32_t reason_len; /**< bytes in `reason` */
    int status;          /**< response: the status code (100-999) */
    int version;         /**< the minor version: 1 (HTTP/1.1) or 0 (HTTP/1.0) */
    weft_http_header *headers; /**< the header fields, in order */
    size_t num_headers;  /**< how many */
    int64_t content_length; /**< the body's length; -1 for chunked or close-delimited bodies */
    weft_http_body_kind body; /**< how the body is delimited */
    bool chunked;         /**< Transfer-Encoding: chunked */
    bool keep_alive;      /**< the connection may carry another message afterwards */
    bool expect_continue; /**< request: Expect: 100-continue */
    bool expect_unknown;  /**< request: an Expect other than 100-continue (answer 417) */
    bool upgrade;         /**< request: Connection: upgrade with Upgrade; response: 101 */
    uint32_t flags;       /**< @private */
} weft_http_head;

/**
 * Parses a request head from `buf[0..len)`. `headers` has room for
 * `max_headers` fields; `max_head` bounds the head's bytes (0: no bound).
 * Returns the head's length in bytes (the body, or the next request,
 * starts there), or:
 *   -EAGAIN           incomplete: call again with more bytes;
 *   -EBADMSG          malformed, or framing that two parsers could read
 *                     differently: a bare CR or LF, obs-fold, whitespace
 *                     before a colon, Content-Length values that disagree,
 *                     Transfer-Encoding together with Content-Length or in
 *                     HTTP/1.0, an HTTP/1.1 request without Host or with two;
 *   -EMSGSIZE         the head is longer than `max_head`;
 *   -E2BIG            more than `max_headers` fields;
 *   -ENOTSUP          a transfer coding other than chunked;
 *   -EPROTONOSUPPORT  not HTTP/1.0 or HTTP/1.1;
 *   -EINVAL           a NULL argument.
 * Never reads past `len`; pure; any thread.
 */
WEFT_API int weft_http_parse_request(weft_http_head *h, const char *buf, size_t len,
                                     weft_http_header *headers, size_t max_headers,
                                     size_t max_head);

/**
 * Parses a response head, as weft_http_parse_request. `head_request`: the
 * response answers a HEAD request (it then has no body whatever its
 * fields say). Sets `body` by RFC 9112 6.3: none for 1xx, 204, 304 and
 * HEAD; chunked (which overrides a Content-Length, and then the connection
 * is not reused); Content-Length; else until close.
 */
WEFT_API int weft_http_parse_response(weft_http_head *h, const char *buf, size_t len,
                                      weft_http_header *headers, size_t max_headers,
                                      size_t max_head, bool head_request);

/** The first field named `name` (compared without case), or NULL. Any thread. */
WEFT_API const weft_http_header *weft_http_head_find(const weft_http_head *h, const char *name);

/** The reason phrase of `status` ("Not Found"), or "" for codes it does not know. Any thread. */
WEFT_API const char *weft_http_status_reason(int status);

/** The status a server answers a parse or body error with (see the top of this file). Any thread. */
WEFT_API int weft_http_error_status(int err);

/** What weft_http_chunked_decode found. */
enum {
    WEFT_HTTP_CHUNKED_MORE = 0, /**< needs more bytes */
    WEFT_HTTP_CHUNKED_DATA = 1, /**< a span of body data */
    WEFT_HTTP_CHUNKED_DONE = 2, /**< the last chunk and the trailers have been read */
};

/** A chunked-body decoder. Initialise with weft_http_chunked_init. */
typedef struct weft_http_chunked {
    uint64_t remaining;   /**< @private */
    uint64_t total;       /**< data bytes decoded so far */
    size_t trailer_bytes; /**< @private */
    size_t max_trailer;   /**< @private */
    uint32_t trailers;    /**< trailer fields seen */
    uint32_t line;        /**< @private */
    int state;            /**< @private */
} weft_http_chunked;

/** Initialises a decoder; `max_trailer` bounds the trailer section's bytes (0: 8 KiB). Any thread. */
WEFT_API void weft_http_chunked_init(weft_http_chunked *d, size_t max_trailer);

/**
 * Decodes from `buf[0..len)`. Returns WEFT_HTTP_CHUNKED_DATA with body
 * data at buf[*data_off .. *data_off + *data_len) (no copy),
 * WEFT_HTTP_CHUNKED_MORE (all of it was framing: feed more), or
 * WEFT_HTTP_CHUNKED_DONE (the body ended: bytes after *consumed belong to
 * the next message), or -EBADMSG (malformed: a bad size, a missing CRLF, a
 * bad trailer field) or -EMSGSIZE (a size line or the trailers too long).
 * In every case `*consumed` bytes of `buf` are used up. Any thread.
 */
WEFT_API int weft_http_chunked_decode(weft_http_chunked *d, const char *buf, size_t len,
                                      size_t *consumed, size_t *data_off, size_t *data_len);

/** True once the decoder has read the whole body. Any thread. */
WEFT_API bool weft_http_chunked_is_done(const weft_http_chunked *d);

/** @} */

/* ------------------------------------------------------------------------ */
/* Bodies                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup http_body HTTP bodies
 * @{ */

/**
 * Reads a whole body stream (a request's `body` on the server, a
 * response's on the client) into memory. Output `result`: 0, -EFBIG (more
 * than `max` bytes), -ENOMEM, or the stream's error (-ETIMEDOUT,
 * -EBADMSG, ...); `data` (malloc'd, NUL-terminated, yours to free, NULL
 * when empty or on error) and `len`. Dropping it frees what it read (the
 * body is then partly consumed).
 */
typedef struct weft_http_read_body {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s;    /**< @private */
    size_t max;        /**< @private */
    size_t cap;        /**< @private */
    char *data;        /**< output: the body (NUL-terminated), yours to free */
    size_t len;        /**< output: its length */
    int result;        /**< output */
} weft_http_read_body;

/** Initialises a whole-body read of `body`, at most `max` bytes (0: 1 MiB). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_http_read_body_init(weft_http_read_body *f, weft_stream *body, size_t max);

/** @} */

/* ------------------------------------------------------------------------ */
/* Server                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup http_server HTTP server
 * @{ */

struct weft__http_conn;
/** A server (opaque): listeners, connections, options. */
typedef struct weft_http_server weft_http_server;
/** The response to one request (opaque): build it with the weft_http_response_ functions. */
typedef struct weft_http_response weft_http_response;

/**
 * One request, as a handler sees it. Valid until the handler completes.
 * Every string is NUL-terminated and points into the connection's buffer.
 */
typedef struct weft_http_request {
    const char *method;     /**< "GET", "POST", ... */
    const char *path;       /**< the target up to '?', as sent (not percent-decoded) */
    const char *query;      /**< after '?', or "" */
    int version;            /**< 1 for HTTP/1.1, 0 for HTTP/1.0 */
    int64_t content_length; /**< the body's length, 0 when none, -1 when chunked */
    const weft_http_head *head; /**< every header field */
    weft_stream *body;      /**< the body, a read-only stream (EOF at its end; answers 100 Continue when asked) */
    void *user;             /**< weft_http_handler.user */
    struct weft__http_conn *conn; /**< @private */
} weft_http_request;

/** The value of the first header field named `name` (without case), NUL-terminated, or NULL. Runtime thread. */
WEFT_API const char *weft_http_request_header(const weft_http_request *req, const char *name);

/** A plain handler (and the body of a fiber handler): fill in `res`. */
typedef void (*weft_http_fn)(weft_http_request *req, weft_http_response *res);

/**
 * Initialises a handler future in `mem` (weft_http_handler.size bytes,
 * reused from request to request) and returns it. The future may read
 * `req->body`, build `res` and write it as a stream; the response is
 * finished when it is ready. Dropped (cancelled) when the connection ends
 * early or the server's grace period runs out.
 */
typedef weft_future *(*weft_http_future_fn)(void *mem, weft_http_request *req,
                                            weft_http_response *res);

/** What answers requests: set exactly one of `fn`, `init` (with `size`), `fiber`. */
typedef struct weft_http_handler {
    weft_http_fn fn;          /**< a plain function: runs to completion on the connection's task */
    weft_http_future_fn init; /**< a future handler's init */
    size_t size;              /**< bytes of the future handler (sizeof its struct) */
    weft_http_fn fiber;       /**< runs on a fiber: may wait with weft_fiber_* calls */
    size_t fiber_stack;       /**< the fiber's stack size (0: the runtime's default) */
    void *user;               /**< given to the handler as req->user */
} weft_http_handler;

/**
 * Makes the stream a connection is served over (HTTPS: a TLS stream over
 * the TCP one). `open` takes ownership of `*tcp` (close it on failure)
 * and stores a stream in `*out`; it returns 0 or -errno. `close` releases
 * that stream and what is under it. Both run on the connection's task.
 * A handshake happens inside the stream's first reads and writes.
 */
typedef struct weft_http_stream_factory {
    int (*open)(void *arg, weft_tcp_stream *tcp, weft_stream **out); /**< wraps an accepted connection */
    void (*close)(void *arg, weft_stream *s);                         /**< releases a wrapped stream */
    void *arg;                                                        /**< passed to both */
} weft_http_stream_factory;

/** Server options. Zero means the default given for each. */
typedef struct weft_http_server_options {
    weft_http_handler handler;     /**< required */
    size_t max_head_bytes;         /**< request line and header fields (0: 16 KiB); more is 431 */
    size_t max_headers;            /**< header fields per request (0: 64); more is 431 */
    uint64_t max_body_bytes;       /**< request body (0: 8 MiB; UINT64_MAX: no limit); more is 413 */
    uint64_t header_timeout_ms;    /**< from a request's first byte to its whole head (0: 10 s); then 408 */
    uint64_t body_timeout_ms;      /**< longest wait for more body bytes (0: 30 s); then the read fails, 408 */
    uint64_t idle_timeout_ms;      /**< keep-alive wait for the next request (0: 60 s); then closed */
    uint64_t write_timeout_ms;     /**< longest wait for the client to take response bytes (0: 30 s) */
    uint32_t max_requests;         /**< per connection (0: no limit); the last one says Connection: close */
    const char *server_name;       /**< the Server field (NULL: "weft"; "" : none) */
    const weft_http_stream_factory *streams; /**< NULL: plain TCP */
} weft_http_server_options;

/** Counters of a server (monotonic, except `active`). */
typedef struct weft_http_server_stats {
    uint64_t accepted;   /**< connections accepted */
    uint64_t active;     /**< connections open now */
    uint64_t requests;   /**< requests answered */
    uint64_t rejected;   /**< requests refused with 4xx/5xx by the server itself (parse errors, limits, timeouts) */
    uint64_t timeouts;   /**< connections ended by a timeout */
} weft_http_server_stats;

/**
 * Creates a server whose connections run as tasks of `rt` (NULL: the
 * runtime of the calling task); `opts` is copied. Returns 0, -EINVAL (no
 * handler, or more than one kind), -ENOMEM. Any thread.
 */
WEFT_API int weft_http_server_create(weft_http_server **out, weft_runtime *rt,
                                     const weft_http_server_options *opts);

/**
 * Binds "host:port" (see weft/net.h; port 0 picks one) and starts
 * accepting on it (a task of the server's runtime). Up to 8 listeners.
 * Returns 0, -ENOSPC, -ESHUTDOWN (shut down), or weft_tcp_listener_bind's
 * error. Any thread (a name may block it: see weft/net.h).
 */
WEFT_API int weft_http_server_listen(weft_http_server *srv, const char *addr, int backlog);

/** Starts accepting on `l`, which the server takes over (it closes it at shutdown). 0, -ENOSPC, -ESHUTDOWN. Any thread. */
WEFT_API int weft_http_server_serve(weft_http_server *srv, weft_tcp_listener *l);

/** The port of the server's first listener (0 if none). Any thread. */
WEFT_API uint16_t weft_http_server_port(const weft_http_server *srv);

/** Copies the server's counters. Any thread. */
WEFT_API void weft_http_server_stats_get(const weft_http_server *srv, weft_http_server_stats *out);

/**
 * Graceful shutdown: stops accepting (closes the listeners), closes every
 * idle keep-alive connection, lets requests in flight finish (each
 * connection closes after its current response, saying Connection: close),
 * and after `grace_ms` cancels what remains (their handler futures are
 * dropped, their connections closed). Ready, with `result` 0 when every
 * connection ended within the grace period or 1 when some had to be
 * cancelled, once no connection task is left. Dropping it leaves the
 * server shut down to new connections, with the others still finishing.
 */
typedef struct weft_http_server_shutdown {
    weft_future base;           /**< the future header: await or drop the future through `&f->base` */
    weft_http_server *srv;      /**< @private */
    uint64_t grace_ms;          /**< @private */
    int state;                  /**< @private */
    weft_sleep grace;           /**< @private */
    weft_future *kids[2];       /**< @private */
    int result;                 /**< output: 0, or 1 if connections were cancelled */
} weft_http_server_shutdown;

/** Initialises a graceful shutdown of `srv` (no work until polled). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_http_server_shutdown_init(weft_http_server_shutdown *f,
                                                     weft_http_server *srv, uint64_t grace_ms);

/**
 * Destroys the server: closes its listeners, cancels every connection
 * still open (their tasks end on the runtime), and frees the server once
 * the last of them is gone. Call it after the shutdown future, or instead
 * of it. `srv` may be NULL. Any thread.
 */
WEFT_API void weft_http_server_destroy(weft_http_server *srv);

/** Sets the status (default 200). Runtime thread (the handler's). */
WEFT_API void weft_http_response_set_status(weft_http_response *res, int status);

/**
 * Adds a header field (copied). Content-Length, Transfer-Encoding,
 * Connection and Date are the server's: use the body and status calls.
 * Returns 0, -EINVAL (a name that is not a token, a CR, LF or NUL in the
 * value), -EBUSY (the head was already sent), -ENOMEM. Runtime thread.
 */
WEFT_API int weft_http_response_add_header(weft_http_response *res, const char *name,
                                           const char *value);

/** The body from memory, copied. Replaces an earlier body. 0, -EBUSY, -ENOMEM. Runtime thread. */
WEFT_API int weft_http_response_set_body(weft_http_response *res, const void *data, size_t len);

/**
 * The body from memory that stays yours, not copied: it must stay valid
 * until `drop(arg)` is called (after the body was sent or the connection
 * ended); `drop` may be NULL (static data). 0 or -EBUSY. Runtime thread.
 */
WEFT_API int weft_http_response_set_body_ref(weft_http_response *res, const void *data,
                                             size_t len, weft_drop_fn drop, void *arg);

/**
 * The body from a stream, copied to the client after the handler returns:
 * `len` bytes (the Content-Length), or, with `len` -1, until the stream
 * ends (sent chunked, or close-delimited to HTTP/1.0 clients). `drop(arg)`
 * (may be NULL) runs when the copy ended. 0 or -EBUSY. Runtime thread.
 */
WEFT_API int weft_http_response_set_body_stream(weft_http_response *res, weft_stream *s,
                                                int64_t len, weft_drop_fn drop, void *arg);

/**
 * The body from `len` bytes of the file `fd` from `offset`, sent with
 * sendfile(2) where the connection is plain TCP (no copy through user
 * space), else read and written. The server takes `fd` and closes it.
 * 0, -EBUSY (then `fd` is still yours), -EBADF. Runtime thread.
 */
WEFT_API int weft_http_response_set_body_file(weft_http_response *res, int fd, uint64_t offset,
                                              uint64_t len);

/**
 * Status, Content-Type (NULL: none) and a body copied from memory, in one
 * call: the short form for most handlers. 0, -EBUSY, -ENOMEM, -EINVAL.
 * Runtime thread.
 */
WEFT_API int weft_http_response_send(weft_http_response *res, int status,
                                     const char *content_type, const void *body, size_t len);

/**
 * Announces the length of a body the handler will write through the
 * response writer (the head then says Content-Length instead of
 * chunked). 0, -EBUSY. Runtime thread.
 */
WEFT_API int weft_http_response_set_content_length(weft_http_response *res, uint64_t len);

/**
 * The response as a write-only stream, for handlers that produce the body
 * as they go: the first write (or flush) sends the head; each write is
 * sent chunked (or counted against set_content_length: more is -EMSGSIZE);
 * the body ends when the handler completes. Writes are buffered a little
 * and flushed when the buffer fills or the handler flushes or waits. For
 * a HEAD request the bytes are discarded. Runtime thread (the handler's task).
 */
WEFT_API weft_stream *weft_http_response_writer(weft_http_response *res);

/** True once the head has been sent (status and fields can no longer change). Runtime thread. */
WEFT_API bool weft_http_response_is_started(const weft_http_response *res);

/** @} */

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup http_client HTTP client
 * @{ */

/** A client (opaque): options and a keep-alive pool of connections per host:port. */
typedef struct weft_http_client weft_http_client;
struct weft__http_cconn;

/**
 * Makes the stream a client connection runs over (HTTPS), as
 * weft_http_stream_factory for servers: `open` takes `*tcp` and the host
 * name (for SNI and certificate checks).
 */
typedef struct weft_http_client_connector {
    int (*open)(void *arg, const char *host, weft_tcp_stream *tcp, weft_stream **out); /**< wraps a connection */
    void (*close)(void *arg, weft_stream *s);                                          /**< releases one */
    void *arg;                                                                          /**< passed to both */
} weft_http_client_connector;

/** Client options. Zero means the default given for each. */
typedef struct weft_http_client_options {
    size_t max_idle_per_host;   /**< idle connections kept per host:port (0: 8) */
    size_t max_idle;            /**< idle connections kept in all (0: 256) */
    uint64_t idle_timeout_ms;   /**< an idle connection older than this is not reused (0: 60 s) */
    uint64_t connect_timeout_ms; /**< (0: 10 s) */
    uint64_t timeout_ms;        /**< from sending the request to the whole response head (0: 30 s) */
    uint64_t body_timeout_ms;   /**< longest wait for more response body (0: 30 s) */
    size_t max_head_bytes;      /**< of a response head (0: 64 KiB) */
    size_t max_headers;         /**< per response (0: 100) */
    int max_redirects;          /**< redirects followed (GET/HEAD, 301/302/303/307/308; 0: none, the default) */
    const weft_http_client_connector *https; /**< for https:// URLs (NULL: they fail with -EPROTONOSUPPORT) */
} weft_http_client_options;

/** Creates a client; `opts` (may be NULL) is copied. 0, -ENOMEM. Any thread. */
WEFT_API int weft_http_client_create(weft_http_client **out, const weft_http_client_options *opts);

/** Closes every idle connection and frees the client. No fetch may be pending and no response body open. Any thread. */
WEFT_API void weft_http_client_destroy(weft_http_client *c);

/** Idle connections in the pool now. Any thread. */
WEFT_API size_t weft_http_client_idle(const weft_http_client *c);

/** A request to send (your memory; it must outlive the fetch). */
typedef struct weft_http_client_request {
    const char *method;               /**< "GET" when NULL */
    const char *url;                  /**< "http://host[:port]/path?query" (or https:// with a connector) */
    const weft_http_header *headers;  /**< extra fields (Host, Content-Length, Transfer-Encoding are set by the client) */
    size_t num_headers;               /**< how many */
    const void *body;                 /**< a body from memory, or NULL */
    size_t body_len;                  /**< its length */
    weft_stream *body_stream;         /**< or a body from a stream (then `body` is ignored) */
    int64_t body_stream_len;          /**< its length, or -1: sent chunked */
} weft_http_client_request;

/**
 * A response. The head's strings point into the connection's buffer and
 * `body` reads from the connection: read it to its end (EOF) and the
 * connection goes back to the pool when the response is released.
 * Release it with weft_http_client_response_destroy.
 */
typedef struct weft_http_client_response {
    int status;              /**< the status code */
    weft_http_head head;     /**< the head: weft_http_head_find(&r.head, "content-type") */
    weft_stream *body;       /**< the body, a read-only stream (EOF at its end) */
    int redirects;           /**< redirects followed to get here */
    struct weft__http_cconn *conn; /**< @private */
} weft_http_client_response;

/**
 * Releases a response: the connection returns to the pool if its body was
 * read to the end and it may be kept alive, else it is closed. Idempotent.
 * Runtime thread.
 */
WEFT_API void weft_http_client_response_destroy(weft_http_client_response *r);

/**
 * Sends a request and receives the response head. Output `result`: 0 with
 * `response` filled (release it), or -EINVAL (a malformed URL or method),
 * -EPROTONOSUPPORT (an https:// URL without a connector), -ETIMEDOUT,
 * -ECONNREFUSED and the other connect and stream errors, the parser's
 * errors for a malformed response (-EBADMSG, ...), -ELOOP (more
 * redirects than max_redirects allows would be needed: the last redirect
 * response is not returned). A pooled connection that the server closed
 * meanwhile is replaced transparently when nothing of the request was
 * answered. Dropping it closes the connection it was using (the request
 * may have been sent).
 */
typedef struct weft_http_fetch {
    weft_future base;                     /**< the future header: await or drop the future through `&f->base` */
    weft_coro co;                         /**< @private */
    weft_http_client *client;             /**< @private */
    const weft_http_client_request *req;  /**< @private */
    struct weft__http_cconn *conn;        /**< @private */
    char *url;                            /**< @private the URL being fetched (after redirects) */
    char *wbuf;                           /**< @private */
    size_t wlen;                          /**< @private */
    const char *method;                   /**< @private */
    int attempt;                          /**< @private */
    bool reused;                          /**< @private */
    bool head_request;                    /**< @private */
    bool body_eof;                        /**< @private */
    bool reading;                         /**< @private the request went out; waiting for the answer */
    uint64_t deadline;                    /**< @private */
    union {
        weft_tcp_connect connect; /**< @private */
        weft_write_all write;     /**< @private */
        weft_read read;           /**< @private */
        weft_flush flush;         /**< @private */
    } op;                                 /**< @private */
    weft_timeout limit;                   /**< @private */
    int err;                              /**< @private */
    int result;                           /**< output */
    weft_http_client_response response;   /**< output when result is 0 */
} weft_http_fetch;

/** Initialises a fetch of `req` with `c` (no work). Returns `&f->base`. Any thread; poll it on a runtime thread. */
WEFT_API weft_future *weft_http_fetch_init(weft_http_fetch *f, weft_http_client *c,
                                           const weft_http_client_request *req);

/** @} */

/* ------------------------------------------------------------------------ */
/* Fiber-style calls                                                         */
/* ------------------------------------------------------------------------ */

/** @defgroup http_fiber HTTP from fibers
 * Each is weft_await over the future of the same name (see weft/fiber.h):
 * it suspends the fiber, never the thread, and returns the future's
 * `result`, or -ECANCELED (the fiber was cancelled) or -EPERM (not in a
 * fiber). Fiber only.
 * @{ */

/** Fetches `req` (weft_http_fetch): 0 with `*out` filled (release it), or -errno. */
WEFT_API int weft_http_fiber_fetch(weft_http_client *c, const weft_http_client_request *req,
                                   weft_http_client_response *out);

/** Reads a whole body (weft_http_read_body): its length, with `*data` malloc'd (free it), or -errno. */
WEFT_API ssize_t weft_http_fiber_read_body(weft_stream *body, char **data, size_t max);

/** Shuts `srv` down gracefully (weft_http_server_shutdown): 0, 1 (connections were cancelled) or -errno. */
WEFT_API int weft_http_fiber_server_shutdown(weft_http_server *srv, uint64_t grace_ms);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_HTTP_H */
