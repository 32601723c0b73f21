/* The server's private types: the server, a connection, a response. */
#ifndef WEFT_HTTP_SERVER_H
#define WEFT_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include "weft.h"
#include "http_internal.h"

#define WEFT__HTTP_MAX_LISTENERS 8
/* Pipelined responses gather in the output buffer until the read buffer
 * holds no complete request or this many bytes wait. */
#define WEFT__HTTP_FLUSH_AT (32 * 1024)
/* Request body left unread by a handler that the server reads and throws
 * away to keep the connection; more, and the connection closes instead. */
#define WEFT__HTTP_DRAIN_MAX (256 * 1024)

struct weft_http_server {
    weft_runtime *rt;
    weft_http_server_options opts;
    char *server_field; /* "Server: weft\r\n", or "" */
    size_t server_field_len;
    atomic_int refs;
    atomic_bool closing;
    weft_notify notify; /* wakes idle connections at shutdown */
    weft_join_set *conns;
    pthread_mutex_t lock;
    weft_join_handle acceptors[WEFT__HTTP_MAX_LISTENERS];
    uint16_t ports[WEFT__HTTP_MAX_LISTENERS];
    int nlisteners;
    _Atomic uint64_t accepted, active, requests, rejected, timeouts;
};

void weft__http_server_ref(weft_http_server *srv);
void weft__http_server_unref(weft_http_server *srv);

typedef enum body_src {
    SRC_NONE,   /* empty body */
    SRC_MEM,    /* res->mem (copied) */
    SRC_REF,    /* res->ref (the caller's) */
    SRC_STREAM, /* copied from res->src */
    SRC_FILE,   /* res->fd */
} body_src;

struct weft_http_response {
    struct weft__http_conn *conn;
    weft_stream writer; /* the response as a stream (weft_http_response_writer) */
    int status;
    body_src src;
    char *hdrs; /* the handler's fields, "Name: value\r\n"... */
    size_t hdrs_len, hdrs_cap;
    char *mem;
    size_t mem_len, mem_cap;
    const void *ref;
    size_t ref_len;
    weft_drop_fn drop;
    void *drop_arg;
    weft_stream *stream;
    int64_t stream_len;
    int fd;
    uint64_t file_off, file_len;
    int64_t content_length; /* announced for the writer; -1: none */
    uint64_t written;       /* body bytes taken by the writer */
    bool started;           /* the head is in the output buffer (or sent) */
    bool chunked;           /* the body goes out chunked */
    bool until_close;       /* HTTP/1.0 client, unknown length: close-delimited */
    bool head_only;         /* HEAD: no body bytes */
    bool close;             /* the head said Connection: close */
};

/* The connection task: one per accepted connection, a coroutine. */
typedef struct weft__http_conn {
    WEFT_CORO_FIELDS;
    weft_http_server *srv;
    weft_tcp_stream tcp;
    weft_stream *s; /* what is served: &tcp.stream or the factory's */
    bool wrapped;
    bool is_tcp;    /* s is the TCP stream itself (sendfile possible) */
    bool unflushed; /* the wrapped stream took bytes since its last flush (it may hold them) */
    /* read buffer: rbuf[rpos..rend) not yet consumed */
    char *rbuf;
    size_t rcap, rpos, rend;
    /* output buffer: obuf[ooff..olen) not yet written */
    char *obuf;
    size_t ocap, olen, ooff;
    int write_error;
    /* the current request */
    weft_http_header *hdrs;
    weft_http_head head;
    size_t head_len;
    int flush_result;
    uint64_t sent; /* body bytes of a stream or file body sent */
    size_t drained;
    bool src_eof;
    weft_http_request req;
    weft_http_response res;
    uint64_t head_deadline;
    uint32_t served;
    bool keep_alive;
    bool head_started; /* bytes of the next request have arrived */
    bool must_close;
    bool res_streaming; /* the handler wrote through the response writer */
    /* the request body */
    weft_stream body;
    weft_http_body_kind body_kind;
    uint64_t body_left;  /* Content-Length bytes still to come */
    uint64_t body_total; /* bytes handed out */
    weft_http_chunked ck;
    bool body_done;
    bool body_touched;   /* the handler read (so 100 Continue went out if asked) */
    int body_error;
    weft_sleep body_sleep;
    bool body_sleep_armed;
    bool continue_queued;
    size_t ck_pending; /* chunk data bytes at rbuf[rpos] already decoded */
    size_t body_base;  /* where the body starts in rbuf (after the head) */
    /* the handler */
    void *hmem;
    weft_future *hfut;
    weft_fiber fiber;
    /* children */
    int status_err; /* a parse or limit error to answer */
    union {
        weft_write_all wa;
        weft_read r;
        weft_flush fl;
        weft_poll_fn pf;
    } op;
    weft_timeout to;
    struct {
        weft_future base;
        struct weft__http_conn *c;
        weft_notified note;
        weft_sleep sleep;
        uint64_t deadline;
        bool idle, armed;
        ssize_t result;
    } wait;
    struct {
        weft_future base;
        struct weft__http_conn *c;
        ssize_t result;
    } run; /* polls the handler, flushing pipelined output while it waits */
    struct {
        weft_future base;
        struct weft__http_conn *c;
        uint64_t left;
        int result;
    } file;
    char scratch[4096];
    uint64_t linger_deadline;
    int out; /* the task's output (unused) */
} weft__http_conn;

/* conn.c */
weft_future *weft__http_conn_init(weft__http_conn *c, weft_http_server *srv, weft_tcp_stream tcp);

/* response.c */
void weft__http_response_reset(weft_http_response *res, struct weft__http_conn *c);
void weft__http_response_release(weft_http_response *res);
/* Lets go of the body's source (closes the file, runs the drop). */
void weft__http_response_done(weft_http_response *res);
/* Serialises the head into the output buffer (fixing chunked/close). 0 or -ENOMEM. */
int weft__http_response_start(weft_http_response *res);
/* After the handler: puts what remains of a memory body (or the final
 * chunk) into the output buffer. 0 or -ENOMEM. */
int weft__http_response_finish_mem(weft_http_response *res);
/* An error response (status from a parse or limit error), Connection: close. */
int weft__http_response_error(struct weft__http_conn *c, int status);

/* output buffer (response.c) */
int weft__http_out_reserve(struct weft__http_conn *c, size_t n);
int weft__http_out_append(struct weft__http_conn *c, const void *p, size_t n);
/* Writes the output buffer out: READY with *res 0 or -errno, PENDING. */
weft_poll weft__http_out_poll_flush(struct weft__http_conn *c, weft_context *cx, int *res);
/* True while bytes are on their way out: in the output buffer, or taken
 * by a wrapped stream (TLS) that may hold them until it is flushed. */
static inline bool weft__http_out_pending(const struct weft__http_conn *c) {
    return c->ooff < c->olen || c->unflushed;
}

/* body.c: the request body stream */
void weft__http_body_start(struct weft__http_conn *c);
void weft__http_body_end(struct weft__http_conn *c);
extern const weft_stream_vtable weft__http_body_vtable;

/* sendfile.c: the zero-copy file path (one function, to be swapped for
 * weft's own when it has one). Sends up to `len` bytes of `fd` from
 * `*off` to the connection; READY with *res bytes (> 0) or -errno. */
weft_poll weft__http_send_file(struct weft__http_conn *c, weft_context *cx, int fd, uint64_t *off,
                               uint64_t len, ssize_t *res);

#endif
