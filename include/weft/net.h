/**
 * @file
 * weft/net.h — sockets: TCP listeners and streams, a TCP socket builder,
 * UDP, Unix stream and datagram sockets, address parsing and name
 * resolution.
 *
 * Every operation that can wait for the network is a future; the rest
 * (bind, connect of a datagram socket, options, close) are plain calls.
 * All descriptors are non-blocking and close-on-exec, and are registered
 * with the reactor once, when the socket is created or adopted
 * (edge-triggered, read and write interest together). Errors are negative
 * errno values or weft's own codes (weft/error.h).
 *
 * Addresses. Wherever a function takes an address as text it accepts
 * "host:port" where host is a dotted quad, a bracketed IPv6 address
 * ("[::1]", "[fe80::1%eth0]") or a host name, and port is a number or a
 * service name ("localhost:8080", "example.com:https"). A malformed
 * address is -EINVAL before any socket is created: no port, a port above
 * 65535, an unbracketed IPv6 address, a host that looks numeric but is not
 * a dotted quad ("300.1.1.1", "1.2.3"). Name lookups fail with
 * -WEFT_ENOTFOUND (no such host), -WEFT_ENOADDRESS (the name has no address
 * of the family wanted), -WEFT_ENOSERVICE (unknown service name),
 * -WEFT_ERESOLVER_AGAIN (name servers did not answer: try later) or
 * -WEFT_ERESOLVER_FAIL.
 *
 * Blocking. A numeric address with a numeric port never blocks. The
 * futures (weft_resolve, weft_tcp_connect) look names up on the runtime's
 * blocking pool and never block a runtime thread. The plain calls that
 * take an address text (weft_tcp_listener_bind, weft_udp_bind,
 * weft_udp_connect, weft_tcp_socket_bind) resolve a name or service name
 * on the calling thread: they may block it in getaddrinfo for as long as
 * the name servers take. Call them with numeric addresses from a runtime
 * thread, or resolve first with weft_resolve and use the _addr variants.
 *
 * Handles. Socket objects (weft_tcp_stream, weft_udp_socket, ...) are small
 * handles: they may be copied (moved) freely while no future is using them,
 * for example into a task being spawned. Zero-initialised, a handle is
 * empty. The registration they point to lives in the runtime. A handle
 * ends with _close (closes the descriptor) or _into_fd (gives it back,
 * open and still non-blocking); after that, after into_split (for the
 * original) or after a failed open, the handle is empty: every operation
 * on it returns -EBADF (futures complete with -EBADF), and closing it again
 * does nothing. Futures still waiting on a handle when it is closed are
 * woken and complete with -EBADF. Close a handle from any thread, but not
 * while another thread is polling or dropping a future that uses it.
 *
 * An object may outlive its runtime: after weft_runtime_destroy its
 * operations fail with -ESHUTDOWN, and it must still be closed.
 *
 * Waiting together. Any number of futures may wait on one socket at once —
 * eight tasks accepting on one listener, sixteen receiving on one UDP
 * socket — and readiness wakes all of them (each then tries its operation;
 * those that find nothing wait again). Byte streams keep one reader and
 * one writer at a time (weft/io.h).
 *
 * Streams implement the weft_stream interface of weft/io.h: read and write
 * them with weft_read_init(&f, &s.stream, ...), weft_write_all_init, etc.
 * SIGPIPE is never raised (writes use MSG_NOSIGNAL); a peer that went away
 * gives -EPIPE or -ECONNRESET on that stream only.
 *
 * Threads: unless a comment says otherwise, the plain functions here may be
 * called from any thread, and the futures are polled on a runtime thread.
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

/** @defgroup addr Addresses and name resolution
 * @{ */
/** A socket address: IPv4, IPv6 or Unix, with its length. */
typedef struct weft_sockaddr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
    } u;           /**< the address, by family: `u.sa` for the socket calls */
    socklen_t len; /**< its length in bytes, as the socket calls take it */
} weft_sockaddr;

/** Longest text weft_sockaddr_format writes for an IP address, with the NUL. */
#define WEFT_SOCKADDR_STRLEN 64

/**
 * Parses a numeric socket address: "1.2.3.4:80", "[::1]:80",
 * "[fe80::1%eth0]:80". The port (0-65535) is required; an IPv6 address must
 * be bracketed. Returns 0, or -EINVAL for anything else (names and service
 * names included: resolve those with weft_resolve). Pure, never blocks;
 * any thread.
 */
WEFT_API int weft_sockaddr_parse(weft_sockaddr *out, const char *text);
/** Builds an address from a numeric IP ("127.0.0.1", "::1") and a port.
 *  0 or -EINVAL. Pure; any thread. */
