/*
 * The libpq adapter against a real PostgreSQL server (a cluster made in a
 * temporary directory by scripts/test-servers/postgres.sh and started on
 * 127.0.0.1 on a free port, as the `postgres` user when run as root; the
 * program fails if it cannot start one).
 * weft-test: threaded
 */
#include "adapter_support.h"
#include "servers.h"
#include "weft/pq.h"

static char conninfo[256];

static int one_int(weft_pq *c, const char *sql, int *out) {
    PGresult **rs = NULL;
    int n = 0;
    int err = weft_fiber_pq_query(c, sql, &rs, &n);
    if (err < 0) return err;
    int ok = n == 1 && PQresultStatus(rs[0]) == PGRES_TUPLES_OK && PQntuples(rs[0]) == 1;
    if (ok) *out = atoi(PQgetvalue(rs[0], 0, 0));
    weft_pq_results_free(rs, n);
    return ok ? 0 : -EPROTO;
}

/* ---- basics ------------------------------------------------------------------ */

static void *basics_fiber(void *arg) {
    weft_pq *c = NULL;
    char msg[256];
    CHECK_EQ(weft_fiber_pq_connect(&c, conninfo, msg, sizeof msg), 0);
    if (!c) return NULL;
    CHECK(PQserverVersion(weft_pq_pgconn(c)) >= 100000);
    int v = 0;
    CHECK_EQ(one_int(c, "SELECT 41 + 1", &v), 0);
    CHECK_EQ(v, 42);
    /* Parameters. */
    const char *params[] = {"20", "22"};
    PGresult **rs = NULL;
    int n = 0;
    CHECK_EQ(weft_fiber_pq_query_params(c, "SELECT $1::int + $2::int", 2, params, &rs, &n), 0);
    CHECK_EQ(n, 1);
    CHECK(n == 1 && strcmp(PQgetvalue(rs[0], 0, 0), "42") == 0);
    weft_pq_results_free(rs, n);
    /* Several statements: one result each. */
    CHECK_EQ(weft_fiber_pq_query(c, "SELECT 1; SELECT 2, 3; CREATE TEMP TABLE t(x int)", &rs, &n), 0);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(strcmp(PQgetvalue(rs[1], 0, 1), "3") == 0);
        CHECK_EQ(PQresultStatus(rs[2]), PGRES_COMMAND_OK);
    }
    weft_pq_results_free(rs, n);
    /* An SQL error is a result; the connection goes on. */
    CHECK_EQ(weft_fiber_pq_query(c, "SELECT * FROM no_such_table", &rs, &n), 0);
    CHECK(n == 1 && PQresultStatus(rs[0]) == PGRES_FATAL_ERROR);
    weft_pq_results_free(rs, n);
    CHECK_EQ(one_int(c, "SELECT 7", &v), 0);
    CHECK_EQ(v, 7);
    /* A large result, read in many pieces. */
    CHECK_EQ(weft_fiber_pq_query(c, "SELECT repeat('x', 1000) FROM generate_series(1, 5000)", &rs, &n), 0);
    CHECK(n == 1 && PQntuples(rs[0]) == 5000);
    weft_pq_results_free(rs, n);
    /* COPY is refused clearly, and the connection then says it is broken. */
    CHECK_EQ(weft_fiber_pq_query(c, "COPY (SELECT 1) TO STDOUT", &rs, &n), -ENOTSUP);
    CHECK_EQ(weft_fiber_pq_query(c, "SELECT 1", &rs, &n), -ECONNRESET);
    weft_pq_close(c);
    return NULL;
}
static void test_basics(void **state) { run_fiber_test(basics_fiber, NULL); }

