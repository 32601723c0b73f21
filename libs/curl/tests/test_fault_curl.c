/*
 * Failures inside the libcurl adapter reach the caller with nothing
 * leaked: every allocation of weft_curl_create made to fail in turn, no
 * epoll set, the reactor refusing it, a transfer's allocation (the
 * handle then still works).
 * weft-test: threaded
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include "fault_support.h"
#include "weft/curl.h"

static void test_create_failures(void **state) {
    curl_global_init(CURL_GLOBAL_DEFAULT); /* its own allocations stay out of the count */
    int fds = open_fds();
    weft_runtime *rt = rt_current_thread();
    unsigned failures = 0;
    for (unsigned skip = 0;; skip++) {
        weft_curl *m = NULL;
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = skip, .count = 1, .this_thread = true});
        int rc = weft_curl_create(&m, rt);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm_all();
        if (!failed) {
            assert_int_equal(rc, 0);
            weft_curl_destroy(m);
            break;
        }
        failures++;
        assert_int_equal(rc, -ENOMEM);
        assert_null(m);
    }
    assert_true(failures >= 2); /* the handle and the driver task */
    weft_curl *m = NULL;
    fault_arm(FAULT_EPOLL_CREATE, (fault_rule){.err = EMFILE, .count = 1, .this_thread = true});
    assert_int_equal(weft_curl_create(&m, rt), -EMFILE);
    fault_disarm_all();
    assert_null(m);
    bool poll_backend = getenv("WEFT_IO_BACKEND") && strcmp(getenv("WEFT_IO_BACKEND"), "poll") == 0;
    if (!poll_backend) {
        fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = ENOSPC, .op = EPOLL_CTL_ADD, .count = 1});
        assert_int_equal(weft_curl_create(&m, rt), -ENOSPC);
        fault_disarm_all();
        assert_null(m);
    }
    weft_sleep s; /* let the drivers of the handles destroyed end */
    weft_block_on(rt, weft_sleep_init(&s, 20));
    weft_runtime_destroy(rt);
    assert_int_equal(open_fds(), fds);
}

static int listen_port;
static void *transfer_fiber(void *arg) {
    weft_curl *m = NULL;
    CHECK_EQ(weft_curl_create(&m, weft_runtime_current()), 0);
    CURL *e = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", listen_port);
    curl_easy_setopt(e, CURLOPT_URL, url);
    /* A transfer refused by libcurl (an easy handle in another multi). */
    CURLM *other = curl_multi_init();
    curl_multi_add_handle(other, e);
    CHECK_EQ(weft_fiber_curl_perform(m, e, NULL, NULL), -EALREADY);
    curl_multi_remove_handle(other, e);
    curl_multi_cleanup(other);
    /* The handle works afterwards: connection refused is libcurl's answer. */
    CURLcode code = CURLE_OK;
    CHECK_EQ(weft_fiber_curl_perform(m, e, &code, NULL), 0);
    CHECK_EQ(code, CURLE_COULDNT_CONNECT);
    curl_easy_cleanup(e);
    weft_curl_destroy(m);
    return NULL;
}
static void test_transfer_refused(void **state) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    listen_port = ntohs(a.sin_port);
    close(s); /* nobody listens there now */
    weft_runtime *rt = rt_current_thread();
    run_fiber_here(rt, transfer_fiber, NULL);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_failures),
        cmocka_unit_test(test_transfer_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