WEFT_API int weft_sockaddr_ip(weft_sockaddr *out, const char *ip, uint16_t port);
/**
 * Builds a Unix address from a path. A leading '@' names the Linux abstract
 * namespace ("@weft-test" is "\0weft-test"). Returns 0, -EINVAL (empty or
 * NULL) or -ENAMETOOLONG. Pure; any thread.
 */
WEFT_API int weft_sockaddr_unix(weft_sockaddr *out, const char *path);
/**
 * Writes `a` as text ("1.2.3.4:80", "[::1]:80", a Unix path, "@name" for
 * abstract, "(unnamed)") into `buf`. Returns the length, or -ENOSPC /
 * -EAFNOSUPPORT. Pure; any thread.
 */
WEFT_API int weft_sockaddr_format(const weft_sockaddr *a, char *buf, size_t cap);
/** The port of an IP address (host order), or 0 for other families. Any thread. */
WEFT_API uint16_t weft_sockaddr_port(const weft_sockaddr *a);
/** Sets the port of an IP address (other families: nothing). Any thread. */
WEFT_API void weft_sockaddr_set_port(weft_sockaddr *a, uint16_t port);
/** True if the two addresses are equal (family, address, port / path). Any thread. */
WEFT_API bool weft_sockaddr_equal(const weft_sockaddr *a, const weft_sockaddr *b);

/**
 * Resolves "host:port" (see "Addresses" above; a service name is looked up
 * for TCP) to at most `cap` addresses stored in `out`. A numeric address is
 * answered on the spot; a name goes to the runtime's resolver
 * (weft/resolver.h: getaddrinfo on the blocking pool by default, c-ares
 * with weft-ares), never blocking a runtime thread. Output `result`: the number of addresses
 * (>= 1), or -EINVAL (malformed), -WEFT_ENOTFOUND, -WEFT_ENOADDRESS,
 * -WEFT_ENOSERVICE, -WEFT_ERESOLVER_AGAIN, -WEFT_ERESOLVER_FAIL, -ENOMEM,
 * -ETIMEDOUT (c-ares: no name server answered), -ENOSPC (cap is 0).
 * Cancel-safe: dropping it abandons the lookup (the resolver is told; an
 * answer that still comes is discarded).
 */
typedef struct weft_resolve {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    char text[300]; /**< @private */
    weft_sockaddr *out; /**< @private */
    size_t cap; /**< @private */
    struct weft_lookup *req; /**< @private */
    int result; /**< output */
} weft_resolve;

/** Initialises a resolution of `text` (copied; too long a text is -EINVAL
 *  at the first poll). No work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_resolve_init(weft_resolve *f, const char *text, weft_sockaddr *out,
                                        size_t cap);

/** @} */

/* ------------------------------------------------------------------------ */
/* TCP                                                                       */
/* ------------------------------------------------------------------------ */

/** @defgroup tcp TCP listeners and streams
 * @{ */
/** A TCP listener. Zero-initialised, it is empty. */
typedef struct weft_tcp_listener {
    weft_io_handle io; /**< @private */
    uint32_t backoff_ms;        /**< @private accept back-off after EMFILE/ENFILE (atomic access) */
    uint32_t fd_error_reported; /**< @private the exhaustion was reported (atomic access) */
} weft_tcp_listener;

/**
 * Creates a listener on `addr` ("127.0.0.1:0", "[::1]:8080", "0.0.0.0:80",
 * "localhost:http") with SO_REUSEADDR and the given backlog (<= 0:
 * SOMAXCONN), registered with `rt` (NULL: the runtime of the calling
 * task). A name is resolved on this thread (it may block; see the top of
 * this file) and each of its addresses tried until one binds. Port 0 picks
 * a free port: read it with weft_tcp_listener_port. Returns 0, -EINVAL
 * (malformed address or no runtime), a resolver error, -EADDRINUSE,
 * -EACCES, -EMFILE, ... (`l` is then empty). For other options
 * (SO_REUSEPORT, IPV6_V6ONLY, buffer sizes) use weft_tcp_socket. Any thread.
 */
WEFT_API int weft_tcp_listener_bind(weft_tcp_listener *l, struct weft_runtime *rt,
                                    const char *addr, int backlog);
/** Like weft_tcp_listener_bind with a parsed address. Never blocks. Any thread. */
WEFT_API int weft_tcp_listener_bind_addr(weft_tcp_listener *l, struct weft_runtime *rt,
                                         const weft_sockaddr *addr, int backlog);
