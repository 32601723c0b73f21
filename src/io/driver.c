/* Backend selection and the park/unpark handshake. The handshake avoids a
 * system call per remote wake: only a wake that finds the thread PARKED
 * writes to the wakeup channel. */
#include "io/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { PARK_EMPTY = 0, PARK_PARKED = 1, PARK_NOTIFIED = 2 };

static const weft_driver_backend *pick(weft_io_backend which) {
    if (which == WEFT_IO_DEFAULT) {
        const char *env = getenv("WEFT_IO_BACKEND");
        if (env && strcmp(env, "poll") == 0) which = WEFT_IO_POLL;
        else which = WEFT_IO_EPOLL;
    }
    switch (which) {
    case WEFT_IO_EPOLL: return &weft__epoll_backend;
    case WEFT_IO_POLL: return NULL; /* not built yet */
    default: return NULL;
    }
}

int weft_driver_init(weft_driver *d, weft_io_backend which) {
    memset(d, 0, sizeof *d);
    d->poll_fd = d->wake_fd[0] = d->wake_fd[1] = -1;
    atomic_init(&d->park_state, PARK_EMPTY);
    d->backend = pick(which);
    if (!d->backend) return -ENOTSUP;
    return d->backend->init(d);
}

void weft_driver_shutdown(weft_driver *d) {
    if (d->backend) d->backend->shutdown(d);
}

void weft_driver_free(weft_driver *d) {
    if (d->backend) d->backend->free_wakeup(d);
}

void weft_driver_park(weft_driver *d, int timeout_ms) {
    if (timeout_ms != 0) {
        int expect = PARK_EMPTY;
        if (!atomic_compare_exchange_strong(&d->park_state, &expect, PARK_PARKED)) {
            /* NOTIFIED: someone woke us before we slept; just collect events. */
            atomic_store(&d->park_state, PARK_EMPTY);
            timeout_ms = 0;
        }
    }
    d->backend->wait(d, timeout_ms);
    if (timeout_ms != 0) atomic_store(&d->park_state, PARK_EMPTY);
}

void weft_driver_unpark(weft_driver *d) {
    if (atomic_exchange(&d->park_state, PARK_NOTIFIED) == PARK_PARKED) d->backend->wakeup(d);
}
