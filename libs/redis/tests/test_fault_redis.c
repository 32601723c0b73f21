/*
 * Failures inside the hiredis adapter reach the caller, and nothing is
 * leaked (ASan checks the memory, the tests the descriptors): every
 * allocation of attach, of a command and of a subscription made to fail
 * in turn, and the reactor refusing the connection's descriptor.
 * weft-test: threaded
 */
#include <sys/epoll.h>

#include "fault_support.h"
#include "servers.h"
#include "weft/redis.h"

static char addr[64];

static void test_attach_allocations_fail(void **state) {
    int fds = open_fds();
    weft_runtime *rt = rt_current_thread();
    unsigned failures = 0;
    for (unsigned skip = 0;; skip++) {
        redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", test_srv.port);
        assert_non_null(ac);
        weft_redis *c = NULL;
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
        int rc = weft_redis_attach(&c, rt, ac);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm(FAULT_ANY_ALLOC);
        if (!failed) {
            assert_int_equal(rc, 0);
            weft_redis_close(c);
            break;
        }
        failures++;
        assert_int_equal(rc, -ENOMEM);
        assert_null(c);
        redisAsyncFree(ac); /* still the caller's */
    }
    assert_true(failures >= 2); /* the handle and the driver task, at least */
    weft_sleep s; /* let the driver free the last one */
    weft_block_on(rt, weft_sleep_init(&s, 20));
    weft_runtime_destroy(rt);
    assert_int_equal(open_fds(), fds);
}

static void test_attach_registration_refused(void **state) {
    weft_runtime *rt = rt_current_thread();
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", test_srv.port);
    assert_non_null(ac);
    weft_redis *c = NULL;
    bool poll_backend = getenv("WEFT_IO_BACKEND") && strcmp(getenv("WEFT_IO_BACKEND"), "poll") == 0;
    if (poll_backend) /* the poll backend's registry grows with realloc */
        fault_arm(FAULT_REALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    else
        fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = ENOSPC, .op = EPOLL_CTL_ADD, .count = 1});
    int rc = weft_redis_attach(&c, rt, ac);
    fault_disarm_all();
    if (poll_backend && rc == 0) { /* the registry had room: nothing to refuse */
        weft_redis_close(c);
    } else {
        assert_int_equal(rc, poll_backend ? -ENOMEM : -ENOSPC);
        redisAsyncFree(ac);
    }
    weft_runtime_destroy(rt);
}

static void *command_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    if (!c) return NULL;
    redisReply *r = NULL;
    fault_arm(FAULT_CALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), -ENOMEM);
    CHECK_EQ(fault_failed(FAULT_CALLOC), 1);
    fault_disarm_all();
    CHECK(r == NULL);
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), 0); /* still usable */
    CHECK(r && strcmp(r->str, "PONG") == 0);
    freeReplyObject(r);
    /* A subscription's allocations, each in turn. */
    const char *chans[] = {"f1", "f2", "f3"};
    for (unsigned skip = 0;; skip++) {
        weft_redis_sub *s = NULL;
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
        int rc = weft_redis_subscribe(&s, c, 3, chans, false);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm_all();
        if (!failed) {
            CHECK_EQ(rc, 0);
            weft_redis_sub_close(s);
            break;
        }
        CHECK_EQ(rc, -ENOMEM);
        CHECK(s == NULL);
    }
    weft_redis_close(c);
    return NULL;
}
static void test_command_allocation_fails(void **state) {
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, command_fiber, NULL);
    weft_runtime_destroy(rt);
}

int main(void) {
    test_srv_require("redis");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", test_srv.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_allocations_fail),
        cmocka_unit_test(test_attach_registration_refused),
        cmocka_unit_test(test_command_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