/**
 * Takes over `fd`, a listening TCP socket you already have (inherited
 * through systemd socket activation, say): checks that it is a listening
 * IPv4 or IPv6 stream socket, makes it non-blocking and close-on-exec, and
 * registers it with `rt` (NULL: the runtime of the calling task).
 * Connections already queued are accepted at the first accept. Returns 0,
 * -EBADF (not an open descriptor), -ENOTSOCK, -EPROTOTYPE (not a stream
 * socket), -EAFNOSUPPORT (not IP), -EINVAL (not listening, or no runtime),
 * -ENOMEM, -ESHUTDOWN. On failure `fd` stays yours, its flags unchanged.
 * Any thread.
 */
WEFT_API int weft_tcp_listener_adopt(weft_tcp_listener *l, struct weft_runtime *rt, int fd);
/** The listening descriptor, or -EBADF if `l` is empty. Do not close it. Any thread. */
WEFT_API int weft_tcp_listener_fd(const weft_tcp_listener *l);
/** The bound address (with the chosen port). 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_tcp_listener_local_addr(const weft_tcp_listener *l, weft_sockaddr *out);
/** The bound port, or 0 if unknown or `l` is empty. Any thread. */
WEFT_API uint16_t weft_tcp_listener_port(const weft_tcp_listener *l);
/**
 * Closes the listener (`l` is then empty). Accepts still waiting on it are
 * woken and complete with -EBADF; connections not yet accepted are reset
 * by the kernel. Any thread (see "Handles" above).
 */
WEFT_API void weft_tcp_listener_close(weft_tcp_listener *l);
/**
 * Stops watching the listening descriptor and returns it, open (still
 * non-blocking); `l` is then empty, as after close. -EBADF if `l` is
 * empty. Any thread (see "Handles" above).
 */
WEFT_API int weft_tcp_listener_into_fd(weft_tcp_listener *l);

/** A connected TCP stream (or one half of one, after into_split).
 *  Zero-initialised, it is empty. */