static void *errors_fiber(void *arg) {
    weft_pq *c = NULL;
    char msg[256], ci[512];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=weft dbname=weft connect_timeout=10",
             test_free_port());
    CHECK_EQ(weft_fiber_pq_connect(&c, ci, msg, sizeof msg), -ECONNREFUSED);
    CHECK(c == NULL && msg[0] != 0);
    CHECK(weft_fiber_pq_connect(&c, "nonsense_option=1", msg, sizeof msg) < 0);
    CHECK(c == NULL && msg[0] != 0);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=weft dbname=no_such_db", test_srv.port);
    CHECK(weft_fiber_pq_connect(&c, ci, msg, sizeof msg) < 0);
    CHECK(strstr(msg, "no_such_db") != NULL);
    /* By name: localhost, looked up inside PQconnectStart on the pool. */
    snprintf(ci, sizeof ci, "host=localhost port=%d user=weft dbname=weft", test_srv.port);
    CHECK_EQ(weft_fiber_pq_connect(&c, ci, msg, sizeof msg), 0);
    int v = 0;
    CHECK_EQ(one_int(c, "SELECT 5", &v), 0);
    weft_pq_close(c);
    /* Unix socket directory. */
    snprintf(ci, sizeof ci, "host=%s port=%d user=weft dbname=weft", test_srv.dir, test_srv.port);
    CHECK_EQ(weft_fiber_pq_connect(&c, ci, msg, sizeof msg), 0);
    CHECK_EQ(one_int(c, "SELECT 6", &v), 0);
    CHECK_EQ(v, 6);
    weft_pq_close(c);
    return NULL;
}
static void test_connect_errors_and_names(void **state) { run_fiber_test(errors_fiber, NULL); }

/* ---- many at once -------------------------------------------------------------- */

enum { CONNS = 4, WORKERS = 24, EACH = 40 };
typedef struct worker {
    weft_pq **conns;
    int id;
} worker;

static void *worker_fiber(void *arg) {
    worker *w = arg;
    for (int i = 0; i < EACH; i++) {
        weft_pq *c = w->conns[(w->id + i) % CONNS];
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", w->id * 1000);
        snprintf(b, sizeof b, "%d", i);
        const char *params[] = {a, b};
        PGresult **rs = NULL;
        int n = 0;
        CHECK_EQ(weft_fiber_pq_query_params(c, "SELECT $1::int + $2::int", 2, params, &rs, &n), 0);
        CHECK(n == 1 && atoi(PQgetvalue(rs[0], 0, 0)) == w->id * 1000 + i);
        weft_pq_results_free(rs, n);
    }
    return NULL;
}

static void *many_fiber(void *arg) {
    weft_pq *conns[CONNS] = {0};
    for (int i = 0; i < CONNS; i++) CHECK_EQ(weft_fiber_pq_connect(&conns[i], conninfo, NULL, 0), 0);
    worker ws[WORKERS];
    for (int i = 0; i < WORKERS; i++) ws[i] = (worker){conns, i};
    fibers_run_all(worker_fiber, ws, sizeof ws[0], WORKERS);
    for (int i = 0; i < CONNS; i++) weft_pq_close(conns[i]);
    return NULL;
}
static void test_many_queries(void **state) { run_fiber_test(many_fiber, NULL); }

/* ---- cancellation and timeouts -------------------------------------------------- */

static void *cancel_fiber(void *arg) {
    weft_pq *c = NULL;
    CHECK_EQ(weft_fiber_pq_connect(&c, conninfo, NULL, 0), 0);
    if (!c) return NULL;
    /* A 30 s query dropped by a timeout is cancelled on the server: the
     * next query answers long before the 30 s are up. */
    weft_pq_query q;
    weft_timeout t;
    CHECK_EQ(weft_await(weft_timeout_init(&t, weft_pq_query_init(&q, c, "SELECT pg_sleep(30)"), 100)), 0);
    CHECK_EQ(t.result, -ETIMEDOUT);
    weft_pq_query q2;
    weft_timeout t2;
    CHECK_EQ(weft_await(weft_timeout_init(&t2, weft_pq_query_init(&q2, c, "SELECT 42"), 20000)), 0);
    CHECK_EQ(t2.result, 0);
    CHECK_EQ(q2.result, 0);
    CHECK(q2.nresults == 1 && strcmp(PQgetvalue(q2.results[0], 0, 0), "42") == 0);
    weft_pq_results_free(q2.results, q2.nresults);
    /* Dropped at every point: each following query gets its own answer. */
    int dropped = 0;
    for (int round = 0; round < 60; round++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT pg_sleep(0.02), %d", round);
        weft_pq_query d;
        weft_timeout dt;
        CHECK_EQ(weft_await(weft_timeout_init(&dt, weft_pq_query_init(&d, c, sql), (uint64_t)(round % 40))), 0);
        if (dt.result == 0) weft_pq_results_free(d.results, d.nresults);
        else dropped++;
        int v = -1;
        snprintf(sql, sizeof sql, "SELECT %d", 1000 + round);
        CHECK_EQ(one_int(c, sql, &v), 0);
        CHECK_EQ(v, 1000 + round);
    }
    CHECK(dropped > 0);
    weft_pq_close(c);
    return NULL;
}
static void test_cancel_and_timeouts(void **state) { run_fiber_test(cancel_fiber, NULL); }

