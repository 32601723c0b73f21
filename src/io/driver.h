/*
 * The I/O driver: where a runtime thread sleeps when it has nothing to run.
 * It waits on the OS readiness backend with the next timer deadline as its
 * timeout, and other threads interrupt the wait with weft_driver_unpark.
 * One backend interface, one file per backend (epoll.c, ...).
 */
#ifndef WEFT_IO_DRIVER_H
#define WEFT_IO_DRIVER_H

#include <stdatomic.h>
#include <stddef.h>

#include "weft/runtime.h"

typedef struct weft_driver weft_driver;

typedef struct weft_driver_backend {
    const char *name;
    /* Creates the backend's descriptors. Returns 0 or -errno. */
    int (*init)(weft_driver *d);
    /* Closes what init created, except the wakeup channel (see free_wakeup). */
    void (*shutdown)(weft_driver *d);
    /* Closes the wakeup channel (last: remote threads may still unpark
     * until the runtime memory goes). */
    void (*free_wakeup)(weft_driver *d);
    /* Waits up to timeout_ms (-1: no limit) for readiness or a wakeup and
     * dispatches what arrived. Returns the number of events or -errno. */
    int (*wait)(weft_driver *d, int timeout_ms);
    /* Makes a concurrent or the next wait return. Any thread. */
    void (*wakeup)(weft_driver *d);
} weft_driver_backend;

struct weft_driver {
    const weft_driver_backend *backend;
    int poll_fd;            /* epoll instance (epoll backend) */
    int wake_fd[2];         /* eventfd in [0] (epoll), or a pipe (poll backend) */
    _Atomic int park_state; /* PARK_EMPTY / PARK_PARKED / PARK_NOTIFIED */
    void *impl;             /* backend-specific state */
    size_t registrations;   /* I/O sources registered */
};

/* Picks the backend (opts value, then $WEFT_IO_BACKEND) and initialises it. */
int weft_driver_init(weft_driver *d, weft_io_backend which);
void weft_driver_shutdown(weft_driver *d);
void weft_driver_free(weft_driver *d);

/* Sleeps until an event, an unpark, or timeout_ms (-1: no limit; 0: just
 * collect what is ready). Runtime thread only. */
void weft_driver_park(weft_driver *d, int timeout_ms);
/* Wakes the parked thread, or makes its next park return at once. Any thread. */
void weft_driver_unpark(weft_driver *d);

extern const weft_driver_backend weft__epoll_backend;

#endif