typedef struct weft_tcp_stream {
    weft_stream stream; /**< the byte-stream interface: pass &s.stream */
    weft_io_handle io; /**< @private */
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
    weft_io_waiter wait;  /* private */                                            \
    bool backing_off;                                                              \
    int result;           /**< output: 0 or -errno */                              \
    STREAM stream;        /**< output: the accepted stream (yours to close) */     \
    weft_sockaddr peer    /**< output: its peer address */

/**
 * Accepts one connection. Output `result`: 0 with `stream` and `peer`, or
 * -EBADF (the listener is empty or was closed while waiting), -ESHUTDOWN,
 * -EMFILE (see above), ... Any number of accepts may wait on one listener
 * at once, from any tasks; each connection goes to exactly one of them.
 * Cancel-safe: dropping it loses no connection.
 */
typedef struct weft_tcp_accept {
    WEFT__ACCEPT_FIELDS(weft_tcp_listener, weft_tcp_stream);
} weft_tcp_accept;

/** Initialises an accept on `l` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_tcp_accept_init(weft_tcp_accept *f, weft_tcp_listener *l);

/**
 * Connects to "host:port" (see "Addresses": a name is resolved on the
 * blocking pool, and each of its addresses tried in turn), to a parsed
 * address, or from a socket built with weft_tcp_socket. Output `result`: 0
 * and `stream`, or -EINVAL (malformed address: nothing was created or
 * registered), a resolver error, -ECONNREFUSED, -ENETUNREACH,
 * -EHOSTUNREACH, -ETIMEDOUT (the kernel gave up), -EBADF (an empty
 * builder), ... (the error of the last address tried). For your own time
 * limit wrap it in weft_timeout. Cancel-safe in the sense that matters:
 * dropping it closes the half-open socket and abandons the lookup, and
 * nothing else was touched.
 */
typedef struct weft_tcp_connect {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    char text[300]; /**< @private */
    weft_sockaddr target; /**< @private */
    weft_sockaddr *addrs; /**< @private resolved list (inside req) or &target */
    size_t naddrs; /**< @private */
    size_t next;   /**< @private */
    struct weft_lookup *req; /**< @private */
    weft_io_handle pending; /**< @private socket being connected */
    weft_io_waiter wait;    /**< @private */
    int own_fd;             /**< @private socket from weft_tcp_socket, or -1 */
    int state; /**< @private */
    int last_error; /**< @private */
    int result;              /**< output */
    weft_tcp_stream stream;  /**< output when result == 0 */
} weft_tcp_connect;

/** Initialises a connect to "host:port" (copied; no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_tcp_connect_init(weft_tcp_connect *f, const char *addr);
/** Initialises a connect to a parsed address (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_tcp_connect_addr_init(weft_tcp_connect *f, const weft_sockaddr *addr);

/**
 * Takes over `fd`, a TCP socket you already have (connected, or connecting
 * non-blocking): checks that it is an IPv4 or IPv6 stream socket that is
 * not listening, makes it non-blocking and close-on-exec, and registers it
 * with `rt` (NULL: the runtime of the calling task). Returns 0, -EBADF,
 * -ENOTSOCK, -EPROTOTYPE, -EAFNOSUPPORT, -EINVAL (a listening socket: use
 * weft_tcp_listener_adopt; or no runtime), -ENOMEM, -ESHUTDOWN. On failure
 * `fd` stays yours, its flags unchanged. Any thread.
 */
WEFT_API int weft_tcp_stream_adopt(weft_tcp_stream *s, struct weft_runtime *rt, int fd);
/** The descriptor (for getsockopt and the like; do not close it), or -EBADF
 *  if `s` is empty. Any thread. */
WEFT_API int weft_tcp_stream_fd(const weft_tcp_stream *s);
/**
 * Runs `op(fd, arg)` on the stream's descriptor once it is ready for
 * `interest` (Tokio's TcpStream::async_io), for system calls weft has no
 * future for: sendfile(2), splice(2), MSG_ZEROCOPY sends. `op` returns a
 * count (>= 0) or -errno; -EAGAIN clears the readiness it was called on
 * and waits again (the task is woken when the descriptor is ready).
 * Returns READY with *res set to op's result (-EBADF for an empty
 * stream), or PENDING. The wait uses the stream's read or write slot: it
 * counts as that direction's one operation (weft/io.h). Spends one unit of
 * the cooperative budget. Runtime thread.
 */
WEFT_API weft_poll weft_tcp_stream_poll_io(weft_tcp_stream *s, weft_context *cx,
                                           weft_interest interest,
                                           ssize_t (*op)(int fd, void *arg), void *arg,
                                           ssize_t *res);
/** Sets TCP_NODELAY (disables Nagle's algorithm). 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_tcp_stream_set_nodelay(weft_tcp_stream *s, bool on);
/** Reads TCP_NODELAY into *on. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_tcp_stream_nodelay(const weft_tcp_stream *s, bool *on);
/** The local address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_tcp_stream_local_addr(const weft_tcp_stream *s, weft_sockaddr *out);
/** The peer address. 0 or -errno (-ENOTCONN, -EBADF if empty). Any thread. */
WEFT_API int weft_tcp_stream_peer_addr(const weft_tcp_stream *s, weft_sockaddr *out);
/**
 * shutdown(2): SHUT_WR (the peer reads EOF), SHUT_RD or SHUT_RDWR. Never
 * blocks. 0 or -errno (-EBADF if empty). (weft_shutdown_init is the same
 * for SHUT_WR, as a future over any stream.) Any thread.
 */
WEFT_API int weft_tcp_stream_shutdown(weft_tcp_stream *s, int how);
/**
 * Splits `s` into owned halves that two tasks may use at once, on any
 * threads: `rd` only reads, `wr` only writes. `s` is moved from (empty
 * afterwards, unless it is one of the halves itself). Closing the write
 * half shuts the write direction down; the socket is closed when both
 * halves are. Returns 0, or -EBADF if `s` is empty (the halves are then
 * empty too). Any thread, while no future is using `s`.
 */
WEFT_API int weft_tcp_stream_into_split(weft_tcp_stream *s, weft_tcp_stream *rd,
                                        weft_tcp_stream *wr);
/**
 * Closes the stream, or one half of a split stream (a read or write still
 * waiting on that half is woken and completes with -EBADF); `s` is then
 * empty. Any thread (see "Handles" above).
 */
WEFT_API void weft_tcp_stream_close(weft_tcp_stream *s);
/**
 * Stops watching the descriptor and returns it, open (still non-blocking);
 * `s` is then empty, as after close. -EBADF if `s` is empty, -EBUSY for a
 * split half while the other half is open (`s` is then left as it was).
 * Any thread (see "Handles" above).
 */
WEFT_API int weft_tcp_stream_into_fd(weft_tcp_stream *s);

/** @} */

/* ------------------------------------------------------------------------ */
/* The TCP socket builder                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup tcp_socket TCP socket builder
 * @{ */
/**
 * A TCP socket being set up (Tokio's TcpSocket): open it for IPv4 or IPv6,
 * set the options that must come before bind or connect, then either bind
 * and listen (into a weft_tcp_listener) or connect (a future giving a
 * weft_tcp_stream). It is not registered with any runtime until then.
 * Zero-initialised, it is empty; its functions then return -EBADF.
 */
typedef struct weft_tcp_socket {
    int fd; /**< @private */
    bool open; /**< @private */
} weft_tcp_socket;

/** Creates an IPv4 TCP socket (non-blocking, close-on-exec). 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_open_v4(weft_tcp_socket *s);
/** Creates an IPv6 TCP socket. 0 or -errno (-EAFNOSUPPORT without IPv6). Any thread. */
WEFT_API int weft_tcp_socket_open_v6(weft_tcp_socket *s);
/**
 * Takes over `fd`, an IPv4 or IPv6 stream socket that is neither listening
 * nor (necessarily) bound, making it non-blocking and close-on-exec.
 * Returns 0, -EBADF, -ENOTSOCK, -EPROTOTYPE, -EAFNOSUPPORT, -EINVAL (a
 * listening socket). On failure `fd` stays yours, its flags unchanged.
 * Any thread.
 */
WEFT_API int weft_tcp_socket_adopt(weft_tcp_socket *s, int fd);
/** SO_REUSEADDR. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_tcp_socket_set_reuseaddr(weft_tcp_socket *s, bool on);
/** SO_REUSEPORT (several sockets bound to one port; the kernel spreads
 *  connections). 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_set_reuseport(weft_tcp_socket *s, bool on);
/** IPV6_V6ONLY on an IPv6 socket (false: also accept IPv4-mapped peers).
 *  0 or -errno (-ENOPROTOOPT on an IPv4 socket). Any thread. */
WEFT_API int weft_tcp_socket_set_v6only(weft_tcp_socket *s, bool on);
/** SO_RCVBUF in bytes (the kernel doubles it and applies its limits; read
 *  the result back with weft_tcp_socket_recv_buffer_size). 0 or -errno
 *  (-EINVAL above INT_MAX). Any thread. */
WEFT_API int weft_tcp_socket_set_recv_buffer_size(weft_tcp_socket *s, size_t bytes);
/** SO_SNDBUF in bytes, as above. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_set_send_buffer_size(weft_tcp_socket *s, size_t bytes);
/** Reads SO_RCVBUF into *bytes. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_recv_buffer_size(const weft_tcp_socket *s, size_t *bytes);
/** Reads SO_SNDBUF into *bytes. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_send_buffer_size(const weft_tcp_socket *s, size_t *bytes);
/** TCP_NODELAY (also inherited by the stream it connects). 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_set_nodelay(weft_tcp_socket *s, bool on);
/** SO_KEEPALIVE. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_set_keepalive(weft_tcp_socket *s, bool on);
/** SO_LINGER: on with `seconds` (0: close resets the connection), or off.
 *  0 or -errno (-EINVAL above INT_MAX seconds). Any thread. */
WEFT_API int weft_tcp_socket_set_linger(weft_tcp_socket *s, bool on, unsigned seconds);
/** Any other option before bind or connect: setsockopt(2) on the socket.
 *  0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_setsockopt(weft_tcp_socket *s, int level, int name, const void *value,
                                        socklen_t len);
/** getsockopt(2) on the socket; *len in/out. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_getsockopt(const weft_tcp_socket *s, int level, int name, void *value,
                                        socklen_t *len);
/**
 * Binds to `addr` (see "Addresses"; a name is resolved on this thread and
 * may block; its first address of the socket's family is used). Returns 0,
 * -EINVAL, a resolver error (-WEFT_ENOADDRESS: no address of this family),
 * -EADDRINUSE, -EACCES, -EBADF, ... Any thread.
 */
WEFT_API int weft_tcp_socket_bind(weft_tcp_socket *s, const char *addr);
/** Binds to a parsed address. Never blocks. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_bind_addr(weft_tcp_socket *s, const weft_sockaddr *addr);
/** The bound address. 0 or -errno. Any thread. */
WEFT_API int weft_tcp_socket_local_addr(const weft_tcp_socket *s, weft_sockaddr *out);
/**
 * Listens with `backlog` (<= 0: SOMAXCONN) and registers the socket with
 * `rt` (NULL: the runtime of the calling task) as the listener `l`. On
 * success `s` is empty (the listener owns the socket); on failure `s` keeps
 * it and `l` is empty. Returns 0, -EBADF, -EINVAL (no runtime), -EADDRINUSE
 * (nothing bound and no free port), ... Any thread.
 */
WEFT_API int weft_tcp_socket_listen(weft_tcp_socket *s, struct weft_runtime *rt, int backlog,
                                    weft_tcp_listener *l);
/**
 * Initialises a connect of the socket `s` to `addr` (the socket's family).
 * The future takes the socket at once (`s` is empty afterwards) and closes
 * it if dropped before it completes; when connected, `stream` owns it.
 * Output as weft_tcp_connect (-EBADF at the first poll if `s` was empty,
 * -EINVAL for a NULL address). Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_tcp_socket_connect_init(weft_tcp_connect *f, weft_tcp_socket *s,
                                                   const weft_sockaddr *addr);
/** The descriptor, or -EBADF if `s` is empty. Do not close it. Any thread. */
WEFT_API int weft_tcp_socket_fd(const weft_tcp_socket *s);
/** Gives the descriptor back, open; `s` is empty afterwards. -EBADF if empty. Any thread. */
WEFT_API int weft_tcp_socket_into_fd(weft_tcp_socket *s);
/** Closes the socket; `s` is empty afterwards (closing again does nothing). Any thread. */
WEFT_API void weft_tcp_socket_close(weft_tcp_socket *s);

/** @} */

/* ------------------------------------------------------------------------ */
/* Datagrams: UDP and Unix datagram sockets                                  */
/* ------------------------------------------------------------------------ */

/** @defgroup udp UDP and datagrams
 * @{ */
/** A UDP socket. Zero-initialised, it is empty. */
typedef struct weft_udp_socket {
    weft_io_handle io; /**< @private */
} weft_udp_socket;

/**
 * Creates a UDP socket bound to `addr` ("127.0.0.1:0", "[::1]:0",
 * "localhost:0", "0.0.0.0:domain"), registered with `rt` (NULL: the
 * runtime of the calling task). A name is resolved on this thread (it may
 * block) and each address tried until one binds. Returns 0, -EINVAL, a
 * resolver error, -EADDRINUSE, ... (`u` is then empty). Any thread.
 */
WEFT_API int weft_udp_bind(weft_udp_socket *u, struct weft_runtime *rt, const char *addr);
/** Like weft_udp_bind with a parsed address. Never blocks. Any thread. */
WEFT_API int weft_udp_bind_addr(weft_udp_socket *u, struct weft_runtime *rt,
                                const weft_sockaddr *addr);
/**
 * Takes over `fd`, an IPv4 or IPv6 datagram socket you already have (bound
 * or not), making it non-blocking and close-on-exec and registering it
 * with `rt` (NULL: the runtime of the calling task). Returns 0, -EBADF,
 * -ENOTSOCK, -EPROTOTYPE, -EAFNOSUPPORT, -EINVAL (no runtime), -ENOMEM,
 * -ESHUTDOWN. On failure `fd` stays yours, its flags unchanged. Any thread.
 */
WEFT_API int weft_udp_adopt(weft_udp_socket *u, struct weft_runtime *rt, int fd);
/**
 * Sets the default destination (and the only accepted source) to `addr`
 * (see "Addresses"; a name is resolved on this thread and may block, and
 * its first address of the socket's family is used). 0, -EINVAL, a
 * resolver error, -EBADF, or -errno. Any thread.
 */
WEFT_API int weft_udp_connect(weft_udp_socket *u, const char *addr);
/** Like weft_udp_connect with a parsed address. Never blocks. Any thread. */
WEFT_API int weft_udp_connect_addr(weft_udp_socket *u, const weft_sockaddr *addr);
/** The local address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_udp_local_addr(const weft_udp_socket *u, weft_sockaddr *out);
/** The connected peer. 0 or -errno (-ENOTCONN, -EBADF if empty). Any thread. */
WEFT_API int weft_udp_peer_addr(const weft_udp_socket *u, weft_sockaddr *out);
/** The descriptor (for setsockopt; do not close it), or -EBADF if empty. Any thread. */
WEFT_API int weft_udp_fd(const weft_udp_socket *u);
/** Closes the socket (`u` is then empty); sends and receives still waiting
 *  on it complete with -EBADF. Any thread (see "Handles" above). */
WEFT_API void weft_udp_close(weft_udp_socket *u);
/** Gives the descriptor back, open (still non-blocking); `u` is then
 *  empty. -EBADF if empty. Any thread (see "Handles" above). */
WEFT_API int weft_udp_into_fd(weft_udp_socket *u);

/**
 * Sends one datagram (to the connected peer, or to `to`). Output `result`:
 * bytes sent or -errno (-ECONNREFUSED after an ICMP error, -EMSGSIZE,
 * -EDESTADDRREQ, -EBADF for an empty or closed socket). Any number of
 * sends may wait on one socket at once. Cancel-safe: nothing is sent
 * unless it completes.
 */
typedef struct weft_dgram_send {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_io_handle *io; /**< @private */
    const void *buf; /**< @private */
    size_t len; /**< @private */
    const weft_sockaddr *to; /**< @private NULL: connected peer */
    weft_io_waiter wait;     /**< @private */
    ssize_t result;          /**< output */
} weft_dgram_send;

/**
 * Receives one datagram into `buf`. Output `result`: its length (the part
 * that fit; `truncated` says whether some was cut off) or -errno (-EBADF
 * for an empty or closed socket); `from`: the sender (recv_from only). Any
 * number of receives may wait on one socket at once; each datagram goes to
 * exactly one of them. Cancel-safe: no datagram is consumed unless it
 * completes.
 */
typedef struct weft_dgram_recv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_io_handle *io; /**< @private */
    void *buf; /**< @private */
    size_t len; /**< @private */
    bool want_from; /**< @private */
    bool truncated;      /**< output */
    weft_io_waiter wait; /**< @private */
    ssize_t result;      /**< output */
    weft_sockaddr from;  /**< output (recv_from) */
} weft_dgram_recv;

