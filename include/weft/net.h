/*
 * weft/net.h — sockets: TCP listeners and streams, UDP, Unix stream and
 * datagram sockets, address parsing and name resolution.
 *
 * Every operation that can wait is a future; the rest (bind, connect of a
 * datagram socket, options, close) are plain calls that never block. All
 * descriptors are non-blocking and close-on-exec, and are registered with
 * the reactor once, when the socket is created (edge-triggered, read and
 * write interest together). Errors are negative errno values.
 *
 * Socket objects (weft_tcp_stream, weft_udp_socket, ...) are small handles:
 * they may be copied (moved) freely while no future is using them, for
 * example into a task being spawned. The registration they point to lives in
 * the runtime. Close each exactly once. An object may outlive its runtime:
 * after weft_runtime_destroy its operations fail with -ESHUTDOWN, and it
 * must still be closed.
 *
 * Streams implement the weft_stream interface of weft/io.h: read and write
 * them with weft_read_init(&f, &s.stream, ...), weft_write_all_init, etc.
 * SIGPIPE is never raised (writes use MSG_NOSIGNAL); a peer that went away
 * gives -EPIPE or -ECONNRESET on that stream only.
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "io.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_runtime;

/* ------------------------------------------------------------------------ */
/* Addresses                                                                 */
/* ------------------------------------------------------------------------ */

/** A socket address: IPv4, IPv6 or Unix, with its length. */
typedef struct weft_sockaddr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } u;
    socklen_t len;
} weft_sockaddr;

/** Longest text weft_sockaddr_format writes for an IP address, with the NUL. */
#define WEFT_SOCKADDR_STRLEN 64

/**
 * Parses a numeric socket address: "1.2.3.4:80", "[::1]:80",
 * "[fe80::1%eth0]:80". The port (0-65535) is required; an IPv6 address must
 * be bracketed. Returns 0, or -EINVAL for anything else (names included:
 * resolve those with weft_resolve). Pure; any thread.
 */
WEFT_API int weft_sockaddr_parse(weft_sockaddr *out, const char *text);
/** Builds an address from a numeric IP ("127.0.0.1", "::1") and a port. 0 or -EINVAL. */
WEFT_API int weft_sockaddr_ip(weft_sockaddr *out, const char *ip, uint16_t port);
/**
 * Builds a Unix address from a path. A leading '@' names the Linux abstract
 * namespace ("@weft-test" is "\0weft-test"). Returns 0, or -ENAMETOOLONG.
 */
WEFT_API int weft_sockaddr_unix(weft_sockaddr *out, const char *path);
/**
 * Writes `a` as text ("1.2.3.4:80", "[::1]:80", a Unix path, "@name" for
 * abstract, "(unnamed)") into `buf`. Returns the length, or -ENOSPC /
 * -EAFNOSUPPORT.
 */
WEFT_API int weft_sockaddr_format(const weft_sockaddr *a, char *buf, size_t cap);
/** The port of an IP address (host order), or 0 for other families. */
WEFT_API uint16_t weft_sockaddr_port(const weft_sockaddr *a);
/** Sets the port of an IP address. */
WEFT_API void weft_sockaddr_set_port(weft_sockaddr *a, uint16_t port);
/** True if the two addresses are equal (family, address, port / path). */
WEFT_API bool weft_sockaddr_equal(const weft_sockaddr *a, const weft_sockaddr *b);

/**
 * Resolves "host:port" (or a numeric address) to at most `cap` addresses
 * stored in `out`. Numeric addresses are parsed on the spot; names are
 * resolved with getaddrinfo away from the runtime's threads (for now a
 * short-lived thread, later the blocking pool), never blocking a worker.
 * Output `result`: the number of addresses (>= 1), or -EINVAL (malformed),
 * -ENOENT (no such name), -EAGAIN (temporary failure), -ENOMEM.
 * Dropping it abandons the lookup (the thread finishes on its own).
 */
typedef struct weft_resolve {
    weft_future base;
    char text[264];
    weft_sockaddr *out;
    size_t cap;
    struct weft__resolve_req *req;
    int result; /**< output */
} weft_resolve;