/* Queries waiting for their turn dropped: nothing was sent for them. */
static void *turn_fiber(void *arg) {
    weft_pq *c = NULL;
    CHECK_EQ(weft_fiber_pq_connect(&c, conninfo, NULL, 0), 0);
    if (!c) return NULL;
    weft_pq_query slow, queued[8];
    weft_future *kids[9];
    kids[0] = weft_pq_query_init(&slow, c, "SELECT pg_sleep(0.3), 1");
    for (int i = 0; i < 8; i++) kids[i + 1] = weft_pq_query_init(&queued[i], c, "SELECT 2");
    weft_join j;
    weft_timeout t;
    CHECK_EQ(weft_await(weft_timeout_init(&t, weft_join_init(&j, kids, 9), 100)), 0);
    CHECK_EQ(t.result, -ETIMEDOUT);
    int v = 0;
    CHECK_EQ(one_int(c, "SELECT 3", &v), 0);
    CHECK_EQ(v, 3);
    weft_pq_close(c);
    return NULL;
}
static void test_dropped_while_queued(void **state) { run_fiber_test(turn_fiber, NULL); }

static void *connect_cancel_fiber(void *arg) {
    for (int i = 0; i < 40; i++) {
        weft_pq_connect f;
        weft_timeout t;
        CHECK_EQ(weft_await(weft_timeout_init(&t, weft_pq_connect_init(&f, conninfo), (uint64_t)(i % 4))), 0);
        if (t.result == 0) {
            CHECK_EQ(f.result, 0);
            weft_pq_close(f.conn);
        }
    }
    return NULL;
}
static void test_connect_cancelled(void **state) { run_fiber_test(connect_cancel_fiber, NULL); }

/* ---- the server killed ----------------------------------------------------------- */

static test_server own;
typedef struct waiting {
    weft_pq *c;
    int result;
} waiting;

static void *waiting_fiber(void *arg) {
    waiting *w = arg;
    PGresult **rs = NULL;
    int n = 0;
    w->result = weft_fiber_pq_query(w->c, "SELECT pg_sleep(60)", &rs, &n);
    weft_pq_results_free(rs, n);
    return NULL;
}

static void *killed_fiber(void *arg) {
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=weft dbname=weft", own.port);
    weft_pq *c = NULL;
    CHECK_EQ(weft_fiber_pq_connect(&c, ci, NULL, 0), 0);
    if (!c) return NULL;
    int backend = PQbackendPID(weft_pq_pgconn(c));
    enum { N = 6 };
    waiting ws[N];
    weft_join_handle hs[N];
    for (int i = 0; i < N; i++) {
        ws[i] = (waiting){c, 1};
        hs[i] = weft_fiber_spawn(weft_runtime_current(), waiting_fiber, &ws[i], NULL);
    }
    weft_fiber_sleep(300);
    kill(backend, SIGKILL); /* the server process of this connection */
    test_server_kill(&own);  /* and the postmaster */
    for (int i = 0; i < N; i++) {
        weft_join_wait jw;
        weft_timeout t;
        CHECK_EQ(weft_await(weft_timeout_init(&t, weft_join_wait_init(&jw, &hs[i]), 20000)), 0);
        CHECK_EQ(t.result, 0);
        CHECK_EQ(ws[i].result, -ECONNRESET);
    }
    char msg[256];
    CHECK_EQ(weft_pq_errmsg(c, msg, sizeof msg), -ECONNRESET);
    CHECK(msg[0] != 0);
    weft_pq_close(c);
    return NULL;
}
static void test_server_killed(void **state) {
    if (!test_server_start(&own, "postgres")) fail_msg("no PostgreSQL server: %s", own.why);
    run_fiber_test(killed_fiber, NULL);
    test_server_stop(&own);
}

