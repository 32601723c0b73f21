/* The query future: take the connection's turn, finish what a dropped
 * predecessor left (its cancel request, its results), send, flush, and
 * collect every result. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_internal.h"

enum { Q_LOCK, Q_CANCEL_WAIT, Q_DRAIN, Q_FLUSH, Q_READ };

static void results_clear(weft_pq_query *f) {
    weft_pq_results_free(f->results, f->nresults);
    f->results = NULL;
    f->nresults = 0;
    f->cap = 0;
}

void weft_pq_results_free(PGresult **results, int n) {
    if (!results) return;
    for (int i = 0; i < n; i++) PQclear(results[i]);
    free(results);
}

/* Marks the connection broken (the turn is held). */
static int broke(weft_pq *c) {
    c->broken = true;
    return -ECONNRESET;
}

static void *cancel_run(void *arg) {
    char err[256];
    (void)PQcancel(arg, err, sizeof err); /* a failure leaves the query to finish on its own */
    PQfreeCancel(arg);
    return NULL;
}
static void cancel_never_ran(void *arg) { PQfreeCancel(arg); }

/* Sends and flushes: 1 when everything is written, 0 pending, -errno. */
static int flush(weft_pq_query *f, weft_context *cx) {
    weft_pq *c = f->conn;
    for (;;) {
        int r = PQflush(c->pg);
        if (r == 0) return 1;
        if (r < 0) return broke(c);
        int w = weft__pq_io_wait(c, &f->ready, &f->ready_active, &f->ready_seen, cx, POLLOUT | POLLIN);
        if (w <= 0) return w;
        /* Readable too: take what the server sent, so that neither side
         * waits for the other's buffer (libpq's rule for PQflush). */
        if (!PQconsumeInput(c->pg)) return broke(c);
    }
}

/* Reads results until libpq says the query is done: 1 done, 0 pending,
 * -errno. Keeps them in f->results if `keep`, else clears them. */
static int collect(weft_pq_query *f, weft_context *cx, bool keep) {
    weft_pq *c = f->conn;
    for (;;) {
        if (!PQconsumeInput(c->pg)) return broke(c);
        while (!PQisBusy(c->pg)) {
            PGresult *r = PQgetResult(c->pg);
            if (!r) return 1;
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                /* COPY needs its own calls: the connection is left in a
                 * state no query can use, so say so to every later one. */
                PQclear(r);
                broke(c);
                return -ENOTSUP;
            }
            if (!keep) {
                PQclear(r);
                continue;
            }
            if ((size_t)f->nresults == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 2;
                PGresult **grown = realloc(f->results, cap * sizeof *grown);
                if (!grown) {
                    PQclear(r);
                    return -ENOMEM; /* the rest is drained by the next query */
                }
                f->results = grown;
                f->cap = cap;
            }
            f->results[f->nresults++] = r;
        }
        int w = weft__pq_io_wait(c, &f->ready, &f->ready_active, &f->ready_seen, cx, POLLIN);
        if (w <= 0) return w;
    }
}

static void release_turn(weft_pq_query *f) {
    if (f->ready_active) weft_future_drop(&f->ready.base);
    f->ready_active = false;
    weft_mutex_unlock(&f->conn->turn);
}