/** Initialises a resolution of `text` (copied). Returns `&f->base`. */
WEFT_API weft_future *weft_resolve_init(weft_resolve *f, const char *text, weft_sockaddr *out,
                                        size_t cap);

/* ------------------------------------------------------------------------ */
/* TCP                                                                       */
/* ------------------------------------------------------------------------ */

/** A TCP listener. */
typedef struct weft_tcp_listener {
    weft_io_handle io;
    uint32_t backoff_ms;        /* accept back-off after EMFILE/ENFILE (atomic access) */
    uint32_t fd_error_reported; /* the exhaustion was reported (atomic access) */
} weft_tcp_listener;

/**
 * Creates a listener on the numeric address `addr` ("127.0.0.1:0",
 * "[::1]:8080", "0.0.0.0:80") with SO_REUSEADDR and the given backlog
 * (<= 0: SOMAXCONN), registered with `rt` (NULL: the runtime of the calling
 * task). Port 0 picks a free port: read it with weft_tcp_listener_port.
 * Returns 0, -EINVAL (malformed address or no runtime), -EADDRINUSE,
 * -EACCES, -EMFILE, ... Any thread.
 */
WEFT_API int weft_tcp_listener_bind(weft_tcp_listener *l, struct weft_runtime *rt,
                                    const char *addr, int backlog);
/** Like weft_tcp_listener_bind with a parsed address. */
WEFT_API int weft_tcp_listener_bind_addr(weft_tcp_listener *l, struct weft_runtime *rt,
                                         const weft_sockaddr *addr, int backlog);
/** The bound address (with the chosen port). 0 or -errno. */
WEFT_API int weft_tcp_listener_local_addr(const weft_tcp_listener *l, weft_sockaddr *out);
/** The bound port, or 0 if unknown. */
WEFT_API uint16_t weft_tcp_listener_port(const weft_tcp_listener *l);
/** Closes the listener. No accept may be pending on it. Any thread. */
WEFT_API void weft_tcp_listener_close(weft_tcp_listener *l);

/** A connected TCP stream (or one half of one, after into_split). */
typedef struct weft_tcp_stream {
    weft_stream stream; /**< the byte-stream interface: pass &s.stream */
    weft_io_handle io;
} weft_tcp_stream;

/*
 * Accepting. The accept fields are shared by TCP and Unix listeners.
 * When descriptors run out (EMFILE, ENFILE, ENOBUFS, ENOMEM) the first
 * accept that meets it completes with that error, once; later accepts wait,
 * retrying with a growing back-off (5 ms up to 200 ms), and serve again as
 * soon as descriptors are free. The report is re-armed by the next success.
 * ECONNABORTED and similar per-connection errors are skipped.
 */
#define WEFT__ACCEPT_FIELDS(LISTENER, STREAM)                                     \
    weft_future base;                                                              \
    LISTENER *listener;                                                            \
    weft_sleep backoff;                                                            \
    bool backing_off;                                                              \
    int result;           /**< output: 0 or -errno */                              \
    STREAM stream;        /**< output: the accepted stream (yours to close) */     \
    weft_sockaddr peer    /**< output: its peer address */

/** Accepts one connection. Cancel-safe (no connection is lost). */
typedef struct weft_tcp_accept {
    WEFT__ACCEPT_FIELDS(weft_tcp_listener, weft_tcp_stream);
} weft_tcp_accept;

/** Initialises an accept on `l`. Returns `&f->base`. */
WEFT_API weft_future *weft_tcp_accept_init(weft_tcp_accept *f, weft_tcp_listener *l);

/**
 * Connects to "host:port" (a numeric address, or a name resolved off the
 * runtime's threads), trying each address in turn, or to a parsed address.
 * Output `result`: 0 and `stream`, or -EINVAL (malformed address: nothing
 * was created or registered), -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH,
 * -ETIMEDOUT (the kernel gave up), -ENOENT (unknown name), ... (the error of
 * the last address tried). For your own time limit wrap it in weft_timeout;
 * dropping it closes the half-open socket.
 */
