/**
 * @file
 * weft/pq.h — libpq (PostgreSQL's client library) driven by a weft
 * runtime (libweft-pq, pkg-config weft-pq, CMake weft::pq): a
 * non-blocking connect, queries as weft futures, cancellation by
 * dropping.
 *
 *     WEFT_AWAIT(weft_pq_connect_init(&self->c, "host=127.0.0.1 port=5432 dbname=app"));
 *     if (self->c.result < 0) ...      // self->c.errmsg says why
 *     self->db = self->c.conn;
 *     WEFT_AWAIT(weft_pq_query_init(&self->q, self->db, "SELECT 1"));
 *     ... PQgetvalue(self->q.results[0], 0, 0) ...
 *     weft_pq_results_free(self->q.results, self->q.nresults);
 *     weft_pq_close(self->db);
 *
 * Threads: a connection runs one query at a time, as PostgreSQL's
 * protocol does. Query futures of any tasks, on any thread, may use one
 * connection: they take turns in FIFO order (an async mutex inside the
 * connection), and only the query holding the turn calls into libpq.
 * For queries that run at once, use several connections.
 *
 * Cancellation: dropping a query that was sent (a weft_timeout that
 * expires, a select that loses) asks the server to cancel it — PQcancel,
 * which blocks, runs on the runtime's blocking pool — and the next query
 * on the connection first waits for that request to be delivered and
 * reads the cancelled query's results to their end. So the connection
 * stays usable, and a query never receives its predecessor's results.
 * If the server cannot be reached any more, the connection reports
 * itself broken (-ECONNRESET) to every later query.
 *
 * Errors are negative errno values: -ECONNREFUSED and the other connect
 * errors (the libpq message says the rest: `errmsg`, weft_pq_errmsg),
 * -ECONNRESET when the connection broke (server gone), -EIO for a failure
 * libpq reports without an errno, -EBADF after weft_pq_close, -ENOMEM. An
 * SQL error is not a failure of the query future: it is a result of
 * status PGRES_FATAL_ERROR, as libpq gives it.
 *
 * Host names in the connection string are looked up by libpq inside
 * PQconnectStart, which this adapter runs on the blocking pool; the rest
 * of the connect is driven by readiness on the runtime.
 */
