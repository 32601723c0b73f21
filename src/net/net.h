/* Internal pieces shared by the socket types. */
#ifndef WEFT_NET_NET_H
#define WEFT_NET_NET_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/registration.h"
#include "weft/net.h"
#include "weft/runtime.h"

/* ---- addresses ----------------------------------------------------------- */

/* Splits "host:port" / "[v6]:port"; host copied into `host`. -EINVAL if
 * malformed (no port, bad port, unbracketed ':' in the host, too long). */
int weft__split_host_port(const char *text, char *host, size_t host_cap, uint16_t *port,
                          bool *bracketed);
/* Parses a numeric host (IPv4, or IPv6 when bracketed). 0 or -EINVAL. */
int weft__parse_numeric_host(weft_sockaddr *out, const char *host, uint16_t port, bool bracketed);
bool weft__is_ipv4_literal(const char *host);
/* Syntactically a DNS name (letters, digits, '-', '.', '_'; 1-253 chars). */
bool weft__is_hostname(const char *host);

/* ---- running blocking work off the runtime's threads ---------------------- */

/*
 * Runs fn(arg) on the runtime's blocking pool (threads with every signal
 * blocked), never on a worker. If it cannot start — the runtime shuts down
 * first, or the spawn fails — cancel(arg) runs instead, exactly once.
 * Returns 0, or the -errno of a failed spawn (cancel has run). Any thread.
 */
int weft__offload(weft_runtime *rt, void *(*fn)(void *arg), void (*cancel)(void *arg), void *arg);
/* Calls handed to weft__offload (tests: numeric addresses never offload). */
extern _Atomic uint64_t weft__offload_count;

/* ---- name resolution ----------------------------------------------------- */

typedef struct weft__resolve_req weft__resolve_req;

/* Starts resolving (host, port) off-thread. 0 or -errno. */
int weft__resolve_start(weft_runtime *rt, const char *host, uint16_t port,
                        weft__resolve_req **out);
/* Polls the request: READY when done, with *result = count (>= 1) or
 * -errno, and *addrs pointing at the results (owned by the request). */
weft_poll weft__resolve_poll(weft__resolve_req *q, weft_context *cx, int *result,
                             weft_sockaddr **addrs);
/* Releases the caller's reference (abandons the lookup if still running). */
void weft__resolve_release(weft__resolve_req *q);

/* ---- sockets ------------------------------------------------------------- */

/* socket(2), non-blocking and close-on-exec. fd or -errno. */
int weft__socket(int domain, int type, int proto);

/* Byte streams over a connected socket (TCP and Unix share this layout). */
typedef struct weft__sock_stream {
    weft_stream stream;
    weft_io_handle io;
} weft__sock_stream;

_Static_assert(sizeof(weft_tcp_stream) == sizeof(weft__sock_stream), "layout");
_Static_assert(sizeof(weft_unix_stream) == sizeof(weft__sock_stream), "layout");

/* Stream vtables: full, read half, write half. */
extern const weft_stream_vtable weft__tcp_vtables[3];
extern const weft_stream_vtable weft__unix_vtables[3];

/* Registers a connected stream socket and fills `s` (vtables: one of the
 * arrays above). `initial`: starting readiness. 0 or -errno (fd not closed). */
int weft__sock_stream_open(weft__sock_stream *s, const weft_stream_vtable *vts,
                           weft_runtime *rt, int fd, uint32_t initial);
void weft__sock_stream_close(weft__sock_stream *s);
void weft__sock_stream_split(weft__sock_stream *s, weft__sock_stream *rd, weft__sock_stream *wr);

/* The accept future, shared by TCP and Unix (identical layouts). */
typedef struct weft__accept {
    WEFT__ACCEPT_FIELDS(weft_tcp_listener, weft__sock_stream);
} weft__accept;
_Static_assert(sizeof(weft__accept) == sizeof(weft_tcp_accept), "layout");
_Static_assert(sizeof(weft__accept) == sizeof(weft_unix_accept), "layout");
_Static_assert(offsetof(weft_tcp_listener, io) == offsetof(weft_unix_listener, io), "layout");
_Static_assert(offsetof(weft_tcp_listener, backoff_ms) == offsetof(weft_unix_listener, backoff_ms),
               "layout");
_Static_assert(offsetof(weft_tcp_listener, fd_error_reported) ==
                   offsetof(weft_unix_listener, fd_error_reported),
               "layout");

weft_future *weft__accept_init(weft__accept *f, void *listener, const weft_stream_vtable *vts);

/* Binds and listens: creates the socket, registers it. 0 or -errno. */
int weft__listen(weft_io_handle *io, weft_runtime *rt, const weft_sockaddr *addr, int backlog,
                 bool reuseaddr);

/* Datagram socket creation (UDP, Unix datagram). */
int weft__dgram_open(weft_io_handle *io, weft_runtime *rt, int domain, const weft_sockaddr *bind_to);

/* getsockname / getpeername into a weft_sockaddr. */
int weft__local_addr(int fd, weft_sockaddr *out);
int weft__peer_addr(int fd, weft_sockaddr *out);

static inline int weft__io_fd(const weft_io_handle *io) { return io->reg ? io->reg->fd : -1; }

#endif