typedef struct weft_tcp_connect {
    weft_future base;
    char text[264];
    weft_sockaddr target;
    weft_sockaddr *addrs; /* resolved list (inside req) or &target */
    size_t naddrs, next;
    struct weft__resolve_req *req;
    weft_io_handle pending; /* socket being connected */
    int state;
    int last_error;
    int result;              /**< output */
    weft_tcp_stream stream;  /**< output when result == 0 */
} weft_tcp_connect;

/** Initialises a connect to "host:port" (the text is copied). Returns `&f->base`. */
WEFT_API weft_future *weft_tcp_connect_init(weft_tcp_connect *f, const char *addr);
/** Initialises a connect to a parsed address. Returns `&f->base`. */
WEFT_API weft_future *weft_tcp_connect_addr_init(weft_tcp_connect *f, const weft_sockaddr *addr);

/**
 * Wraps a connected, non-blocking TCP socket `fd` (taking ownership) and
 * registers it with `rt` (NULL: the current runtime). 0 or -errno (then fd
 * is not closed).
 */
WEFT_API int weft_tcp_stream_from_fd(weft_tcp_stream *s, struct weft_runtime *rt, int fd);
/** The descriptor (for setsockopt and the like; do not close it). */
WEFT_API int weft_tcp_stream_fd(const weft_tcp_stream *s);
/** Sets TCP_NODELAY (disables Nagle's algorithm). 0 or -errno. */
WEFT_API int weft_tcp_stream_set_nodelay(weft_tcp_stream *s, bool on);
/** Reads TCP_NODELAY into *on. 0 or -errno. */
WEFT_API int weft_tcp_stream_nodelay(const weft_tcp_stream *s, bool *on);
/** The local address. 0 or -errno. */
WEFT_API int weft_tcp_stream_local_addr(const weft_tcp_stream *s, weft_sockaddr *out);
/** The peer address. 0 or -errno (-ENOTCONN). */
WEFT_API int weft_tcp_stream_peer_addr(const weft_tcp_stream *s, weft_sockaddr *out);
/**
 * shutdown(2): SHUT_WR (the peer reads EOF), SHUT_RD or SHUT_RDWR. Never
 * blocks. 0 or -errno. (weft_shutdown_init is the same for SHUT_WR, as a
 * future over any stream.)
 */
WEFT_API int weft_tcp_stream_shutdown(weft_tcp_stream *s, int how);
/**
 * Splits `s` into owned halves that two tasks may use at once, on any
 * threads: `rd` only reads, `wr` only writes. `s` is consumed (do not close
 * it). Closing the write half shuts the write direction down; the socket is
 * closed when both halves are. Never fails.
 */
WEFT_API void weft_tcp_stream_into_split(weft_tcp_stream *s, weft_tcp_stream *rd,
                                         weft_tcp_stream *wr);
/** Closes the stream (or half). No future may be using it. Any thread. */
WEFT_API void weft_tcp_stream_close(weft_tcp_stream *s);

/* ------------------------------------------------------------------------ */
/* Datagrams: UDP and Unix datagram sockets                                  */
/* ------------------------------------------------------------------------ */

/** A UDP socket. */
typedef struct weft_udp_socket {
    weft_io_handle io;
} weft_udp_socket;

/**
 * Creates a UDP socket bound to the numeric address `addr` ("127.0.0.1:0",
 * "[::1]:0"), registered with `rt` (NULL: the current runtime).
 * Returns 0, -EINVAL, -EADDRINUSE, ... Any thread.
 */
WEFT_API int weft_udp_bind(weft_udp_socket *u, struct weft_runtime *rt, const char *addr);
/** Like weft_udp_bind with a parsed address. */
WEFT_API int weft_udp_bind_addr(weft_udp_socket *u, struct weft_runtime *rt,
                                const weft_sockaddr *addr);
