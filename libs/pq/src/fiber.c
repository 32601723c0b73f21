/* Fiber-style calls: each awaits the future of the same name. */
#include <errno.h>
#include <string.h>

#include "pq_internal.h"

int weft_fiber_pq_connect(weft_pq **out, const char *conninfo, char *errmsg, size_t cap) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (errmsg && cap) errmsg[0] = 0;
    weft_pq_connect f;
    int err = weft_await(weft_pq_connect_init(&f, conninfo));
    if (err < 0) return err;
    if (errmsg && cap) snprintf(errmsg, cap, "%s", f.errmsg);
    *out = f.conn;
    return f.result;
}

static int run(weft_pq_query *f, PGresult ***results, int *n) {
    if (results) *results = NULL;
    if (n) *n = 0;
    int err = weft_await(&f->base);
    if (err < 0) return err;
    if (results) *results = f->results;
    else weft_pq_results_free(f->results, f->nresults);
    if (n) *n = f->nresults;
    return f->result;
}

int weft_fiber_pq_query(weft_pq *c, const char *sql, PGresult ***results, int *n) {
    weft_pq_query f;
    weft_pq_query_init(&f, c, sql);
    return run(&f, results, n);
}

int weft_fiber_pq_query_params(weft_pq *c, const char *sql, int nparams, const char *const *values,
                               PGresult ***results, int *n) {
    weft_pq_query f;
    weft_pq_query_params_init(&f, c, sql, nparams, values, NULL, NULL, 0);
    return run(&f, results, n);
}