/** send on a connected UDP socket (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_udp_send_init(weft_dgram_send *f, weft_udp_socket *u, const void *buf,
                                         size_t len);
/** send_to: `to` must outlive the future (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_udp_send_to_init(weft_dgram_send *f, weft_udp_socket *u,
                                            const void *buf, size_t len, const weft_sockaddr *to);
/** recv (from the connected peer or anyone; no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_udp_recv_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf,
                                         size_t len);
/** recv_from: also stores the sender in `f->from` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_udp_recv_from_init(weft_dgram_recv *f, weft_udp_socket *u, void *buf,
                                              size_t len);

/** @} */

/* ------------------------------------------------------------------------ */
/* Unix domain sockets                                                       */
/* ------------------------------------------------------------------------ */

/** @defgroup unix Unix domain sockets
 * @{ */
/** A Unix stream listener. Zero-initialised, it is empty. */
typedef struct weft_unix_listener {
    weft_io_handle io; /**< @private */
    uint32_t backoff_ms; /**< @private */
    uint32_t fd_error_reported; /**< @private */
} weft_unix_listener;

/** A connected Unix stream socket (a weft_stream, like TCP). Zero-initialised, it is empty. */
typedef struct weft_unix_stream {
    weft_stream stream; /**< the byte-stream interface: pass `&s->stream` to any stream function */
    weft_io_handle io; /**< @private */
} weft_unix_stream;

