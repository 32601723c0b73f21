/* Internal pieces shared by the socket types. */
#ifndef WEFT_NET_NET_H
#define WEFT_NET_NET_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/handle.h"
#include "io/registration.h"
#include "weft/net.h"
#include "weft/runtime.h"

/* ---- addresses ----------------------------------------------------------- */

/* "host:port" split and classified. */
typedef struct weft__hostport {
    char host[256];
    char service[33];   /* the port when it is a service name ("http"), else "" */
    uint16_t port;      /* the port when it is a number */
    bool numeric_host;  /* host is an IP address (dotted quad, or bracketed IPv6) */
    bool numeric;       /* numeric host and numeric port: `addr` is the answer */
    weft_sockaddr addr; /* the address when numeric_host (port 0 with a service) */
} weft__hostport;

/*
 * Parses "host:port", "[v6]:port", where host may be a name and port a
 * service name. -EINVAL when malformed: no port, a bad port, an
 * unbracketed ':' in the host, a bracketed host that is not IPv6, a host
 * that looks numeric but is no dotted quad ("300.1.1.1", "1.2.3"), a host
 * or service with characters no name has. Pure; never blocks.
 */
int weft__hostport_parse(weft__hostport *hp, const char *text);
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

#include "net/resolver.h"

/*
 * Resolves `hp` right here, blocking the calling thread in getaddrinfo
 * when it holds a name or a service name (a numeric address answers at
 * once). `family`: AF_UNSPEC or the one wanted; `socktype`: SOCK_STREAM or
 * SOCK_DGRAM; `passive`: for bind. Returns the number of addresses stored
 * (>= 1) or -WEFT_ENOTFOUND, -WEFT_ENOADDRESS, -WEFT_ENOSERVICE,
 * -WEFT_ERESOLVER_AGAIN, -WEFT_ERESOLVER_FAIL, -ENOMEM, -errno.
 */
int weft__resolve_sync(const weft__hostport *hp, int family, int socktype, bool passive,
                       weft_sockaddr *out, size_t cap);
/* getaddrinfo's answer `rc` (EAI_*; errno for EAI_SYSTEM) as weft's error. */
int weft__gai_error(int rc, int sys_errno);
/* The same for text: -EINVAL when malformed. */
int weft__resolve_text(const char *text, int family, int socktype, bool passive,
                       weft_sockaddr *out, size_t cap);

/*
 * Starts looking up `hp` (a name, or a service name: not fully numeric)
 * for `socktype` with the runtime's resolver. Returns 0 with *out set (a
 * resolver that refused the lookup made it complete with its error), or
 * -EINVAL (no runtime) / -ENOMEM with *out NULL.
 */
int weft__resolve_start(weft_runtime *rt, const weft__hostport *hp, int socktype,
                        weft_lookup **out);
/* Polls the lookup: READY when done, with *result = count (>= 1) or a
 * negative error, and *addrs pointing at the results (owned by the lookup). */
weft_poll weft__resolve_poll(weft_lookup *l, weft_context *cx, int *result, weft_sockaddr **addrs);
/* Lets go of the future's reference; a lookup not yet answered is
 * cancelled (its answer will be discarded). NULL: nothing. */
void weft__resolve_release(weft_lookup *l);

/* ---- sockets ------------------------------------------------------------- */

/* socket(2), non-blocking and close-on-exec. fd or -errno. */
int weft__socket(int domain, int type, int proto);

/*
 * Checks that `fd` is a socket of `type` (SOCK_STREAM / SOCK_DGRAM) whose
 * family is `fam` or `fam2`, listening (listening == 1) or not (0).
 * Returns 0, -EBADF, -ENOTSOCK, -EPROTOTYPE (another type),
 * -EAFNOSUPPORT (another family) or -EINVAL (the listening state differs).
 */
int weft__sock_check(int fd, int fam, int fam2, int type, int listening);

/* Takes over a checked socket: prepares its flags, registers it with
 * `initial` readiness; on failure restores the flags (fd stays open). */
int weft__sock_adopt(weft_io_handle *io, weft_runtime *rt, int fd, uint32_t initial);

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
/* Owned halves; -EBADF if `s` is empty (the halves are then empty too). */
int weft__sock_stream_split(weft__sock_stream *s, weft__sock_stream *rd, weft__sock_stream *wr);
/* shutdown(2), -EBADF when empty. */
int weft__sock_shutdown(const weft_io_handle *io, int how);

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

/* listen(2) on the bound socket `fd` and registers it into `io` (which
 * then owns fd). 0 or -errno (fd is then still the caller's). */
int weft__listen_fd(weft_io_handle *io, weft_runtime *rt, int fd, int backlog);
/* Creates a socket for `addr`, binds it (SO_REUSEADDR if asked), listens,
 * registers. 0 or -errno. */
int weft__listen(weft_io_handle *io, weft_runtime *rt, const weft_sockaddr *addr, int backlog,
                 bool reuseaddr);

/* Datagram socket creation (UDP, Unix datagram). */
int weft__dgram_open(weft_io_handle *io, weft_runtime *rt, int domain, const weft_sockaddr *bind_to);

/* getsockname / getpeername into a weft_sockaddr (-EBADF for fd < 0). */
int weft__local_addr(int fd, weft_sockaddr *out);
int weft__peer_addr(int fd, weft_sockaddr *out);

/* setsockopt of an int; 0 or -errno. */
int weft__setsockopt_int(int fd, int level, int name, int value);
int weft__getsockopt_int(int fd, int level, int name, int *value);

#endif
