/*
 * The I/O driver: where a runtime thread sleeps when it has nothing to run.
 * It waits on the OS readiness backend with the next timer deadline as its
 * timeout, turns the events it gets into readiness on registrations (which
 * wakes the tasks waiting on them), and other threads interrupt the wait
 * with weft__driver_unpark. One backend interface, one file per backend
 * (epoll.c, poll.c), in the style of Redis's ae_*.c.
 *
 * Threads: exactly one thread at a time calls weft__driver_park (the runtime
 * thread for current_thread; the parked worker that holds the driver for
 * multi_thread). Registration, deregistration, waker registration and
 * unpark may happen on any thread.
 */
#ifndef WEFT_IO_DRIVER_H
#define WEFT_IO_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "util/list.h"
#include "weft/runtime.h"

typedef struct weft_driver weft_driver;
struct weft_io_reg;

typedef struct weft_driver_backend {
    const char *name;
    /* Creates the backend's descriptors. Returns 0 or -errno. */
    int (*init)(weft_driver *d);
    /* Closes what init created, except the wakeup channel (see free_wakeup).
     * Called with reg_lock held. */
    void (*shutdown)(weft_driver *d);
    /* Closes the wakeup channel and frees the backend's memory (last: remote
     * threads may still unpark until the runtime memory goes). */
    void (*free_wakeup)(weft_driver *d);
    /* Waits up to timeout_ms (-1: no limit) for readiness or a wakeup and
     * dispatches what arrived (weft__io_set_ready). Returns the number of
     * events or -errno. Driver thread only. */
    int (*wait)(weft_driver *d, int timeout_ms);
    /* Makes a concurrent or the next wait return. Any thread. */
    void (*wakeup)(weft_driver *d);
    /* Starts watching r->fd for read, write and hang-up, edge-triggered
     * (or emulated). Called with reg_lock held. Returns 0 or -errno. */
    int (*add)(weft_driver *d, struct weft_io_reg *r);
    /* Stops watching r->fd (before it is closed). Called with reg_lock held. */
    void (*del)(weft_driver *d, struct weft_io_reg *r);
    /* A task started waiting on `r` (a waiter bit was set). NULL when the
     * backend watches every registration all the time (epoll). Any thread. */
    void (*interest)(weft_driver *d, struct weft_io_reg *r);
} weft_driver_backend;

struct weft_driver {
    const weft_driver_backend *backend;
    int poll_fd;            /* epoll instance (epoll backend) */
    int wake_fd[2];         /* eventfd in [0] (epoll), or a pipe (poll backend) */
    _Atomic int park_state; /* PARK_EMPTY / PARK_PARKED / PARK_NOTIFIED */
    void *impl;             /* backend-specific state */
    _Atomic size_t registrations; /* live I/O registrations */

    /* Registration bookkeeping, under reg_lock (lists of weft_io_reg.node). */
    pthread_mutex_t reg_lock;
    weft_link live;               /* every live registration */
    weft_link pending;            /* deregistered; freed at the next turn */
    _Atomic size_t pending_count;
    weft_link cache;              /* freed registrations kept for reuse */
    size_t cache_len;
    bool shut_down;
    bool lock_init;
};

/* Picks the backend (opts value, then $WEFT_IO_BACKEND) and initialises it. */
int weft__driver_init(weft_driver *d, weft_io_backend which);
/* Stops the driver: every live registration is marked shut down (its
 * operations then fail with -ESHUTDOWN) and its waiters are woken; the
 * backend's descriptors are closed. Registrations still owned by objects are
 * freed when those objects are closed. */
void weft__driver_shutdown(weft_driver *d);
void weft__driver_free(weft_driver *d);

/* Sleeps until an event, an unpark, or timeout_ms (-1: no limit; 0: just
 * collect what is ready). Runtime thread only. Also frees the registrations
 * deregistered since the last turn. */
void weft__driver_park(weft_driver *d, int timeout_ms);
/* Wakes the parked thread, or makes its next park return at once. Any thread. */
void weft__driver_unpark(weft_driver *d);

/* The driver of a runtime (by flavour). */
weft_driver *weft__runtime_driver(weft_runtime *rt);

extern const weft_driver_backend weft__epoll_backend;
extern const weft_driver_backend weft__poll_backend;

#endif