/** Sets the default destination (and the only accepted source). 0 or -errno. Never blocks. */
WEFT_API int weft_udp_connect(weft_udp_socket *u, const char *addr);
/** Like weft_udp_connect with a parsed address. */
WEFT_API int weft_udp_connect_addr(weft_udp_socket *u, const weft_sockaddr *addr);
/** The local address. 0 or -errno. */
WEFT_API int weft_udp_local_addr(const weft_udp_socket *u, weft_sockaddr *out);
/** The connected peer. 0 or -errno. */
WEFT_API int weft_udp_peer_addr(const weft_udp_socket *u, weft_sockaddr *out);
/** The descriptor (for setsockopt; do not close it). */
WEFT_API int weft_udp_fd(const weft_udp_socket *u);
/** Closes the socket. No future may be using it. Any thread. */
WEFT_API void weft_udp_close(weft_udp_socket *u);

/**
 * Sends one datagram (to the connected peer, or to `to`). Output `result`:
 * bytes sent or -errno (-ECONNREFUSED after an ICMP error, -EMSGSIZE,
 * -EDESTADDRREQ). Cancel-safe: nothing is sent unless it completes.
 */
typedef struct weft_dgram_send {
    weft_future base;
    weft_io_handle *io;
    const void *buf;
    size_t len;
    const weft_sockaddr *to; /* NULL: connected peer */
    ssize_t result;          /**< output */
} weft_dgram_send;

/**
 * Receives one datagram into `buf`. Output `result`: its length (the part
 * that fit; `truncated` says whether some was cut off) or -errno; `from`:
 * the sender (recv_from only). Cancel-safe: no datagram is consumed unless
 * it completes.
 */
typedef struct weft_dgram_recv {
    weft_future base;
    weft_io_handle *io;
    void *buf;
    size_t len;
    bool want_from;
    bool truncated;      /**< output */
    ssize_t result;      /**< output */
    weft_sockaddr from;  /**< output (recv_from) */
} weft_dgram_recv;

/** send on a connected UDP socket. Returns `&f->base`. */
WEFT_API weft_future *weft_udp_send_init(weft_dgram_send *f, weft_udp_socket *u, const void *buf,
                                         size_t len);
/** send_to: `to` must outlive the future. Returns `&f->base`. */
WEFT_API weft_future *weft_udp_send_to_init(weft_dgram_send *f, weft_udp_socket *u,
                                            const void *buf, size_t len, const weft_sockaddr *to);
/** recv (from the connected peer or anyone). Returns `&f->base`. */
WEFT_API weft_future *weft_udp_recv_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf,
                                         size_t len);
/** recv_from: also stores the sender in `f->from`. Returns `&f->base`. */
WEFT_API weft_future *weft_udp_recv_from_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf,
                                              size_t len);

/* ------------------------------------------------------------------------ */
/* Unix domain sockets                                                       */
/* ------------------------------------------------------------------------ */

/** A Unix stream listener. */
typedef struct weft_unix_listener {
    weft_io_handle io;
    uint32_t backoff_ms;
    uint32_t fd_error_reported;
} weft_unix_listener;

/** A connected Unix stream socket (a weft_stream, like TCP). */
typedef struct weft_unix_stream {
    weft_stream stream;
    weft_io_handle io;
} weft_unix_stream;

/**
 * Creates a Unix stream listener at `path` ("@name": abstract namespace),
 * registered with `rt` (NULL: the current runtime). A filesystem path must
 * not exist (remove a stale one first); it is not removed on close.
 * Returns 0, -EADDRINUSE, -ENAMETOOLONG, ... Any thread.
 */
WEFT_API int weft_unix_listener_bind(weft_unix_listener *l, struct weft_runtime *rt,
                                     const char *path, int backlog);
/** The bound address. 0 or -errno. */
WEFT_API int weft_unix_listener_local_addr(const weft_unix_listener *l, weft_sockaddr *out);
/** Closes the listener. Any thread. */
WEFT_API void weft_unix_listener_close(weft_unix_listener *l);

/** Accepts one Unix connection (same fields and fd-exhaustion policy as TCP). */
typedef struct weft_unix_accept {
    WEFT__ACCEPT_FIELDS(weft_unix_listener, weft_unix_stream);
} weft_unix_accept;