/**
 * Creates a Unix stream listener at `path` ("@name": abstract namespace),
 * registered with `rt` (NULL: the runtime of the calling task). A
 * filesystem path must not exist (remove a stale one first); it is not
 * removed on close. Returns 0, -EADDRINUSE, -ENAMETOOLONG, ... (`l` is
 * then empty). Never blocks. Any thread.
 */
WEFT_API int weft_unix_listener_bind(weft_unix_listener *l, struct weft_runtime *rt,
                                     const char *path, int backlog);
/**
 * Takes over `fd`, a listening Unix stream socket (socket activation):
 * checks it, makes it non-blocking and close-on-exec and registers it with
 * `rt` (NULL: the runtime of the calling task). Errors as
 * weft_tcp_listener_adopt (-EAFNOSUPPORT: not a Unix socket). On failure
 * `fd` stays yours, its flags unchanged. Any thread.
 */
WEFT_API int weft_unix_listener_adopt(weft_unix_listener *l, struct weft_runtime *rt, int fd);
/** The listening descriptor, or -EBADF if `l` is empty. Any thread. */
WEFT_API int weft_unix_listener_fd(const weft_unix_listener *l);
/** The bound address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_listener_local_addr(const weft_unix_listener *l, weft_sockaddr *out);
/** Closes the listener (`l` is then empty); accepts still waiting complete
 *  with -EBADF. Any thread (see "Handles" above). */
