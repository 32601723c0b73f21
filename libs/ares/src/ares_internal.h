/*
 * weft-ares internals.
 *
 * One c-ares channel per runtime, behind one mutex. c-ares before 1.23
 * (Debian 12 has 1.18) is not thread-safe: a channel must be used by one
 * thread at a time. On a multi_thread runtime lookups start on every
 * worker, so either the channel is locked, or each worker has its own, or
 * every start is handed to one task. Per-worker channels do not fit weft:
 * tasks move between workers (stealing), and a lookup would have to stay
 * on the worker that owns its queries, each channel with its own sockets
 * and timers. Handing each start to the driver task costs a task wake-up
 * and a queue per lookup. The lock costs little: everything done under it
 * is short and never blocks (ares_getaddrinfo sends a datagram;
 * ares_process_fd reads what the socket holds; the hosts file is read
 * outside it), and the driver holds it only while it serves the sockets
 * that are ready.
 *
 * The driver: one task per runtime (spawned by the first lookup that needs
 * DNS) polls a readiness future per c-ares socket and direction and one
 * sleep set to ares_timeout(), and calls ares_process_fd for what became
 * ready or expired. c-ares says which sockets exist and what it waits for
 * through its socket-state callback (ARES_OPT_SOCK_STATE_CB), which runs
 * under the lock wherever c-ares runs: the socket is adopted as a
 * weft_async_fd when it opens, its futures re-armed when the interest
 * changes, and it is given back (weft_async_fd_into_fd, c-ares closes it)
 * when c-ares closes it.
 */
#ifndef WEFT_ARES_INTERNAL_H
#define WEFT_ARES_INTERNAL_H

#include <ares.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <weft.h>
#include <weft/ares.h>

/* ---- the hosts file (hosts.c) ----------------------------------------------- */

typedef struct weft__ares_host {
    char *name; /* lower case */
    size_t line;
    weft_sockaddr addr; /* port 0 */
} weft__ares_host;

/* The parsed hosts file, read again when its identity or time changes. */
typedef struct weft__ares_hosts {
    pthread_mutex_t lock;
    char *path; /* NULL: no hosts file */
    bool loaded;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    weft__ares_host *entries; /* sorted by name, then line */
    size_t n;
} weft__ares_hosts;

/* `path` NULL: no hosts file. 0 or -ENOMEM. */
int weft__ares_hosts_init(weft__ares_hosts *h, const char *path);
void weft__ares_hosts_destroy(weft__ares_hosts *h);
/* Adds the addresses `name` has in the file (with `port`) to `l`. Returns
 * the number added (0: not there, or not of the family wanted) or
 * -ENOMEM. Any thread. */
int weft__ares_hosts_lookup(weft__ares_hosts *h, const char *name, uint16_t port, weft_lookup *l);

/* ---- the resolver ------------------------------------------------------------ */

/* A socket of the channel, watched through the reactor. */
typedef struct weft__ares_sock {
    struct weft__ares_sock *next;
    uint64_t id; /* unique: descriptors are reused as c-ares closes and opens */
    int fd;
    bool want_read, want_write; /* what c-ares waits for */
    bool watched;               /* adopted: `afd` is registered */
    bool rd_armed, wr_armed;    /* `rd`/`wr` initialised, not completed or dropped */
    weft_async_fd afd;
    weft_async_fd_ready rd, wr;
} weft__ares_sock;

typedef struct weft__ares {
    pthread_mutex_t lock; /* everything below, and every call into the channel */
    ares_channel channel; /* NULL once shut down */
    weft_runtime *rt;     /* the runtime owns us: no reference */
    weft__ares_sock *socks;
    uint64_t next_sock_id;
    weft_waker driver;   /* the driver task's waker */
    bool driver_running; /* spawned and not yet ended or dropped */
    weft__ares_hosts hosts;
} weft__ares;

/* One DNS lookup in the channel; freed by its callback. `l` is NULL once
 * the future was dropped (the answer is then discarded). */
typedef struct weft__ares_query {
    weft__ares *res;
    weft_lookup *l;
} weft__ares_query;

/* c-ares' status as weft's error. */
int weft__ares_error(int status);

/* The socket-state callback (driver.c). Under res->lock. */
void weft__ares_sock_state(void *data, ares_socket_t fd, int readable, int writable);
/* Spawns the driver task if it is not running. Under res->lock, on a
 * runtime thread. 0 or the spawn's error. */
int weft__ares_driver_ensure(weft__ares *res);
/* Wakes the driver (new queries: its timer may need to move). Under the lock. */
void weft__ares_driver_wake(weft__ares *res);
/* Forgets every socket (after ares_destroy, which reported them closed;
 * anything left is given back). Under the lock. */
void weft__ares_socks_clear(weft__ares *res);

#endif
