/*
 * Failures inside the libpq adapter reach the caller, nothing is leaked,
 * and the connection stays usable where it can: every allocation of a
 * connect made to fail in turn, no thread for the blocking pool, the
 * results array failing to grow mid-query (the next query drains the
 * rest), the reactor refusing the socket.
 * weft-test: threaded
 */
#include <sys/epoll.h>

#include "fault_support.h"
#include "servers.h"
#include "weft/pq.h"

static char conninfo[256];

static void *connect_fiber(void *arg) {
    unsigned failures = 0;
    for (unsigned skip = 0;; skip++) {
        weft_pq *c = NULL;
        char msg[256];
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
        int rc = weft_fiber_pq_connect(&c, conninfo, msg, sizeof msg);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm_all();
        if (!failed) {
            CHECK_EQ(rc, 0);
            weft_pq_close(c);
            break;
        }
        failures++;
        CHECK(rc < 0);
        CHECK(c == NULL);
    }
    CHECK(failures >= 2);
    return NULL;
}
static void test_connect_allocations_fail(void **state) {
    int fds = open_fds();
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, connect_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(open_fds(), fds);
}

static void *nothread_fiber(void *arg) {
    weft_pq *c = NULL;
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN});
    int rc = weft_fiber_pq_connect(&c, conninfo, NULL, 0);
    fault_disarm_all();
    CHECK_EQ(rc, -WEFT_ENOTHREAD);
    CHECK(c == NULL);
    CHECK_EQ(weft_fiber_pq_connect(&c, conninfo, NULL, 0), 0);
    weft_pq_close(c);
    return NULL;
}
static void test_no_thread_for_the_connect(void **state) {
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, nothread_fiber, NULL);
    weft_runtime_destroy(rt);
}

static void *results_fiber(void *arg) {
    weft_pq *c = NULL;
    CHECK_EQ(weft_fiber_pq_connect(&c, conninfo, NULL, 0), 0);
    if (!c) return NULL;
    for (int k = 0; k < 3; k++) {
        PGresult **rs = NULL;
        int n = 0;
        fault_arm(FAULT_REALLOC, (fault_rule){.err = ENOMEM, .skip = (unsigned)k, .count = 1, .this_thread = true});
        int rc = weft_fiber_pq_query(c, "SELECT 1; SELECT 2; SELECT 3; SELECT 4; SELECT 5", &rs, &n);
        fault_disarm_all();
        CHECK_EQ(rc, -ENOMEM);
        CHECK(rs == NULL && n == 0);
        /* The rest of that query's results are read and dropped first. */
        CHECK_EQ(weft_fiber_pq_query(c, "SELECT 42", &rs, &n), 0);
        CHECK(n == 1 && strcmp(PQgetvalue(rs[0], 0, 0), "42") == 0);
        weft_pq_results_free(rs, n);
    }
    weft_pq_close(c);
    return NULL;
}
static void test_results_cannot_grow(void **state) {
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, results_fiber, NULL);
    weft_runtime_destroy(rt);
}

static void *refused_fiber(void *arg) {
    weft_pq *c = NULL;
    fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = ENOSPC, .op = EPOLL_CTL_ADD, .count = 1});
    int rc = weft_fiber_pq_connect(&c, conninfo, NULL, 0);
    unsigned failed = fault_failed(FAULT_EPOLL_CTL);
    fault_disarm_all();
    if (failed) {
        CHECK_EQ(rc, -ENOSPC);
        CHECK(c == NULL);
    } else { /* the poll backend makes no epoll_ctl call */
        CHECK_EQ(rc, 0);
        weft_pq_close(c);
    }
    return NULL;
}
static void test_socket_registration_refused(void **state) {
    int fds = open_fds();
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, refused_fiber, NULL);
    weft_runtime_destroy(rt);
    assert_int_equal(open_fds(), fds);
}

int main(void) {
    test_srv_require("postgres");
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=weft dbname=weft",
             test_srv.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_allocations_fail),
        cmocka_unit_test(test_no_thread_for_the_connect),
        cmocka_unit_test(test_results_cannot_grow),
        cmocka_unit_test(test_socket_registration_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
