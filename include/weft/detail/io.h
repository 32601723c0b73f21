/*
 * weft/detail/io.h — the I/O types embedded in weft's public socket and
 * future structs. Private: their fields are not part of the API; use the
 * functions of the type that contains them.
 */
#ifndef WEFT_DETAIL_IO_H
#define WEFT_DETAIL_IO_H

#include <stdint.h>

#include "../waker.h"
#include "list.h"

struct weft_io_reg;

/** A descriptor registered with a reactor, as embedded in every handle
 *  that owns one. `reg` is NULL when the handle is empty (closed, given
 *  back with _into_fd, moved into split halves, or never opened). Private. */
typedef struct weft_io_handle {
    struct weft_io_reg *reg;
} weft_io_handle;

/**
 * The wait node of a future that waits for a registration's readiness
 * (accept, datagram send/recv, connect, async_fd readiness). While the
 * future waits it is linked into the registration's list of waiters; the
 * reactor wakes every waiter of a direction that becomes ready, and
 * dropping the future unlinks it. Private: only weft's I/O code touches it.
 */
typedef struct weft_io_waiter {
    weft_link link;          /* in the registration's waiter list (under its lock) */
    weft_waker waker;        /* the waiting task's waker while linked */
    struct weft_io_reg *reg; /* the registration it is linked to */
    uint32_t state;          /* idle / queued / being woken (read atomically) */
    uint32_t dir;            /* the direction it waits for */
} weft_io_waiter;

#endif /* WEFT_DETAIL_IO_H */
