/* A libpq connection driven by weft. */
#ifndef WEFT_PQ_INTERNAL_H
#define WEFT_PQ_INTERNAL_H

#include <poll.h>
#include <sys/types.h>

#include "weft.h"
#include "weft/pq.h"

struct weft_pq {
    PGconn *pg;
    weft_runtime *rt; /* a reference: cancel requests run on its blocking pool */
    /* A duplicate of libpq's socket, registered with the reactor: weft
     * owns this descriptor (libpq may close and replace its own while it
     * connects, and a registration must never outlive its number). */
    weft_async_fd afd;
    ino_t sock_ino; /* which socket afd is a duplicate of */
    weft_mutex turn;  /* one query at a time; its holder alone calls libpq */
    /* Guarded by `turn`: */
    bool needs_drain; /* a query was dropped after it was sent */
    bool broken;      /* the connection failed: every query gets -ECONNRESET */
    bool cancel_live; /* cancel_job is a live handle */
    weft_join_handle cancel_job;
};

/* Waits until the connection's socket is ready for `events` (POLLIN,
 * POLLOUT): 1 ready (or maybe: readiness from the reactor is trusted once,
 * and `seen` set; the next call, if libpq found nothing, asks the socket
 * itself and clears it), 0 pending (the waker is registered), or -errno. */
int weft__pq_io_wait(weft_pq *c, weft_async_fd_ready *rf, bool *active, bool *seen,
                     weft_context *cx, short events);
/* Makes c->afd a registered duplicate of libpq's current socket. */
int weft__pq_track_socket(weft_pq *c);
/* Maps a libpq failure message to -errno. */
int weft__pq_map_error(const char *msg);

#endif