/** Initialises an accept on `l`. Returns `&f->base`. */
WEFT_API weft_future *weft_unix_accept_init(weft_unix_accept *f, weft_unix_listener *l);

/**
 * Connects to the Unix stream socket at `path` (copied). Output `result`: 0
 * and `stream`, or -ENOENT, -ECONNREFUSED, -EAGAIN (the listener's backlog
 * is full), -ENAMETOOLONG, ...
 */
typedef struct weft_unix_connect {
    weft_future base;
    weft_sockaddr target;
    int parse_error;
    weft_io_handle pending;
    int state;
    int result;              /**< output */
    weft_unix_stream stream; /**< output when result == 0 */
} weft_unix_connect;

/** Initialises a connect to `path`. Returns `&f->base`. */
WEFT_API weft_future *weft_unix_connect_init(weft_unix_connect *f, const char *path);

/** Creates a connected pair of Unix streams (socketpair) on `rt`. 0 or -errno. */
WEFT_API int weft_unix_stream_pair(weft_unix_stream *a, weft_unix_stream *b,
                                   struct weft_runtime *rt);
/** The descriptor (do not close it). */
WEFT_API int weft_unix_stream_fd(const weft_unix_stream *s);
/** The local and peer addresses. 0 or -errno. */
WEFT_API int weft_unix_stream_local_addr(const weft_unix_stream *s, weft_sockaddr *out);
WEFT_API int weft_unix_stream_peer_addr(const weft_unix_stream *s, weft_sockaddr *out);
/** shutdown(2) on the stream. 0 or -errno. */
WEFT_API int weft_unix_stream_shutdown(weft_unix_stream *s, int how);
/** Owned halves, as weft_tcp_stream_into_split. */
WEFT_API void weft_unix_stream_into_split(weft_unix_stream *s, weft_unix_stream *rd,
                                          weft_unix_stream *wr);
/** Closes the stream (or half). Any thread. */
WEFT_API void weft_unix_stream_close(weft_unix_stream *s);

/** A Unix datagram socket. */
typedef struct weft_unix_datagram {
    weft_io_handle io;
} weft_unix_datagram;

/** Creates a Unix datagram socket bound to `path` ("@name": abstract). 0 or -errno. */
WEFT_API int weft_unix_datagram_bind(weft_unix_datagram *d, struct weft_runtime *rt,
                                     const char *path);
/** Creates an unbound Unix datagram socket. 0 or -errno. */
WEFT_API int weft_unix_datagram_unbound(weft_unix_datagram *d, struct weft_runtime *rt);
/** Creates a connected pair. 0 or -errno. */
WEFT_API int weft_unix_datagram_pair(weft_unix_datagram *a, weft_unix_datagram *b,
                                     struct weft_runtime *rt);
/** Sets the default destination. Never blocks. 0 or -errno. */
WEFT_API int weft_unix_datagram_connect(weft_unix_datagram *d, const char *path);
/** The local address. 0 or -errno. */
WEFT_API int weft_unix_datagram_local_addr(const weft_unix_datagram *d, weft_sockaddr *out);
/** Closes the socket. Any thread. */
WEFT_API void weft_unix_datagram_close(weft_unix_datagram *d);

/** send / send_to / recv / recv_from on a Unix datagram socket (see UDP). */
WEFT_API weft_future *weft_unix_datagram_send_init(weft_dgram_send *f, weft_unix_datagram *d,
                                                   const void *buf, size_t len);
WEFT_API weft_future *weft_unix_datagram_send_to_init(weft_dgram_send *f, weft_unix_datagram *d,
                                                      const void *buf, size_t len,
                                                      const weft_sockaddr *to);
WEFT_API weft_future *weft_unix_datagram_recv_init(weft_dgram_recv *f, weft_unix_datagram *d,
                                                   void *buf, size_t len);
WEFT_API weft_future *weft_unix_datagram_recv_from_init(weft_dgram_recv *f,
                                                        weft_unix_datagram *d, void *buf,
                                                        size_t len);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_NET_H */