static weft_poll query_poll(weft_future *base, weft_context *cx) {
    weft_pq_query *f = (weft_pq_query *)base;
    weft_pq *c = f->conn;
    int r = 0;
    switch (f->stage) {
    case Q_LOCK:
        if (!c || !f->sql || f->nparams < 0) {
            f->result = -EINVAL;
            return WEFT_READY;
        }
        if (weft_future_poll(&f->lock.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        if (c->broken || PQstatus(c->pg) == CONNECTION_BAD) {
            r = broke(c);
            goto done;
        }
        f->stage = Q_CANCEL_WAIT;
        if (c->cancel_live) weft_join_wait_init(&f->cancel_wait, &c->cancel_job);
        /* fall through */
    case Q_CANCEL_WAIT:
        /* A dropped predecessor's cancel request is delivered before this
         * query is sent, so that it cannot cancel this one instead. */
        if (c->cancel_live) {
            if (weft_future_poll(&f->cancel_wait.base, cx) == WEFT_PENDING) return WEFT_PENDING;
            c->cancel_live = false;
        }
        f->stage = Q_DRAIN;
        /* fall through */
    case Q_DRAIN:
        if (c->needs_drain) {
            r = flush(f, cx);
            if (r == 1) r = collect(f, cx, false);
            if (r == 0) return WEFT_PENDING;
            if (r < 0) goto done;
            c->needs_drain = false;
        }
        r = f->params ? PQsendQueryParams(c->pg, f->sql, f->nparams, NULL, f->values, f->lengths,
                                          f->formats, f->result_format)
                      : PQsendQuery(c->pg, f->sql);
        if (!r) {
            r = PQstatus(c->pg) == CONNECTION_BAD ? broke(c) : -EINVAL;
            goto done;
        }
        f->stage = Q_FLUSH;
        /* fall through */
    case Q_FLUSH:
        r = flush(f, cx);
        if (r == 0) return WEFT_PENDING;
        if (r < 0) {
            c->needs_drain = !c->broken;
            goto done;
        }
        f->stage = Q_READ;
        /* fall through */
    case Q_READ:
        r = collect(f, cx, true);
        if (r == 0) return WEFT_PENDING;
        if (r < 0) {
            c->needs_drain = !c->broken;
            goto done;
        }
        r = 0;
    }
done:
    if (r < 0) results_clear(f);
    f->result = r;
    release_turn(f);
    return WEFT_READY;
}

static void query_drop(weft_future *base) {
    weft_pq_query *f = (weft_pq_query *)base;
    weft_pq *c = f->conn;
    if (!c) return;
    switch (f->stage) {
    case Q_LOCK:
        weft_future_drop(&f->lock.base);
        return;
    case Q_CANCEL_WAIT:
        if (c->cancel_live) weft_future_drop(&f->cancel_wait.base);
        break;
    case Q_DRAIN:
        break; /* needs_drain is still set: the next query goes on */
    case Q_FLUSH:
    case Q_READ:
        /* Sent (or partly): ask the server to stop it, and leave its
         * results to the next query. */
        results_clear(f);
        c->needs_drain = true;
        if (!c->cancel_live && !c->broken) {
            PGcancel *pc = PQgetCancel(c->pg);
            if (pc) {
                c->cancel_job = weft_spawn_blocking(c->rt, cancel_run, pc, cancel_never_ran);
                c->cancel_live = true;
            }
        }
        break;
    }
    release_turn(f);
}

static const weft_future_vtable query_vtable = {query_poll, query_drop, "weft_pq_query"};

weft_future *weft_pq_query_params_init(weft_pq_query *f, weft_pq *c, const char *sql, int nparams,
                                       const char *const *values, const int *lengths,
                                       const int *formats, int result_format) {
    weft_future_init(&f->base, &query_vtable);
    f->conn = c;
    f->sql = sql;
    f->nparams = nparams;
    f->values = values;
    f->lengths = lengths;
    f->formats = formats;
    f->result_format = result_format;
    f->params = true;
    f->stage = Q_LOCK;
    if (c) weft_mutex_lock_init(&f->lock, &c->turn);
    f->ready_active = false;
    f->ready_seen = false;
    f->cap = 0;
    f->results = NULL;
    f->nresults = 0;
    f->result = 0;
    return &f->base;
}

weft_future *weft_pq_query_init(weft_pq_query *f, weft_pq *c, const char *sql) {
    weft_pq_query_params_init(f, c, sql, 0, NULL, NULL, NULL, 0);
    f->params = false;
    return &f->base;
}