#ifndef WEFT_PQ_H
#define WEFT_PQ_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "future.h"
#include "io.h"
#include "runtime.h"
#include "sync.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup pq PostgreSQL (libpq adapter)
 * @{ */

/** A PostgreSQL connection driven by weft (opaque). */
typedef struct weft_pq weft_pq;

/** A connect request running on the blocking pool (private). */
struct weft__pq_start;

/**
 * Connects with a libpq connection string ("host=... port=... dbname=..."
 * or a "postgresql://" URI). Output: `result` 0 with `conn` the connection
 * (yours: weft_pq_close it), or -errno with `conn` NULL and libpq's
 * message in `errmsg`. The connection is put in non-blocking mode; do not
 * change that. Dropping it before it is ready closes the half-made
 * connection (a weft_timeout around it bounds the connect). Polled on a
 * runtime thread.
 */
typedef struct weft_pq_connect {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    const char *conninfo;         /**< @private */
    int stage;                    /**< @private */
    struct weft__pq_start *start; /**< @private */
    weft_join_handle job;         /**< @private */
    weft_pq *pending;             /**< @private */
    weft_async_fd_ready ready;    /**< @private */
    bool ready_active;            /**< @private */
    bool ready_seen;              /**< @private */
    weft_pq *conn;                /**< output: the connection (on success) */
    int result;                   /**< output: 0 or -errno */
    char errmsg[256];             /**< output: libpq's message when it failed */
} weft_pq_connect;

/** Initialises a connect with `conninfo` (read at the first poll: it must
 *  live until then). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_pq_connect_init(weft_pq_connect *f, const char *conninfo);

/**
 * Closes the connection (PQfinish) and frees the handle. No query future
 * may be using it. NULL does nothing. Any thread; never waits.
 */
WEFT_API void weft_pq_close(weft_pq *c);

/**
 * The PGconn, for libpq's getters (PQserverVersion, PQparameterStatus,
 * PQbackendPID, ...). Do not use it for I/O or change its mode. Any
 * thread, while no query runs.
 */
WEFT_API PGconn *weft_pq_pgconn(weft_pq *c);

/**
 * Copies libpq's message for the connection's failure into `buf` (at
 * most `cap` bytes, NUL-terminated). Returns 0 while the connection
 * works, else -ECONNRESET (broken) or -EBADF. Any thread, while no query
 * runs.
 */
WEFT_API int weft_pq_errmsg(weft_pq *c, char *buf, size_t cap);

/**
 * A query: sends it, then collects every result libpq returns for it
 * (several for a simple query with several statements). Output: `result`
 * 0 with `results[0..nresults)` (yours: weft_pq_results_free them; an SQL
 * error is a result of status PGRES_FATAL_ERROR), or -errno: the
 * connection broke (-ECONNRESET: every later query gets it too), -EBADF,
 * -ENOMEM, -EINVAL; results received before a failure are freed.
 *
 * Cancel-safe in this sense: dropping it while it waits for its turn
 * sends nothing; dropping it later asks the server to cancel the query
 * (see the top of this file) and frees what it received; the connection
 * stays usable. Any number of query futures may wait on one connection
 * (FIFO). Polled on a runtime thread.
 */
typedef struct weft_pq_query {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_pq *conn;               /**< @private */
    const char *sql;             /**< @private */
    int nparams;                 /**< @private */
    const char *const *values;   /**< @private */
    const int *lengths;          /**< @private */
    const int *formats;          /**< @private */
    int result_format;           /**< @private */
    bool params;                 /**< @private */
    int stage;                   /**< @private */
    weft_mutex_lock lock;        /**< @private */
    weft_join_wait cancel_wait;  /**< @private */
    weft_async_fd_ready ready;   /**< @private */
    bool ready_active;           /**< @private */
    bool ready_seen;             /**< @private */
    size_t cap;                  /**< @private */
    PGresult **results;          /**< output: the results, yours */
    int nresults;                /**< output: how many */
    int result;                  /**< output: 0 or -errno */
} weft_pq_query;

/**
 * Initialises a simple query (PQsendQuery: no parameters, several
 * statements allowed, one result each). `sql` must live until the query
 * is sent (its first poll that holds the turn). Does no work. Returns
 * `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_pq_query_init(weft_pq_query *f, weft_pq *c, const char *sql);

/**
 * Initialises a query with parameters (PQsendQueryParams: one statement,
 * $1..$n, text or binary values; see libpq's documentation for the
 * arguments; the types are inferred). Every array must live until the
 * query is sent. Does no work. Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_pq_query_params_init(weft_pq_query *f, weft_pq *c, const char *sql,
                                                int nparams, const char *const *values,
                                                const int *lengths, const int *formats,
                                                int result_format);

/**
 * Waits for the next notification (LISTEN/NOTIFY): send LISTEN with a
 * query first, then await these in a loop for a stream of them. Output:
 * `result` 0 with `notify` (yours: PQfreemem it; relname, be_pid,
 * extra), or -errno (-ECONNRESET: the connection broke; -EBADF, -EINVAL).
 * It holds the connection's turn while it waits, so queries on the same
 * connection wait behind it: listen on a connection of its own.
 * Notifications that come while queries run are kept by libpq and
 * returned first. Cancel-safe: a dropped wait takes nothing (the
 * notifications stay queued, in order). Polled on a runtime thread.
 */
typedef struct weft_pq_notify {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_pq *conn;             /**< @private */
    bool locked;               /**< @private */
    weft_mutex_lock lock;      /**< @private */
    weft_async_fd_ready ready; /**< @private */
    bool ready_active;         /**< @private */
    bool ready_seen;           /**< @private */
    PGnotify *notify;          /**< output: the notification, yours */
    int result;                /**< output: 0 or -errno */
} weft_pq_notify;

/** Initialises a wait for the next notification on `c`. Does no work.
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_pq_notify_init(weft_pq_notify *f, weft_pq *c);

/** PQclears `n` results and frees the array (as a query hands them out).
 *  NULL does nothing. Any thread. */
WEFT_API void weft_pq_results_free(PGresult **results, int n);

/* ---- fiber-style calls (weft/fiber.h): each awaits the future of the
 * same name and returns its `result`, or -ECANCELED (the fiber was
 * cancelled: the future was dropped, with its documented cancel-safety)
 * or -EPERM (not in a fiber). Fiber only. */

/** Connects (weft_pq_connect): 0 and `*out`, or -errno (libpq's message
 *  in `errmsg`, which may be NULL, of `cap` bytes). */
WEFT_API int weft_fiber_pq_connect(weft_pq **out, const char *conninfo, char *errmsg, size_t cap);

/** Runs a simple query (weft_pq_query): 0 with `*results` (free them with
 *  weft_pq_results_free) and `*n`, or -errno. */
WEFT_API int weft_fiber_pq_query(weft_pq *c, const char *sql, PGresult ***results, int *n);

/** Runs a query with parameters (weft_pq_query_params_init's arguments,
 *  text results): 0 with `*results` and `*n`, or -errno. */
WEFT_API int weft_fiber_pq_query_params(weft_pq *c, const char *sql, int nparams,
                                        const char *const *values, PGresult ***results, int *n);

/** Waits for the next notification (weft_pq_notify): 0 and `*notify`
 *  (yours: PQfreemem), or -errno. */
WEFT_API int weft_fiber_pq_notify(weft_pq *c, PGnotify **notify);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_PQ_H */