/* The runtime destroyed while a query runs: the query's task is dropped
 * (its cancel request cannot be spawned any more), and the connection
 * is closed afterwards without trouble. */
static weft_pq *orphan;
static void *orphan_fiber(void *arg) {
    CHECK_EQ(weft_fiber_pq_connect(&orphan, conninfo, NULL, 0), 0);
    if (!orphan) return NULL;
    waiting *w = arg;
    w->c = orphan;
    weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), waiting_fiber, w, NULL);
    weft_join_handle_detach(&h);
    weft_fiber_sleep(100);
    return NULL;
}
static void test_runtime_destroyed(void **state) {
    weft_runtime *rt = rt_new();
    waiting w = {NULL, 1};
    weft_join_handle h = weft_fiber_spawn(rt, orphan_fiber, &w, NULL);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    weft_runtime_destroy(rt);
    assert_non_null(orphan);
    weft_pq_close(orphan);
    assert_int_equal(atomic_load(&check_failures), 0);
}

/* LISTEN/NOTIFY as a stream, with a wait dropped by a timeout. */
static void *notify_fiber(void *arg) {
    weft_pq *l = NULL, *t = NULL;
    CHECK_EQ(weft_fiber_pq_connect(&l, conninfo, NULL, 0), 0);
    CHECK_EQ(weft_fiber_pq_connect(&t, conninfo, NULL, 0), 0);
    if (!l || !t) return NULL;
    PGresult **rs;
    int n;
    CHECK_EQ(weft_fiber_pq_query(l, "LISTEN weft_events", &rs, &n), 0);
    weft_pq_results_free(rs, n);
    weft_pq_notify w;
    weft_timeout to;
    CHECK_EQ(weft_await(weft_timeout_init(&to, weft_pq_notify_init(&w, l), 30)), 0);
    CHECK_EQ(to.result, -ETIMEDOUT);
    for (int i = 0; i < 20; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "NOTIFY weft_events, 'n%d'", i);
        CHECK_EQ(weft_fiber_pq_query(t, sql, &rs, &n), 0);
        weft_pq_results_free(rs, n);
    }
    for (int i = 0; i < 20; i++) {
        PGnotify *nt = NULL;
        CHECK_EQ(weft_fiber_pq_notify(l, &nt), 0);
        char want[16];
        snprintf(want, sizeof want, "n%d", i);
        CHECK(nt && strcmp(nt->relname, "weft_events") == 0 && strcmp(nt->extra, want) == 0);
        if (nt) PQfreemem(nt);
    }
    /* The listening connection still runs queries. */
    int v = 0;
    CHECK_EQ(one_int(l, "SELECT 9", &v), 0);
    CHECK_EQ(v, 9);
    weft_pq_close(l);
    weft_pq_close(t);
    return NULL;
}
static void test_notify(void **state) { run_fiber_test(notify_fiber, NULL); }

static void test_bad_arguments(void **state) {
    weft_runtime *rt = rt_new();
    weft_pq_query q;
    assert_int_equal(weft_block_on(rt, weft_pq_query_init(&q, NULL, "SELECT 1")), 0);
    assert_int_equal(q.result, -EINVAL);
    weft_pq_connect c;
    assert_int_equal(weft_block_on(rt, weft_pq_connect_init(&c, NULL)), 0);
    assert_int_equal(c.result, -EINVAL);
    assert_null(c.conn);
    weft_pq_close(NULL);
    weft_pq_results_free(NULL, 0);
    assert_int_equal(weft_pq_errmsg(NULL, NULL, 0), -EINVAL);
    weft_runtime_destroy(rt);
}

int main(void) {
    test_srv_require("postgres");
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=weft dbname=weft",
             test_srv.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_connect_errors_and_names),
        cmocka_unit_test(test_many_queries),
        cmocka_unit_test(test_cancel_and_timeouts),
        cmocka_unit_test(test_dropped_while_queued),
        cmocka_unit_test(test_connect_cancelled),
        cmocka_unit_test(test_server_killed),
        cmocka_unit_test(test_runtime_destroyed),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