WEFT_API void weft_unix_listener_close(weft_unix_listener *l);
/** Gives the listening descriptor back, open; `l` is then empty. -EBADF if
 *  empty. Any thread (see "Handles" above). */
WEFT_API int weft_unix_listener_into_fd(weft_unix_listener *l);

/** Accepts one Unix connection (same fields, cancel-safety, waiters and
 *  fd-exhaustion policy as weft_tcp_accept). */
typedef struct weft_unix_accept {
    WEFT__ACCEPT_FIELDS(weft_unix_listener, weft_unix_stream);
} weft_unix_accept;

/** Initialises an accept on `l` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_accept_init(weft_unix_accept *f, weft_unix_listener *l);

/**
 * Connects to the Unix stream socket at `path` (copied). Output `result`: 0
 * and `stream`, or -ENOENT, -ECONNREFUSED, -EAGAIN (the listener's backlog
 * is full), -ENAMETOOLONG, ... Dropping it closes the half-open socket.
 */
typedef struct weft_unix_connect {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_sockaddr target; /**< @private */
    int parse_error; /**< @private */
    weft_io_handle pending; /**< @private */
    weft_io_waiter wait; /**< @private */
    int state; /**< @private */
    int result;              /**< output */
    weft_unix_stream stream; /**< output when result == 0 */
} weft_unix_connect;

/** Initialises a connect to `path` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_connect_init(weft_unix_connect *f, const char *path);

/** Creates a connected pair of Unix streams (socketpair) on `rt`. 0 or
 *  -errno (both then empty). Any thread. */
WEFT_API int weft_unix_stream_pair(weft_unix_stream *a, weft_unix_stream *b,
                                   struct weft_runtime *rt);
/**
 * Takes over `fd`, a Unix stream socket that is not listening (connected,
 * or one end of a socketpair), making it non-blocking and close-on-exec and
 * registering it. Errors as weft_tcp_stream_adopt. On failure `fd` stays
 * yours, its flags unchanged. Any thread.
 */
WEFT_API int weft_unix_stream_adopt(weft_unix_stream *s, struct weft_runtime *rt, int fd);
/** The descriptor (do not close it), or -EBADF if `s` is empty. Any thread. */
WEFT_API int weft_unix_stream_fd(const weft_unix_stream *s);
/** The local address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_stream_local_addr(const weft_unix_stream *s, weft_sockaddr *out);
/** The peer address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_stream_peer_addr(const weft_unix_stream *s, weft_sockaddr *out);
/** shutdown(2) on the stream. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_stream_shutdown(weft_unix_stream *s, int how);
/** Owned halves, as weft_tcp_stream_into_split. 0 or -EBADF. */
WEFT_API int weft_unix_stream_into_split(weft_unix_stream *s, weft_unix_stream *rd,
                                         weft_unix_stream *wr);
/** Closes the stream (or half), as weft_tcp_stream_close. Any thread. */
WEFT_API void weft_unix_stream_close(weft_unix_stream *s);
/** Gives the descriptor back, as weft_tcp_stream_into_fd. */
WEFT_API int weft_unix_stream_into_fd(weft_unix_stream *s);

/** A Unix datagram socket. Zero-initialised, it is empty. */
typedef struct weft_unix_datagram {
    weft_io_handle io; /**< @private */
} weft_unix_datagram;

/** Creates a Unix datagram socket bound to `path` ("@name": abstract). 0 or
 *  -errno (`d` is then empty). Any thread. */
WEFT_API int weft_unix_datagram_bind(weft_unix_datagram *d, struct weft_runtime *rt,
                                     const char *path);
/** Creates an unbound Unix datagram socket. 0 or -errno. Any thread. */
WEFT_API int weft_unix_datagram_unbound(weft_unix_datagram *d, struct weft_runtime *rt);
/** Creates a connected pair. 0 or -errno (both then empty). Any thread. */
WEFT_API int weft_unix_datagram_pair(weft_unix_datagram *a, weft_unix_datagram *b,
                                     struct weft_runtime *rt);
/** Takes over `fd`, a Unix datagram socket, as weft_udp_adopt (-EAFNOSUPPORT:
 *  not a Unix socket). On failure `fd` stays yours. Any thread. */
WEFT_API int weft_unix_datagram_adopt(weft_unix_datagram *d, struct weft_runtime *rt, int fd);
/** Sets the default destination. Never blocks. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_datagram_connect(weft_unix_datagram *d, const char *path);
/** The local address. 0 or -errno (-EBADF if empty). Any thread. */
WEFT_API int weft_unix_datagram_local_addr(const weft_unix_datagram *d, weft_sockaddr *out);
/** The descriptor (do not close it), or -EBADF if `d` is empty. Any thread. */
WEFT_API int weft_unix_datagram_fd(const weft_unix_datagram *d);
/** Closes the socket (`d` is then empty); sends and receives still waiting
 *  complete with -EBADF. Any thread (see "Handles" above). */
WEFT_API void weft_unix_datagram_close(weft_unix_datagram *d);
/** Gives the descriptor back, open; `d` is then empty. -EBADF if empty. Any
 *  thread (see "Handles" above). */
WEFT_API int weft_unix_datagram_into_fd(weft_unix_datagram *d);

/** send / send_to / recv / recv_from on a Unix datagram socket (see UDP;
 *  no work). Return `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_datagram_send_init(weft_dgram_send *f, weft_unix_datagram *d,
                                                   const void *buf, size_t len);
/** send_to on a Unix datagram socket: `to` must outlive the future. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_datagram_send_to_init(weft_dgram_send *f, weft_unix_datagram *d,
                                                      const void *buf, size_t len,
                                                      const weft_sockaddr *to);
/** recv on a Unix datagram socket. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_datagram_recv_init(weft_dgram_recv *f, weft_unix_datagram *d,
                                                   void *buf, size_t len);
/** recv_from on a Unix datagram socket: also stores the sender in `f->from`. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_unix_datagram_recv_from_init(weft_dgram_recv *f,
                                                        weft_unix_datagram *d, void *buf,
                                                        size_t len);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_NET_H */
